"""Sign-off: a person records that a sample load's field-level diff was reviewed.

A full load refuses to start without a sign-off unless forced (`--force`, recorded in the ledger).
A sign-off names a sample run that has a diff, and keeps the diff's mismatch count with it.
"""

from __future__ import annotations

from typing import Any

from load.ledger import Ledger

__all__ = ["SignoffError", "signoff", "latest_signoff"]


class SignoffError(Exception):
    """No sample run, or its diff has not been run."""


def signoff(
    ledger: Ledger, *, by: str, note: str = "", run_id: str | None = None
) -> dict[str, Any]:
    samples = [r for r in ledger.runs() if r["mode"] == "sample"]
    if run_id is None:
        if not samples:
            raise SignoffError(
                "no sample load in the ledger: run `crm-migrate load --sample N` first"
            )
        run_id = samples[-1]["run_id"]
    elif run_id not in {r["run_id"] for r in samples}:
        raise SignoffError(f"{run_id} is not a sample run in {ledger.path}")
    diffs = [e for e in ledger.events("diff") if e["run_id"] == run_id]
    if not diffs:
        raise SignoffError(
            f"sample {run_id} has no diff yet: run `crm-migrate diff --run {run_id}`"
        )
    detail = {"by": by, "note": note, "mismatches": diffs[-1]["detail"].get("mismatches")}
    ledger.event(run_id, "signoff", detail)
    return {"run_id": run_id, **detail}


def latest_signoff(ledger: Ledger) -> dict[str, Any] | None:
    events = ledger.events("signoff")
    if not events:
        return None
    event = events[-1]
    return {"run_id": event["run_id"], "ts": event["ts"], **event["detail"]}
