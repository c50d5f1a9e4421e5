"""Load the Dataverse marts into Dataverse: sample or full, idempotent, every operation ledgered."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from load.batch import BatchRequest
from load.client import (
    DataverseClient,
    DataverseError,
    RecordError,
    ThrottledError,
    TransientError,
    error_from_part,
)
from load.config import DataverseSettings, LoadPaths
from load.ledger import UPSERT_ACTIONS, Ledger, LedgerEntry, Previous
from load.manifest import TableSpec, load_manifest
from load.payload import Payload, PayloadBuilder, link_body, payload_hash
from load.plan import DeferredLookup, LoadPlan, plan_load
from load.sample import SampleSelection, select_sample
from load.schema import ensure_custom_columns

__all__ = [
    "LoadError",
    "LoadOptions",
    "TableResult",
    "FailedRecord",
    "LoadResult",
    "Progress",
    "run_load",
]

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in total)


class LoadError(Exception):
    """The load could not start (no warehouse, a mart missing) or had to stop."""


@dataclass(frozen=True)
class LoadOptions:
    batch_size: int = 200  # records per UpsertMultiple / $batch request
    read_rows: int = 5000  # rows per Arrow batch read from DuckDB
    use_bulk: bool = True  # UpsertMultiple where the table supports it
    solution: str | None = None  # MSCRM.SolutionUniqueName for created columns


@dataclass
class TableResult:
    table: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0  # unchanged since the last successful load
    failed: int = 0
    state_updated: int = 0
    state_failed: int = 0
    linked: int = 0
    link_failed: int = 0

    @property
    def loaded(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class FailedRecord:
    table: str
    record_id: str
    source_key: str | None
    action: str
    status: int | None
    code: str
    message: str


@dataclass
class LoadResult:
    run_id: str
    mode: str
    started: dt.datetime
    plan: LoadPlan
    tables: dict[str, TableResult]
    failures: list[FailedRecord] = field(default_factory=list)
    columns_created: list[str] = field(default_factory=list)
    sample: SampleSelection | None = None
    finished: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed(self) -> int:
        return len(self.failures)


def run_load(
    settings: DataverseSettings,
    *,
    sample: int | None = None,
    progress: Progress | None = None,
    paths: LoadPaths | None = None,
    options: LoadOptions | None = None,
    client: DataverseClient | None = None,
) -> LoadResult:
    """Load every mart in dependency order (or a `sample` of N roots and their closure)."""
    paths = paths or LoadPaths.from_env()
    options = options or LoadOptions()
    specs = load_manifest(paths.manifest)
    if not specs:
        raise LoadError(f"{paths.manifest} has no model with meta.dataverse")
    plan = plan_load(specs)
    if not paths.duckdb.is_file():
        raise LoadError(f"warehouse {paths.duckdb} not found: run extract and dbt build first")
    own_client = client is None
    client = client or DataverseClient(settings)
    mode = "sample" if sample else "full"
    try:
        with Ledger(paths.ledger) as ledger, _open_warehouse(paths.duckdb) as con:
            run_id = ledger.start_run(mode, {"sample": sample, "url": settings.url})
            result = LoadResult(run_id, mode, dt.datetime.now(dt.UTC), plan, {})
            try:
                _Run(client, ledger, con, specs, options, progress, result).execute(sample)
            except BaseException:
                ledger.finish_run(run_id, "aborted")
                raise
            result.finished = dt.datetime.now(dt.UTC)
            ledger.finish_run(run_id, "ok" if result.ok else "failed")
            return result
    finally:
        if own_client:
            client.close()


def _open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise LoadError(f"cannot open warehouse {path} (is dbt still writing it?): {exc}") from exc


class _Run:
    def __init__(
        self,
        client: DataverseClient,
        ledger: Ledger,
        con: duckdb.DuckDBPyConnection,
        specs: Sequence[TableSpec],
        options: LoadOptions,
        progress: Progress | None,
        result: LoadResult,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.con = con
        self.specs = {spec.table: spec for spec in specs}
        self.options = options
        self.progress = progress or (lambda table, done, total: None)
        self.result = result
        self.selection: SampleSelection | None = None

    def execute(self, sample: int | None) -> None:
        self.client.whoami()
        for spec in self.specs.values():
            self._check_relation(spec)
        self.result.columns_created = ensure_custom_columns(
            self.client, list(self.specs.values()), solution=self.options.solution
        )
        if sample:
            self.selection = select_sample(self.con, list(self.specs.values()), sample)
            self.result.sample = self.selection
        for table in self.result.plan.order:
            self.result.tables[table] = self._load_table(self.specs[table])
        for deferred in self.result.plan.deferred:
            self._link(deferred)

    # -- preparation -----------------------------------------------------------------------

    def _check_relation(self, spec: TableSpec) -> None:
        try:
            self.con.execute(f"select * from {spec.relation} limit 0")
        except duckdb.Error as exc:
            raise LoadError(f"mart {spec.model} ({spec.relation}) not readable: {exc}") from exc

    # -- one table -------------------------------------------------------------------------

    def _rows(
        self, spec: TableSpec, select: str = "*", where: str = "true"
    ) -> Iterator[list[dict]]:
        if self.selection is not None:
            where = f"({where}) and {self.selection.filter_sql(spec)}"
        query = f'select {select} from {spec.relation} where {where} order by "{spec.primary_key}"'
        for batch in self.con.sql(query).to_arrow_reader(self.options.read_rows):
            yield batch.to_pylist()

    def _count(self, spec: TableSpec, where: str = "true") -> int:
        if self.selection is not None:
            where = f"({where}) and {self.selection.filter_sql(spec)}"
        row = self.con.execute(f"select count(*) from {spec.relation} where {where}").fetchone()
        return int(row[0]) if row else 0

    def _load_table(self, spec: TableSpec) -> TableResult:
        result = TableResult(spec.table, rows=self._count(spec))
        columns = [
            d[0] for d in self.con.execute(f"select * from {spec.relation} limit 0").description
        ]
        skip = self.result.plan.deferred_columns(spec.table)
        builder = PayloadBuilder(spec, columns, skip_lookups=skip)
        done = 0
        self.progress(spec.table, 0, result.rows)
        for rows in self._rows(spec):
            payloads = [builder.build(row) for row in rows]
            self._upsert(spec, payloads, result)
            done += len(rows)
            self.progress(spec.table, done, result.rows)
        return result

    def _upsert(self, spec: TableSpec, payloads: list[Payload], result: TableResult) -> None:
        previous = self.ledger.previous(spec.table, [p.record_id for p in payloads], UPSERT_ACTIONS)
        changed = [p for p in payloads if _hash(previous.get(p.record_id)) != p.hash]
        result.skipped += len(payloads) - len(changed)
        loaded = {p.record_id for p in payloads} - {p.record_id for p in changed}
        for chunk in _chunks(changed, self.options.batch_size):
            errors = self._send_upserts(spec, chunk)
            self._record(
                spec,
                chunk,
                errors,
                previous,
                lambda p: "update" if p.record_id in previous else "create",
                lambda p: p.hash,
                lambda p: p.body,
            )
            for p in chunk:
                if p.record_id in errors:
                    result.failed += 1
                    continue
                loaded.add(p.record_id)
                result.updated += p.record_id in previous
                result.created += p.record_id not in previous
        self._apply_state(spec, [p for p in payloads if p.state and p.record_id in loaded], result)

    def _send_upserts(self, spec: TableSpec, chunk: list[Payload]) -> dict[str, DataverseError]:
        def upsert(p: Payload) -> None:
            self.client.upsert(spec.entity_set, p.record_id, p.body)

        if self.options.use_bulk and self._supports(spec.table, "UpsertMultiple"):
            try:
                targets = [(p.record_id, p.body) for p in chunk]
                self.client.upsert_multiple(spec.entity_set, spec.table, targets)
                return {}
            except (RecordError, TransientError, ThrottledError):
                # On standard tables one bad record fails the request: find it record by record.
                return self._one_by_one(chunk, upsert)
        requests = [
            BatchRequest("PATCH", f"{spec.entity_set}({p.record_id})", p.body) for p in chunk
        ]
        return self._batch(chunk, requests, upsert)

    def _apply_state(self, spec: TableSpec, payloads: list[Payload], result: TableResult) -> None:
        if not payloads:
            return
        previous = self.ledger.previous(spec.table, [p.record_id for p in payloads], ("state",))
        changed = [p for p in payloads if _hash(previous.get(p.record_id)) != p.state_hash]
        for chunk in _chunks(changed, self.options.batch_size):
            errors = self._update_each(spec, chunk, lambda p: p.state)
            self._record(
                spec,
                chunk,
                errors,
                previous,
                lambda p: "state",
                lambda p: p.state_hash,
                lambda p: p.state,
            )
            result.state_failed += len(errors)
            result.state_updated += len(chunk) - len(errors)

    # -- deferred lookups ------------------------------------------------------------------

    def _link(self, deferred: DeferredLookup) -> None:
        spec, lookup = self.specs[deferred.table], deferred.lookup
        result = self.result.tables[spec.table]
        action = f"link:{lookup.column}"
        select = f'"{spec.primary_key}" as id, "{lookup.column}" as target'
        if spec.source_key:
            select += f', "{spec.source_key}" as source_key'
        for rows in self._rows(spec, select, f'"{lookup.column}" is not null'):
            payloads = [_link_payload(row, link_body(lookup, row["target"])) for row in rows]
            ids = [p.record_id for p in payloads]
            present = self.ledger.previous(spec.table, ids, UPSERT_ACTIONS)
            previous = self.ledger.previous(spec.table, ids, (action,))
            changed = [
                p
                for p in payloads
                if p.record_id in present and _hash(previous.get(p.record_id)) != p.hash
            ]
            for chunk in _chunks(changed, self.options.batch_size):
                errors = self._update_each(spec, chunk, lambda p: p.body)
                self._record(
                    spec,
                    chunk,
                    errors,
                    previous,
                    lambda p: action,
                    lambda p: p.hash,
                    lambda p: p.body,
                )
                result.link_failed += len(errors)
                result.linked += len(chunk) - len(errors)

    # -- ledger ----------------------------------------------------------------------------

    def _record(
        self,
        spec: TableSpec,
        chunk: list[Payload],
        errors: Mapping[str, DataverseError],
        previous: Mapping[str, Previous],
        action_of: Callable[[Payload], str],
        hash_of: Callable[[Payload], str | None],
        body_of: Callable[[Payload], Mapping[str, Any]],
    ) -> None:
        """One ledger entry per record of the chunk; failures also go to the result."""
        entries = []
        for p in chunk:
            error, prior = errors.get(p.record_id), previous.get(p.record_id)
            entries.append(
                LedgerEntry(
                    table_name=spec.table,
                    record_id=p.record_id,
                    source_key=p.source_key,
                    action=action_of(p),
                    payload_hash=hash_of(p),
                    payload=body_of(p),
                    previous_payload=prior.payload if prior else None,
                    outcome="ok" if error is None else "failed",
                    error_code=None if error is None else (error.code or str(error.status)),
                    error_message=None if error is None else error.message,
                )
            )
            if error is not None:
                self.result.failures.append(
                    FailedRecord(
                        spec.table,
                        p.record_id,
                        p.source_key,
                        action_of(p),
                        error.status,
                        error.code,
                        error.message,
                    )
                )
        self.ledger.record(self.result.run_id, self.result.mode, entries)

    # -- sending ---------------------------------------------------------------------------

    def _supports(self, table: str, message: str) -> bool:
        try:
            return self.client.supports_message(table, message)
        except RecordError:
            return False

    def _update_each(
        self,
        spec: TableSpec,
        chunk: list[Payload],
        body_of: Callable[[Payload], Mapping[str, Any]],
    ) -> dict[str, DataverseError]:
        """PATCH each record (If-Match: * — never creates) in one `$batch`."""

        def update(p: Payload) -> None:
            self.client.update(spec.entity_set, p.record_id, body_of(p))

        requests = [
            BatchRequest(
                "PATCH", f"{spec.entity_set}({p.record_id})", body_of(p), {"If-Match": "*"}
            )
            for p in chunk
        ]
        return self._batch(chunk, requests, update)

    def _batch(
        self,
        payloads: list[Payload],
        requests: list[BatchRequest],
        single: Callable[[Payload], None],
    ) -> dict[str, DataverseError]:
        """One `$batch` (continue on error); what did not get its own verdict is sent alone."""
        try:
            responses = self.client.batch(requests)
        except (RecordError, TransientError, ThrottledError):
            return self._one_by_one(payloads, single)
        if len(responses) != len(requests):
            return self._one_by_one(payloads, single)
        errors: dict[str, DataverseError] = {}
        retry = []
        for payload, response in zip(payloads, responses, strict=True):
            if response.ok:
                continue
            error = error_from_part(response)
            if isinstance(error, RecordError):
                errors[payload.record_id] = error
            elif isinstance(error, TransientError | ThrottledError):
                retry.append(payload)
            else:
                raise error
        return errors | self._one_by_one(retry, single)

    def _one_by_one(
        self, payloads: Iterable[Payload], single: Callable[[Payload], None]
    ) -> dict[str, DataverseError]:
        errors: dict[str, DataverseError] = {}
        for payload in payloads:
            try:
                single(payload)
            except RecordError as error:
                errors[payload.record_id] = error
        return errors


def _hash(previous: Previous | None) -> str | None:
    return previous.payload_hash if previous else None


def _link_payload(row: Mapping[str, Any], lookup_body: dict[str, Any]) -> Payload:
    source_key = row.get("source_key")
    return Payload(
        record_id=str(row["id"]).lower(),
        source_key=None if source_key is None else str(source_key),
        body=lookup_body,
        state={},
        hash=payload_hash(lookup_body),
        state_hash=None,
    )


def _chunks(items: Sequence[Payload], size: int) -> Iterator[list[Payload]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
