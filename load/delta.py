"""Delta pickup: what changed at source since the last successful load.

New and edited rows need nothing special: the runner compares each row's payload hash with the
ledger's last successful write and sends only those that differ. This module finds the other
half: records the ledger says are in Dataverse whose row is gone from the mart (deleted at source
— or newly quarantined). They are reported on every full or delta run and deleted only when the
operator asks (`--delete-missing`), each delete ledgered with the payload it removes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from load.batch import BatchRequest
from load.client import DataverseClient, DataverseError, RecordError, error_from_part
from load.ledger import Ledger, LedgerEntry
from load.manifest import TableSpec

__all__ = ["present_records", "missing_records", "delete_records"]

DELETE_BATCH = 100


def present_records(ledger: Ledger, table: str) -> pa.Table:
    """(record_id, source_key) of every record the ledger says is in Dataverse: its last
    create/update/delete that succeeded (or may have: pending) is not a delete. Arrow, not Python
    objects: a million ids stay small."""
    return ledger.query_arrow(
        """
        with last_write as (
            select record_id, source_key, action
            from ledger
            where table_name = ? and action in ('create', 'update', 'delete')
                and outcome in ('ok', 'pending')
            qualify row_number() over (
                partition by record_id
                order by (outcome = 'ok') desc, seq desc
            ) = 1
        )
        select record_id, source_key from last_write where action <> 'delete'
        order by record_id
        """,
        [table],
    )


def missing_records(
    ledger: Ledger, con: duckdb.DuckDBPyConnection, spec: TableSpec
) -> list[tuple[str, str | None]]:
    """(record_id, source_key) of records loaded before and no longer in `spec`'s mart."""
    present = present_records(ledger, spec.table)
    if present.num_rows == 0:
        return []
    with con.cursor() as cursor:
        cursor.register("present_ids", present)
        rows = cursor.execute(
            "select p.record_id, p.source_key from present_ids as p "
            f"anti join {spec.relation} as m "
            f'on lower(m."{spec.primary_key}"::varchar) = p.record_id order by p.record_id'
        ).fetchall()
    return [(str(r[0]), r[1]) for r in rows]


def delete_records(
    client: DataverseClient,
    ledger: Ledger,
    run_id: str,
    mode: str,
    spec: TableSpec,
    records: Sequence[tuple[str, str | None]],
) -> tuple[int, list]:
    """Delete records by id in `$batch`es (an absent record counts as deleted); ledgered."""
    from load.runner import FailedRecord

    previous = ledger.previous(spec.table, [r for r, _ in records], ("create", "update"))
    deleted, failures = 0, []
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, DELETE_BATCH)):
        ledger.record(run_id, mode, [_entry(spec, r, k, previous, "pending") for r, k in chunk])
        errors = _delete_batch(client, spec, [r for r, _ in chunk])
        entries = []
        for record_id, source_key in chunk:
            error = errors.get(record_id)
            entries.append(
                _entry(
                    spec,
                    record_id,
                    source_key,
                    previous,
                    "ok" if error is None else "failed",
                    error,
                )
            )
            if error is None:
                deleted += 1
            else:
                failures.append(
                    FailedRecord(
                        spec.table,
                        record_id,
                        source_key,
                        "delete",
                        error.status,
                        error.code,
                        error.message,
                    )
                )
        ledger.record(run_id, mode, entries)
    return deleted, failures


def _entry(
    spec: TableSpec,
    record_id: str,
    source_key: str | None,
    previous: dict,
    outcome: str,
    error: DataverseError | None = None,
) -> LedgerEntry:
    prior = previous.get(record_id)
    return LedgerEntry(
        table_name=spec.table,
        record_id=record_id,
        source_key=source_key,
        action="delete",
        payload_hash=None,
        payload=None,
        previous_payload=prior.payload if prior else None,
        outcome=outcome,
        error_code=None if error is None else (error.code or str(error.status)),
        error_message=None if error is None else error.message,
    )


def _delete_batch(
    client: DataverseClient, spec: TableSpec, ids: list[str]
) -> dict[str, DataverseError]:
    requests = [BatchRequest("DELETE", f"{spec.entity_set}({record_id})") for record_id in ids]
    errors: dict[str, DataverseError] = {}
    try:
        responses = client.batch(requests)
    except DataverseError:
        responses = []
    if len(responses) != len(ids):
        for record_id in ids:
            try:
                client.delete(spec.entity_set, record_id)
            except RecordError as error:
                errors[record_id] = error
        return errors
    for record_id, response in zip(ids, responses, strict=True):
        if response.ok or response.status == 404:
            continue
        part_error = error_from_part(response)
        if isinstance(part_error, RecordError):
            errors[record_id] = part_error
        else:  # throttled or transient inside the batch: once more on its own
            try:
                client.delete(spec.entity_set, record_id)
            except RecordError as single:
                errors[record_id] = single
    return errors
