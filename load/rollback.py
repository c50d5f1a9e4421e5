"""Undo a run, or the whole migration, from the ledger.

- **One run:** every record the run created is deleted; every record it updated gets back the
  payload it had before (the ledger's `previous_payload`), its state and deferred lookups too;
  every record it deleted (a delta with `--delete-missing`) is upserted again from its last payload.
- **The whole migration:** every record the ledger says is in Dataverse is deleted.

Restores go first, in dependency order (so nothing points at a record about to go), deletes
after, in reverse dependency order (activities before contacts before accounts). `pending` writes
(a run killed between send and answer) count as applied; deleting what is already gone is fine.
Every rollback is itself a run in the ledger (mode `rollback`): a later load sees the deletes and
creates those records again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from load.client import DataverseClient, DataverseError, RecordError
from load.delta import delete_records, present_records
from load.ledger import Ledger, LedgerEntry
from load.manifest import TableSpec
from load.payload import payload_hash
from load.plan import plan_load

__all__ = ["RollbackError", "RollbackResult", "rollback"]


class RollbackError(Exception):
    """Nothing to roll back: the run is unknown, or it is itself a rollback."""


@dataclass
class RollbackResult:
    run_id: str
    scope: str
    deleted: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)
    failures: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def rollback(
    client: DataverseClient,
    ledger: Ledger,
    specs: Sequence[TableSpec],
    *,
    run_id: str | None = None,
) -> RollbackResult:
    """Undo `run_id`, or with None the whole migration."""
    if run_id is not None:
        run = ledger.run(run_id)
        if run is None:
            raise RollbackError(f"no run {run_id} in {ledger.path}")
        if run["mode"] == "rollback":
            raise RollbackError(f"{run_id} is a rollback; load again to redo what it undid")
    plan = plan_load(specs)
    by_table = {spec.table: spec for spec in specs}
    scope = run_id or "all"
    own_run = ledger.start_run("rollback", {"scope": scope})
    result = RollbackResult(own_run, scope)
    try:
        if run_id is None:
            for table in reversed(plan.order):
                present = present_records(ledger, table)
                records = list(
                    zip(
                        present["record_id"].to_pylist(),
                        present["source_key"].to_pylist(),
                        strict=True,
                    )
                )
                _delete(client, ledger, result, by_table[table], records)
        else:
            plans = {table: _undo_plan(ledger, run_id, table) for table in plan.order}
            for table in plan.order:
                _restore(client, ledger, result, by_table[table], plans[table])
            for table in reversed(plan.order):
                _delete(client, ledger, result, by_table[table], plans[table]["delete"])
    except BaseException:
        ledger.finish_run(own_run, "aborted")
        raise
    ledger.finish_run(own_run, "ok" if result.ok else "failed")
    return result


def _undo_plan(ledger: Ledger, run_id: str, table: str) -> dict[str, list]:
    """Per record, its first write in the run: what was there before it."""
    rows = ledger.query(
        """
        select record_id, source_key, action, previous_payload::varchar
        from ledger
        where run_id = ? and table_name = ? and outcome in ('ok', 'pending')
        qualify row_number() over (
            partition by record_id, split_part(action, ':', 1) order by seq
        ) = 1
        order by record_id, seq
        """,
        [run_id, table],
    )
    undo: dict[str, list] = {"delete": [], "restore": [], "state": [], "link": []}
    created = {r[0] for r in rows if r[2] == "create"}
    for record_id, source_key, action, previous in rows:
        if action == "create":
            undo["delete"].append((record_id, source_key))
        elif action in ("update", "delete") and previous:
            undo["restore"].append((record_id, source_key, previous))
        elif record_id in created:
            continue  # its state and links go with it
        elif action == "state" and previous:
            undo["state"].append((record_id, source_key, previous))
        elif action.startswith("link:"):
            undo["link"].append((record_id, source_key, previous, action))
    return undo


def _restore(
    client: DataverseClient,
    ledger: Ledger,
    result: RollbackResult,
    spec: TableSpec,
    undo: dict[str, list],
) -> None:
    entries = []
    restored = 0
    for record_id, source_key, previous in undo["restore"]:
        body = json.loads(previous)
        error = _send(lambda b=body, r=record_id: client.upsert(spec.entity_set, r, b))
        entries.append(_entry(spec, record_id, source_key, "update", body, error))
        restored += error is None
    for record_id, source_key, previous in undo["state"]:
        body = json.loads(previous)
        error = _send(lambda b=body, r=record_id: client.update(spec.entity_set, r, b))
        entries.append(_entry(spec, record_id, source_key, "state", body, error))
    for record_id, source_key, previous, action in undo["link"]:
        column = action.split(":", 1)[1]
        lookup = next((lk for lk in spec.lookups if lk.column == column), None)
        if lookup is None:
            continue
        body = (
            json.loads(previous) if previous else {f"{lookup.navigation_property}@odata.bind": None}
        )
        error = _send(lambda b=body, r=record_id: client.update(spec.entity_set, r, b))
        entries.append(_entry(spec, record_id, source_key, action, body, error))
    for entry in entries:
        if entry.outcome == "failed":
            result.failures.append((spec.table, entry.record_id, entry.error_message))
    for chunk in _chunks(entries, 500):
        ledger.record(result.run_id, "rollback", chunk)
    if restored:
        result.restored[spec.table] = restored


def _delete(
    client: DataverseClient,
    ledger: Ledger,
    result: RollbackResult,
    spec: TableSpec,
    records: list[tuple[str, str | None]],
) -> None:
    if not records:
        return
    deleted, failures = delete_records(client, ledger, result.run_id, "rollback", spec, records)
    result.deleted[spec.table] = deleted
    result.failures += failures


def _send(call: Any) -> DataverseError | None:
    try:
        call()
    except RecordError as error:
        return error
    return None


def _entry(
    spec: TableSpec,
    record_id: str,
    source_key: str | None,
    action: str,
    body: dict[str, Any],
    error: DataverseError | None,
) -> LedgerEntry:
    return LedgerEntry(
        table_name=spec.table,
        record_id=record_id,
        source_key=source_key,
        action=action,
        payload_hash=payload_hash(body),
        payload=body,
        previous_payload=None,
        outcome="ok" if error is None else "failed",
        error_code=None if error is None else (error.code or str(error.status)),
        error_message=None if error is None else error.message,
    )


def _chunks(items: list, size: int):  # noqa: ANN202
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
