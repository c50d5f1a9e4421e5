"""Load the Dataverse marts into Dataverse: sample, full or delta; resumable; every write ledgered.

Tables load level by level in dependency order, in parallel within a level. Each table's rows
stream from DuckDB in Arrow batches; rows whose payload hash matches the ledger's last successful
write are skipped; the rest go out in chunks through a shared pool of sender threads, paced by
`load.pace.Pacer` (concurrency from `x-ms-dop-hint`, Retry-After, adaptive batch size). Every chunk
is ledgered `pending` before it is sent and `ok`/`failed` after: killed at any moment, a re-run
upserts by the same deterministic GUIDs, so nothing is duplicated and nothing is missed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import datetime as dt
import functools
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from load.batch import BatchRequest
from load.client import (
    DataverseClient,
    DataverseError,
    Observer,
    RecordError,
    ThrottledError,
    TransientError,
    error_from_part,
)
from load.config import DataverseSettings, LoadPaths
from load.ledger import (
    READ_MEMORY_LIMIT,
    UPSERT_ACTIONS,
    WRITE_MEMORY_LIMIT,
    WRITE_OUTCOMES,
    Ledger,
    LedgerEntry,
    Previous,
)
from load.manifest import TableSpec, load_manifest
from load.pace import PaceConfig, Pacer
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
    "CRASH_ENV",
]

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in total)
# Test hook: "<point>:<n>" makes the process os._exit(137) at the n-th chunk reaching <point>
# (before_send: ledgered pending, not sent; after_send: answered, not ledgered; after_record).
CRASH_ENV = "MIGRATE_LOAD_CRASH"


class LoadError(Exception):
    """The load could not start (no warehouse, a mart missing) or had to stop."""


@dataclass(frozen=True)
class LoadOptions:
    batch_size: int = 100  # first UpsertMultiple size; grows to max_batch_size
    max_batch_size: int = 1000
    batch_requests: int = 50  # operations per $batch (tables without bulk messages)
    read_rows: int = 5000  # rows per Arrow batch read from DuckDB
    use_bulk: bool = True  # UpsertMultiple where sdkmessagefilters says the table supports it
    solution: str | None = None  # MSCRM.SolutionUniqueName for created columns
    concurrency: int | None = None  # first concurrency per user; None = x-ms-dop-hint
    max_concurrency: int = 52  # per application user (Dataverse's concurrency limit)
    delete_missing: bool = False  # delta: delete records no longer in the marts


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
    missing: int = 0  # in Dataverse from an earlier load, gone from the mart (deleted at source)
    deleted: int = 0  # of those, deleted (only with delete_missing)

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
    missing: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

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
    clients: Sequence[DataverseClient] = (),
    mode: str | None = None,
    notes: Mapping[str, Any] | None = None,
) -> LoadResult:
    """Load every mart in dependency order (or a `sample` of N roots and their closure).

    `clients`: extra clients, one per additional application user, used round-robin.
    `mode`: "sample" | "full" | "delta" (default from `sample`). `notes` go to the ledger."""
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
    mode = mode or ("sample" if sample else "full")
    try:
        with Ledger(paths.ledger) as ledger, _open_warehouse(paths.duckdb) as con:
            args = {"sample": sample, "url": settings.url, "users": 1 + len(clients)}
            run_id = ledger.start_run(mode, args)
            if notes:
                ledger.event(run_id, "start", notes)
            result = LoadResult(run_id, mode, dt.datetime.now(dt.UTC), plan, {})
            run = _Run([client, *clients], ledger, con, specs, options, progress, result)
            try:
                run.execute(sample)
            except BaseException:
                ledger.finish_run(run_id, "aborted")
                raise
            result.finished = dt.datetime.now(dt.UTC)
            ledger.event(
                run_id,
                "result",
                {
                    "tables": {t: dataclasses.asdict(r) for t, r in result.tables.items()},
                    "stats": result.stats,
                    "failures": len(result.failures),
                },
            )
            ledger.finish_run(run_id, "ok" if result.ok else "failed")
            return result
    finally:
        if own_client:
            client.close()


# The warehouse connection's DuckDB buffer pool: 128 MB for the sample selection and the
# missing-at-source joins; 8 MB while the tables stream (a scan needs little, and the blocks it
# read stay cached up to the cap, so with 128 MB the cache grew with the table: 14 MB at 1M rows).
MART_MEMORY_LIMIT = "128MB"
MART_SCAN_MEMORY_LIMIT = "8MB"


def _open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=True, config={"memory_limit": MART_MEMORY_LIMIT})
    except duckdb.IOException as exc:
        raise LoadError(f"cannot open warehouse {path} (is dbt still writing it?): {exc}") from exc


class _PacerObserver(Observer):
    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def throttled(self, code: str, retry_after: float) -> None:
        self.pacer.throttled(code, retry_after)

    def transient(self) -> None:
        self.pacer.transient()


class _Crash:
    """The kill -9 test hook (see CRASH_ENV); inert unless the variable is set."""

    def __init__(self) -> None:
        point, _, n = (os.environ.get(CRASH_ENV) or "").partition(":")
        self.point, self.at = point, int(n or 0)
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        with self.lock:
            self.count += 1
            if self.count >= self.at:
                os._exit(137)


class _User:
    """One application user: its client and its own pacer (limits are per user)."""

    def __init__(self, client: DataverseClient, options: LoadOptions) -> None:
        self.client = client
        config = PaceConfig(
            batch_size=options.batch_size,
            max_batch_size=options.max_batch_size,
            batch_requests=options.batch_requests,
            concurrency=options.concurrency,
            max_concurrency=options.max_concurrency,
        )
        self.pacer = Pacer(config, client.dop_hint)
        client.observer = _PacerObserver(self.pacer)


class _Run:
    def __init__(
        self,
        clients: Sequence[DataverseClient],
        ledger: Ledger,
        con: duckdb.DuckDBPyConnection,
        specs: Sequence[TableSpec],
        options: LoadOptions,
        progress: Progress | None,
        result: LoadResult,
    ) -> None:
        self.clients = list(clients)
        self.client = self.clients[0]
        self.ledger = ledger
        self.con = con
        self.specs = {spec.table: spec for spec in specs}
        self.options = options
        self.progress = progress or (lambda table, done, total: None)
        self.result = result
        self.selection: SampleSelection | None = None
        self.users: list[_User] = []
        self._next_user = itertools.count()
        self._lock = threading.Lock()
        self._crash = _Crash()
        self._pool: ThreadPoolExecutor | None = None
        self._history: dict[str, bool] = {}
        self._written: dict[str, bool] = {}

    def execute(self, sample: int | None) -> None:
        started = time.perf_counter()
        for client in self.clients:
            client.whoami()  # reads x-ms-dop-hint
        for spec in self.specs.values():
            self._check_relation(spec)
        self.result.columns_created = ensure_custom_columns(
            self.client, list(self.specs.values()), solution=self.options.solution
        )
        if sample:
            self.selection = select_sample(self.con, list(self.specs.values()), sample)
            self.result.sample = self.selection
        self.users = [_User(client, self.options) for client in self.clients]
        # Tables the ledger has never written successfully: no row of theirs has a previous
        # write, so the per-batch lookups (a scan of the growing ledger each) are skipped.
        self._history = {table: self.ledger.has_history(table) for table in self.specs}
        # ... and tables it holds nothing for that is or may be in Dataverse: none can be missing.
        self._written = {
            table: self.ledger.has_history(table, WRITE_OUTCOMES) for table in self.specs
        }
        # A few threads more than request slots: a sender writing its chunk to the ledger
        # holds no slot, and without spares that slot would stay empty meanwhile.
        self._senders = self.options.max_concurrency + _spare(self.options)  # per user
        workers = self._senders * len(self.users)
        loading = time.perf_counter()
        with ThreadPoolExecutor(workers, thread_name_prefix="send") as pool:
            self._pool = pool
            # Until _missing the ledger is only appended to and the marts only scanned (a
            # sample's scans join its selection: they keep the larger pool, and are small).
            self.ledger.memory_limit(WRITE_MEMORY_LIMIT)
            if self.selection is None:
                self.con.execute(f"set memory_limit = '{MART_SCAN_MEMORY_LIMIT}'")
            try:
                for level in self.result.plan.levels:
                    self._parallel(level, lambda table: self._load_table(self.specs[table]))
                deferred_tables = sorted({d.table for d in self.result.plan.deferred})
                self._parallel(deferred_tables, self._link_table)
            finally:
                self.ledger.checkpoint()  # with the small pool still set (see ledger.py)
                self.ledger.memory_limit(READ_MEMORY_LIMIT)
                self.con.execute(f"set memory_limit = '{MART_MEMORY_LIMIT}'")
            linked = time.perf_counter()
            if self.result.mode != "sample":
                self._missing()
        finished = time.perf_counter()
        self.result.stats = {
            "seconds": finished - started,
            "setup_seconds": loading - started,
            "load_seconds": linked - loading,
            "missing_seconds": finished - linked,
            "peak_concurrency": max(u.pacer.peak for u in self.users),
            "throttles": sum(u.pacer.throttles for u in self.users),
            "throttle_wait_seconds": max(u.pacer.waited for u in self.users),
            "final_batch_size": self.users[0].pacer.batch_size,
            "dop_hint": self.client.dop_hint,
        }

    def _parallel(self, tables: Sequence[str], work: Callable[[str], Any]) -> None:
        if len(tables) <= 1:
            for table in tables:
                work(table)
            return
        with ThreadPoolExecutor(len(tables), thread_name_prefix="table") as level_pool:
            for future in [level_pool.submit(work, table) for table in tables]:
                future.result()

    # -- preparation -----------------------------------------------------------------------

    def _check_relation(self, spec: TableSpec) -> None:
        try:
            self.con.execute(f"select * from {spec.relation} limit 0")
        except duckdb.Error as exc:
            raise LoadError(f"mart {spec.model} ({spec.relation}) not readable: {exc}") from exc

    # -- reading ---------------------------------------------------------------------------

    def _rows(
        self, spec: TableSpec, select: str = "*", where: str = "true"
    ) -> Iterator[list[dict]]:
        """Rows in Arrow batches on a cursor of its own (tables of a level read in parallel).

        In the mart's storage order, not sorted: an ORDER BY would make DuckDB sort the whole
        table before the first batch (memory growing with the table up to the memory limit).
        Resume does not need an order: rows are skipped by payload hash, not by position."""
        if self.selection is not None:
            where = f"({where}) and {self.selection.filter_sql(spec)}"
        query = f"select {select} from {spec.relation} where {where}"
        with self.con.cursor() as cursor:
            reader = cursor.sql(query).to_arrow_reader(self.options.read_rows)
            for batch in reader:
                yield batch.to_pylist()

    def _previous(
        self, table: str, record_ids: Sequence[str], actions: Sequence[str]
    ) -> dict[str, Previous]:
        """The ledger's last successful write per id, from before this run (a run writes each
        record once per action, so its own writes never are a previous one)."""
        if not self._history.get(table, True):
            return {}
        return self.ledger.previous(table, record_ids, actions)

    def _count(self, spec: TableSpec, where: str = "true") -> int:
        if self.selection is not None:
            where = f"({where}) and {self.selection.filter_sql(spec)}"
        with self.con.cursor() as cursor:
            row = cursor.execute(f"select count(*) from {spec.relation} where {where}").fetchone()
        return int(row[0]) if row else 0

    # -- one table -------------------------------------------------------------------------

    def _user(self) -> _User:
        return self.users[next(self._next_user) % len(self.users)]

    def _load_table(self, spec: TableSpec) -> None:
        result = TableResult(spec.table, rows=self._count(spec))
        with self._lock:
            self.result.tables[spec.table] = result
        with self.con.cursor() as cursor:
            columns = [
                d[0] for d in cursor.execute(f"select * from {spec.relation} limit 0").description
            ]
        builder = PayloadBuilder(
            spec, columns, skip_lookups=self.result.plan.deferred_columns(spec.table)
        )
        bulk = self.options.use_bulk and self._supports(spec.table, "UpsertMultiple")
        done = [0]
        self.progress(spec.table, 0, result.rows)
        # At most one chunk per sender plus a couple ready to go, per table: memory stays flat
        # however large the table (and bounded by max_concurrency x max_batch_size rows).
        window = threading.BoundedSemaphore((self._senders + 2) * len(self.users))
        futures: list[Future[None]] = []

        def finished(n: int) -> None:
            with self._lock:
                done[0] += n
                self.progress(spec.table, done[0], result.rows)

        for rows in self._rows(spec):
            _trim_heap()
            payloads = [builder.build(row) for row in rows]
            previous = self._previous(spec.table, [p.record_id for p in payloads], UPSERT_ACTIONS)
            changed = [p for p in payloads if _hash(previous.get(p.record_id)) != p.hash]
            unchanged = [p for p in payloads if _hash(previous.get(p.record_id)) == p.hash]
            with self._lock:
                result.skipped += len(unchanged)
            if unchanged:
                # Unchanged rows may still miss their state (a run killed between the two).
                states = functools.partial(self._states, spec, unchanged, result)
                self._submit(window, futures, states)
            finished(len(unchanged))
            size = self.users[0].pacer.batch_size if bulk else self.options.batch_requests
            for chunk in _chunks(changed, size):

                def task(chunk: list[Payload] = chunk, previous: Mapping = previous) -> None:
                    self._upsert_chunk(spec, chunk, previous, bulk, result)
                    finished(len(chunk))

                self._submit(window, futures, task)
            futures = _prune(futures)
        for future in futures:
            future.result()

    def _submit(
        self,
        window: threading.BoundedSemaphore,
        futures: list[Future[None]],
        task: Callable[[], None],
    ) -> None:
        assert self._pool is not None
        window.acquire()

        def run() -> None:
            try:
                task()
            finally:
                window.release()

        futures.append(self._pool.submit(run))

    def _upsert_chunk(
        self,
        spec: TableSpec,
        chunk: list[Payload],
        previous: Mapping[str, Previous],
        bulk: bool,
        result: TableResult,
    ) -> None:
        def action(p: Payload) -> str:
            return "update" if p.record_id in previous else "create"

        self._pending(spec, chunk, previous, action, lambda p: p.hash, _ledger_body)
        self._crash("before_send")
        user = self._user()
        if bulk:
            errors = self._bulk(user, spec, chunk)
        else:
            requests = [
                BatchRequest("PATCH", f"{spec.entity_set}({p.record_id})", p.body) for p in chunk
            ]
            errors = self._batch(
                user,
                chunk,
                requests,
                lambda p: user.client.upsert(spec.entity_set, p.record_id, p.body),
            )
        self._crash("after_send")
        self._record(spec, chunk, errors, previous, action, lambda p: p.hash, _ledger_body)
        self._crash("after_record")
        with self._lock:
            for p in chunk:
                if p.record_id in errors:
                    result.failed += 1
                elif p.record_id in previous:
                    result.updated += 1
                else:
                    result.created += 1
        self._states(spec, [p for p in chunk if p.record_id not in errors], result)

    def _bulk(
        self, user: _User, spec: TableSpec, chunk: list[Payload]
    ) -> dict[str, DataverseError]:
        """UpsertMultiple; on a standard table one bad record fails the whole request, so a
        failed request is bisected until the bad records stand alone and the rest is in."""
        targets = [(p.record_id, p.body) for p in chunk]
        try:
            with user.pacer.slot():
                user.client.upsert_multiple(spec.entity_set, spec.table, targets)
        except (RecordError, TransientError) as error:
            if isinstance(error, TransientError):
                user.pacer.transient()
            if len(chunk) == 1:
                return {chunk[0].record_id: error}
            middle = len(chunk) // 2
            return self._bulk(user, spec, chunk[:middle]) | self._bulk(user, spec, chunk[middle:])
        user.pacer.success(user.client.last_attempt_seconds(), len(chunk))
        return {}

    def _states(self, spec: TableSpec, payloads: list[Payload], result: TableResult) -> None:
        """statecode/statuscode by an update after the upsert (Dataverse ignores them on create)."""
        payloads = [p for p in payloads if p.state]
        if not payloads:
            return
        previous = self._previous(spec.table, [p.record_id for p in payloads], ("state",))
        changed = [p for p in payloads if _hash(previous.get(p.record_id)) != p.state_hash]
        for chunk in _chunks(changed, self.options.batch_requests):
            self._pending(
                spec, chunk, previous, lambda p: "state", lambda p: p.state_hash, lambda p: p.state
            )
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
            with self._lock:
                result.state_failed += len(errors)
                result.state_updated += len(chunk) - len(errors)

    # -- deferred lookups ------------------------------------------------------------------

    def _link_table(self, table: str) -> None:
        for deferred in self.result.plan.deferred:
            if deferred.table == table:
                self._link(deferred)

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
            previous = self._previous(spec.table, ids, (action,))
            changed = [
                p
                for p in payloads
                if p.record_id in present and _hash(previous.get(p.record_id)) != p.hash
            ]
            for chunk in _chunks(changed, self.options.batch_requests):
                self._pending(
                    spec, chunk, previous, lambda p: action, lambda p: p.hash, lambda p: p.body
                )
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

    # -- deletes at source (full and delta runs) -------------------------------------------

    def _missing(self) -> None:
        from load.delta import delete_records

        for level in reversed(self.result.plan.levels):
            for table in level:
                spec = self.specs[table]
                if not self._written.get(table, True):
                    continue  # all the ledger holds was written by this run, from the mart
                missing = self._missing_records(spec)
                if not missing:
                    continue
                self.result.missing[table] = missing
                self.result.tables[table].missing = len(missing)
                self.ledger.event(
                    self.result.run_id, "missing", {"table": table, "records": len(missing)}
                )
                if self.options.delete_missing:
                    deleted, failures = delete_records(
                        self.client,
                        self.ledger,
                        self.result.run_id,
                        self.result.mode,
                        spec,
                        missing,
                    )
                    self.result.tables[table].deleted = deleted
                    self.result.failures += failures

    def _missing_records(self, spec: TableSpec) -> list[tuple[str, str | None]]:
        """(record_id, source_key) of records the ledger says are in Dataverse whose row is gone
        from the mart. Streamed: the ledger's present ids come in Arrow batches, each matched
        against the mart, so memory stays flat however many records were loaded (only the
        missing ones are kept)."""
        missing: list[tuple[str, str | None]] = []
        for batch in self.ledger.stream(PRESENT_SQL, [spec.table], MISSING_BATCH):
            present = pa.Table.from_batches([batch])  # noqa: F841 - read by DuckDB
            with self.con.cursor() as cursor:
                found = {
                    row[0]
                    for row in cursor.execute(
                        f'select lower(m."{spec.primary_key}"::varchar) from {spec.relation} as m '
                        "semi join present as p "
                        f'on lower(m."{spec.primary_key}"::varchar) = p.record_id'
                    ).fetchall()
                }
            ids, keys = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            missing += [(i, k) for i, k in zip(ids, keys, strict=True) if i not in found]
        return missing

    # -- ledger ----------------------------------------------------------------------------

    def _pending(
        self,
        spec: TableSpec,
        chunk: list[Payload],
        previous: Mapping[str, Previous],
        action_of: Callable[[Payload], str],
        hash_of: Callable[[Payload], str | None],
        body_of: Callable[[Payload], Mapping[str, Any] | str],
    ) -> None:
        """What is about to be sent, before it is: a kill after this leaves a trace to undo."""
        self.ledger.record(
            self.result.run_id,
            self.result.mode,
            [
                LedgerEntry(
                    table_name=spec.table,
                    record_id=p.record_id,
                    source_key=p.source_key,
                    action=action_of(p),
                    payload_hash=hash_of(p),
                    payload=body_of(p),
                    previous_payload=prior.payload
                    if (prior := previous.get(p.record_id))
                    else None,
                    outcome="pending",
                )
                for p in chunk
            ],
        )

    def _record(
        self,
        spec: TableSpec,
        chunk: list[Payload],
        errors: Mapping[str, DataverseError],
        previous: Mapping[str, Previous],
        action_of: Callable[[Payload], str],
        hash_of: Callable[[Payload], str | None],
        body_of: Callable[[Payload], Mapping[str, Any] | str],
    ) -> None:
        """One ledger entry per record of the chunk; failures also go to the result."""
        entries = []
        failures = []
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
                failures.append(
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
        if failures:
            with self._lock:
                self.result.failures += failures

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
        user = self._user()

        def update(p: Payload) -> None:
            user.client.update(spec.entity_set, p.record_id, body_of(p))

        requests = [
            BatchRequest(
                "PATCH", f"{spec.entity_set}({p.record_id})", body_of(p), {"If-Match": "*"}
            )
            for p in chunk
        ]
        return self._batch(user, chunk, requests, update)

    def _batch(
        self,
        user: _User,
        payloads: list[Payload],
        requests: list[BatchRequest],
        single: Callable[[Payload], None],
    ) -> dict[str, DataverseError]:
        """One `$batch` (continue on error); what did not get its own verdict is sent alone."""
        try:
            with user.pacer.slot():
                responses = user.client.batch(requests)
        except (RecordError, TransientError, ThrottledError):
            return self._one_by_one(user, payloads, single)
        if len(responses) != len(requests):
            return self._one_by_one(user, payloads, single)
        user.pacer.success(user.client.last_attempt_seconds(), 0)
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
        return errors | self._one_by_one(user, retry, single)

    def _one_by_one(
        self, user: _User, payloads: Iterable[Payload], single: Callable[[Payload], None]
    ) -> dict[str, DataverseError]:
        errors: dict[str, DataverseError] = {}
        for payload in payloads:
            try:
                with user.pacer.slot():
                    single(payload)
            except (RecordError, TransientError) as error:
                errors[payload.record_id] = error
        return errors


# Every record the ledger says is in Dataverse (its last create/update/delete that succeeded, or
# may have: pending, is not a delete), as load.delta.present_records defines it; in id order.
PRESENT_SQL = """
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
"""
MISSING_BATCH = 50_000


def _load_libc() -> Any:
    """glibc, for malloc_trim; None elsewhere (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def _spare(options: LoadOptions) -> int:
    """Sender threads beyond the request slots, per application user."""
    return max(2, options.max_concurrency // 8)


def _trim_heap() -> None:
    """Give the free pages of glibc's heaps back to the OS. The sender threads allocate and free
    payloads in several malloc arenas; the free space fragments and RSS crept up with the record
    count (Python's own objects stayed flat). Called once per Arrow batch read."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _prune(futures: list[Future[None]]) -> list[Future[None]]:
    """Drop finished futures, re-raising the first failure."""
    pending = []
    for future in futures:
        if future.done():
            future.result()
        else:
            pending.append(future)
    return pending


def _ledger_body(payload: Payload) -> Mapping[str, Any] | str:
    """The upsert body for the ledger: its canonical JSON text when the builder kept it."""
    return payload.body_json if payload.body_json is not None else payload.body


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
    while chunk := list(itertools.islice(iterator, max(1, size))):
        yield chunk
