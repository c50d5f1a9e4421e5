"""dlt source for the CorePlus REST API → DuckDB dataset ``raw_coreplus``.

One dlt resource per CorePlus resource, paging through dlt's ``RESTClient`` with three custom
parts (``helpers.py``): per-request JwToken auth, a paginator driven by the ``paging`` envelope,
and a session that paces requests under the 10 requests/s limit and retries 429/5xx/truncated
pages. Every resource is incremental on ``dateModified`` through ``updatedSince``, re-reading
``LAG_SECONDS`` before the last cursor so rows committed late are not missed, and merged on its
id.

Each page is flattened into Arrow as it arrives, in the idle time between paced requests
(``_Tables``): the tables and columns are the ones dlt's relational normaliser made from the
nested JSON (``appointments`` + ``appointments__clients`` with ``_dlt_parent_id``), but dlt's
normalise step after the fetch only moves Parquet files, and DuckDB reads them directly.

The cursor lives in dlt's pipeline state, which is committed only together with a load that
finished: an extract that fails on any page (``CorePlusPageError`` names the endpoint and page)
loads nothing and leaves every cursor where it was, so the next run fetches the same window again.
"""

from __future__ import annotations

import os

# Before dlt reads its configuration: no telemetry call home; completed packages are not kept.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
# The resources yield Arrow tables; dlt adds the load id column its row normaliser would add.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")

import json  # noqa: E402
from collections.abc import Collection, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import dlt  # noqa: E402
import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming  # noqa: E402
from dlt.common.utils import digest128  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402
from dlt.sources.helpers.rest_client import RESTClient  # noqa: E402

from extract.coreplus.helpers import (  # noqa: E402
    CorePlusAuthError,
    CorePlusError,
    CorePlusPageError,
    CorePlusPaginator,
    CorePlusSession,
    CorePlusUnavailable,
    JwTokenAuth,
    RequestStats,
)
from extract.coreplus.settings import (  # noqa: E402
    CURSOR_FIELD,
    DATASET_NAME,
    INITIAL_CURSOR,
    LOADER_FILE_FORMAT,
    PACE_SHARE,
    PIPELINE_NAME,
    RESOURCES,
    CorePlusResource,
    CorePlusSettings,
    SettingsError,
)

CURSOR_FIELD_COLUMN = SnakeCaseNaming().normalize_identifier(CURSOR_FIELD)

__all__ = [
    "CorePlusAuthError",
    "CorePlusError",
    "CorePlusPageError",
    "CorePlusSettings",
    "CorePlusUnavailable",
    "ExtractResult",
    "SettingsError",
    "coreplus_source",
    "new_session",
    "cursors",
    "run_extract",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_duckdb_path() -> Path:
    var = Path(os.environ.get("MIGRATE_VAR", PROJECT_ROOT / "var"))
    return Path(os.environ.get("MIGRATE_DUCKDB", var / "migration.duckdb"))


@dataclass(frozen=True)
class ExtractResult:
    """What one extract fetched and landed."""

    rows: dict[str, int]  # table → rows fetched by this run (new and changed, plus the lag window)
    load_id: str
    elapsed_seconds: float
    stats: RequestStats
    cursors: dict[str, str] = field(default_factory=dict)
    duckdb_path: Path | None = None

    def __str__(self) -> str:
        lines = [f"extracted into {self.duckdb_path} dataset {DATASET_NAME} (load {self.load_id})"]
        for table, count in self.rows.items():
            cursor = self.cursors.get(table, "")
            lines.append(f"  {table:<18} {count:>10,} rows   cursor {cursor}")
        s = self.stats
        lines.append(
            f"  {s.requests} requests ({s.pages} pages, {s.throttled} throttled, "
            f"{s.retried} retried), {self.elapsed_seconds:.1f} s"
        )
        return "\n".join(lines)


def to_updated_since(value: Any) -> str:
    """A cursor value as CorePlus's ``updatedSince``: ``yyyy-mm-dd HH:MM:SS+1000``."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    text = moment.strftime("%Y-%m-%d %H:%M:%S%z")
    return text or str(value)


def new_session(settings: CorePlusSettings) -> CorePlusSession:
    """A paced, signing, retrying session for ``settings``' consumer."""
    auth = JwTokenAuth(
        consumer_id=settings.consumer_id,
        consumer_secret=settings.consumer_secret,
        access_token=settings.access_token,
        issuer=settings.issuer,
        audience=settings.audience,
    )
    return CorePlusSession(auth, settings.rate_limit * PACE_SHARE)


# The hints dlt's relational normaliser would give the row-key columns; the resources yield
# Arrow tables already flat (see ``_Tables``), so dlt's normalise step only moves files.
_ROOT_KEYS = {"_dlt_id": {"data_type": "text", "nullable": False, "unique": True, "row_key": True}}
_CHILD_KEYS = {
    "_dlt_parent_id": {"data_type": "text", "nullable": False},
    "_dlt_list_idx": {"data_type": "bigint", "nullable": False},
    "_dlt_id": {"data_type": "text", "nullable": False, "unique": True},
    "_dlt_root_id": {"data_type": "text", "nullable": False},
    # Added to child tables (the row normaliser wrote it to root tables only): nullable, as
    # rows landed before it have none.
    "_dlt_load_id": {"data_type": "text", "nullable": True},
}


def _flatten(record: dict[str, Any], prefix: str, row: dict[str, Any], lists: dict) -> None:
    """dlt's relational flattening at ``max_table_nesting=1``: dicts become ``a__b`` columns,
    lists become child tables (``lists``); ``None`` makes no column."""
    for key, value in record.items():
        name = _column_name(key)
        column = f"{prefix}__{name}" if prefix else name
        if isinstance(value, dict):
            _flatten(value, column, row, lists)
        elif isinstance(value, list):
            lists[column] = value
        elif value is not None:
            row[column] = value


_NAMES: dict[str, str] = {}


def _column_name(key: str) -> str:
    name = _NAMES.get(key)
    if name is None:
        name = _NAMES[key] = SnakeCaseNaming().normalize_identifier(key)
    return name


def _arrow(rows: list[dict[str, Any]], keys: Collection[str]) -> pa.Table:
    """Rows as an Arrow table over every key any row has (a key missing from a row is null);
    the key columns not null, as dlt's schema declares them."""
    columns = dict.fromkeys(key for row in rows for key in row)
    table = pa.Table.from_pydict({key: [row.get(key) for row in rows] for key in columns})
    schema = pa.schema([f.with_nullable(False) if f.name in keys else f for f in table.schema])
    return table.cast(schema)


class _Tables:
    """One resource's pages, flattened and turned into Arrow as each page arrives (in the idle
    time between paced requests), so dlt's normalise step has nothing left to do but move files.

    The root table gets the columns dlt's relational normaliser would write (``a__b`` for
    nested dicts, ``_dlt_id``); each nested list becomes a child table
    (``appointments__clients``) with ``_dlt_parent_id`` / ``_dlt_root_id`` / ``_dlt_list_idx`` /
    ``_dlt_id``. The ids are derived from the primary key, so the child tables merge on
    ``_dlt_root_id``: a re-fetched parent replaces its list items."""

    def __init__(self, table: str, key: str, disposition: Any) -> None:
        self.table = table
        self.key = key
        self.disposition = disposition
        self.parts: dict[str, list[tuple[int, pa.Table]]] = {}
        self.cursor: str | None = None
        self.page = 0
        self.last_page: dict[str, int] = {}  # root id → the last page it came on
        self.repeated = False

    def add_page(self, records: list[dict[str, Any]]) -> None:
        self.page += 1
        roots: list[dict[str, Any]] = []
        children: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            row: dict[str, Any] = {}
            lists: dict[str, list[Any]] = {}
            _flatten(record, "", row, lists)
            row_id = digest128(f"{self.table}:{row.get(self.key)}")
            row["_dlt_id"] = row_id
            roots.append(row)
            if row_id in self.last_page:
                self.repeated = True
            self.last_page[row_id] = self.page
            value = row.get(CURSOR_FIELD_COLUMN)
            if value is not None and (self.cursor is None or str(value) > self.cursor):
                self.cursor = str(value)
            for column, items in lists.items():
                rows = children.setdefault(f"{self.table}__{column}", [])
                for index, item in enumerate(items):
                    child: dict[str, Any] = {}
                    if isinstance(item, dict):
                        nested: dict[str, list[Any]] = {}
                        _flatten(item, "", child, nested)
                        for name, value in nested.items():  # beyond the nesting level: JSON
                            child[name] = json.dumps(value)
                    elif item is not None:
                        child["value"] = item
                    child["_dlt_parent_id"] = row_id
                    child["_dlt_list_idx"] = index
                    child["_dlt_id"] = digest128(f"{row_id}_{column}_{index}")
                    child["_dlt_root_id"] = row_id
                    rows.append(child)
        if roots:
            self.parts.setdefault(self.table, []).append(
                (self.page, _arrow(roots, (*_ROOT_KEYS, self.key)))
            )
        for name, rows in children.items():
            if rows:
                self.parts.setdefault(name, []).append((self.page, _arrow(rows, _CHILD_KEYS)))

    def _latest(self, page: int, part: pa.Table, id_column: str) -> pa.Table:
        """A record fetched twice (changed while paging): keep only its last version."""
        if not self.repeated:
            return part
        keep = [self.last_page[row_id] == page for row_id in part.column(id_column).to_pylist()]
        return part.filter(pa.array(keep, pa.bool_()))

    def child_tables(self) -> list[str]:
        return [name for name in self.parts if name != self.table]

    def items(self) -> Iterator[Any]:
        """The root table, then each child table (merged on ``_dlt_root_id``)."""
        for name, parts in self.parts.items():
            id_column = "_dlt_id" if name == self.table else "_dlt_root_id"
            table = pa.concat_tables(
                [self._latest(page, part, id_column) for page, part in parts],
                promote_options="permissive",
            )
            table = table.select([c.name for c in table.schema if not pa.types.is_null(c.type)])
            if name == self.table:
                yield table
            else:
                hints = dlt.mark.make_hints(
                    table_name=name,
                    write_disposition=self.disposition,
                    primary_key=[],
                    merge_key="_dlt_root_id",
                    columns=[{"name": k, **v} for k, v in _CHILD_KEYS.items()],
                )
                yield dlt.mark.with_hints(table, hints, create_table_variant=True)


_MERGE = {"disposition": "merge", "strategy": "delete-insert"}


def _resource(
    resource: CorePlusResource, settings: CorePlusSettings, client: RESTClient, fresh: bool
) -> Any:
    # Merged on the id (child tables on ``_dlt_root_id``). Into tables that do not exist yet
    # there is nothing to merge with: append (the rows are unique, ``_Tables`` keeps the last
    # version of a record fetched twice), which spares the load its staging copy and delete.
    disposition = "append" if fresh else _MERGE

    @dlt.resource(
        name=resource.table,
        primary_key=_column_name(resource.primary_key),
        write_disposition=disposition,
        columns=[{"name": k, **v} for k, v in _ROOT_KEYS.items()],
    )
    def pages() -> Iterator[Any]:
        # The cursor lives where dlt's own incremental keeps it (``cursors`` reads it): it is
        # committed with the load, and only once every page of every resource was fetched.
        state = dlt.current.resource_state().setdefault("incremental", {})
        cursor = state.setdefault(
            CURSOR_FIELD, {"initial_value": INITIAL_CURSOR, "last_value": INITIAL_CURSOR}
        )
        last = cursor.get("last_value") or INITIAL_CURSOR
        start = datetime.fromisoformat(str(last)) - timedelta(seconds=settings.lag_seconds)
        if str(last) == INITIAL_CURSOR:
            start = datetime.fromisoformat(INITIAL_CURSOR)
        tables = _Tables(resource.table, _column_name(resource.primary_key), disposition)
        for page in client.paginate(
            f"{resource.path}/",
            params={"updatedSince": to_updated_since(start)},
            paginator=CorePlusPaginator(settings.page_size),
            data_selector=resource.key,
        ):
            tables.add_page(list(page))
        yield from tables.items()
        if tables.cursor is not None and tables.cursor > str(last):
            cursor["last_value"] = tables.cursor

    return pages


def coreplus_source(
    settings: CorePlusSettings,
    session: CorePlusSession | None = None,
    resources: Sequence[str] | None = None,
    *,
    fresh_tables: Collection[str] = (),
) -> Any:
    """The CorePlus source over every resource (or those named in ``resources``); the ones in
    ``fresh_tables`` have no table in the dataset yet, and append instead of merging."""
    session = session or new_session(settings)
    client = RESTClient(
        base_url=settings.base_url.rstrip("/") + "/", auth=session.signer, session=session
    )
    chosen = [r for r in RESOURCES if resources is None or r.table in resources]

    @dlt.source(name="coreplus", max_table_nesting=1)
    def coreplus() -> list[Any]:
        return [_resource(r, settings, client, r.table in fresh_tables) for r in chosen]

    return coreplus()


def _fresh_tables(duckdb_path: Path) -> set[str]:
    """The resources none of whose tables (root or child) the DuckDB file holds yet."""
    names = {r.table for r in RESOURCES}
    if not duckdb_path.exists():
        return names
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [DATASET_NAME],
        ).fetchall()
    existing = {name.split("__")[0] for (name,) in found}
    return names - existing


def make_pipeline(duckdb_path: Path) -> dlt.Pipeline:
    """State beside the DuckDB file (``<folder>/dlt``), not in ``~/.dlt``."""
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(duckdb_path.parent / "dlt"),
        destination=dlt.destinations.duckdb(credentials=str(duckdb_path)),
        dataset_name=DATASET_NAME,
    )


def cursors(pipeline: dlt.Pipeline) -> dict[str, str]:
    """Each resource's committed ``dateModified`` cursor (the next run starts there, less lag)."""
    state = pipeline.state.get("sources", {}).get("coreplus", {}).get("resources", {})
    found = {}
    for table, resource_state in state.items():
        incremental = resource_state.get("incremental", {})
        for value in incremental.values():
            if isinstance(value, dict) and value.get("last_value") is not None:
                found[table] = str(value["last_value"])
    return found


def _unnest_child_tables(pipeline: dlt.Pipeline) -> None:
    """A schema stored by the earlier extract (dlt's normaliser made the child tables, nested
    under their parent): make its child tables the merge tables this extract yields."""
    if "coreplus" not in pipeline.schema_names:
        return
    schema = pipeline.schemas["coreplus"]
    changed = False
    for table in schema.tables.values():
        parent = table.get("parent")
        if parent is None or not any(parent == r.table for r in RESOURCES):
            continue
        table.pop("parent")
        table["resource"] = parent
        for column in table.get("columns", {}).values():
            for hint in ("root_key", "parent_key", "row_key"):
                column.pop(hint, None)  # type: ignore[misc]
        changed = True
    if changed:
        schema._bump_version()
        pipeline.schemas.save_schema(schema)


def _drop_stale_children(pipeline: dlt.Pipeline, tables: Sequence[str]) -> None:
    """Child rows whose parent was loaded again, later, without them (its list emptied) or is
    gone (ids from before the child tables merged on ``_dlt_root_id``)."""
    schema = pipeline.default_schema
    pairs = [
        (root, child, "_dlt_load_id" in schema.get_table(child).get("columns", {}))
        for root in tables
        if "_dlt_load_id" in schema.tables.get(root, {}).get("columns", {})
        for child in schema.data_table_names()
        if child.startswith(f"{root}__")
    ]
    if not pairs:
        return
    with pipeline.sql_client() as client:
        for root, child, has_load_id in pairs:
            later = "AND (c._dlt_load_id IS NULL OR r._dlt_load_id <= c._dlt_load_id)"
            client.execute_sql(
                f"DELETE FROM {client.make_qualified_table_name(child)} AS c WHERE NOT EXISTS "
                f"(SELECT 1 FROM {client.make_qualified_table_name(root)} AS r "
                f"WHERE r._dlt_id = c._dlt_root_id {later if has_load_id else ''})"
            )


def _coreplus_error_in(error: BaseException) -> CorePlusError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CorePlusError):
            return current
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


def run_extract(
    settings: CorePlusSettings,
    duckdb_path: Path | None = None,
    *,
    resources: Sequence[str] | None = None,
    session: CorePlusSession | None = None,
) -> ExtractResult:
    """Fetch what changed since the last run (everything the first time) into ``raw_coreplus``."""
    started = perf_counter()
    target = duckdb_path or default_duckdb_path()
    pipeline = make_pipeline(target)
    if pipeline.has_pending_data:  # a package left by a failed run must never load later
        pipeline.drop_pending_packages()
    _unnest_child_tables(pipeline)
    client_session = session or new_session(settings)
    fresh = _fresh_tables(target)
    source = coreplus_source(settings, client_session, resources, fresh_tables=fresh)
    try:
        load_info = pipeline.run(source, loader_file_format=LOADER_FILE_FORMAT)
    except PipelineStepFailed as error:
        if pipeline.has_pending_data:
            pipeline.drop_pending_packages()
        found = _coreplus_error_in(error)
        if found is not None:
            raise found from error
        raise
    load_info.raise_on_failed_jobs()
    chosen = [r.table for r in RESOURCES if resources is None or r.table in resources]
    _drop_stale_children(pipeline, [table for table in chosen if table not in fresh])
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    row_counts = dict(normalized.row_counts) if normalized else {}
    rows = {table: int(row_counts.get(table, 0)) for table in chosen}
    return ExtractResult(
        rows=rows,
        load_id=load_info.loads_ids[-1] if load_info.loads_ids else "",
        elapsed_seconds=perf_counter() - started,
        stats=client_session.stats,
        cursors=cursors(pipeline),
        duckdb_path=target,
    )
