"""dlt source for the CorePlus REST API → DuckDB dataset ``raw_coreplus``.

A declarative ``rest_api`` config with three custom parts (``helpers.py``): per-request JwToken
auth, a paginator driven by the ``paging`` envelope, and a session that paces requests under the
10 requests/s limit and retries 429/5xx/truncated pages. Every resource is incremental on
``dateModified`` through ``updatedSince``, re-reading ``LAG_SECONDS`` before the last cursor so
rows committed late are not missed, and merged on its id.

The cursor lives in dlt's pipeline state, which is committed only together with a load that
finished: an extract that fails on any page (``CorePlusPageError`` names the endpoint and page)
loads nothing and leaves every cursor where it was, so the next run fetches the same window again.
"""

from __future__ import annotations

import os

# Before dlt reads its configuration: no telemetry call home; completed packages are not kept.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")

from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import dlt  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402

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


def _resource_config(resource: CorePlusResource, settings: CorePlusSettings) -> dict[str, Any]:
    # Always merge, even into a new table: nested tables (appointments__clients,
    # invoices__line_items) need the root-key columns a merge writes (an append-first load, as
    # the OpenCRM extract does, breaks the later merges of nested tables).
    return {
        "name": resource.table,
        "primary_key": resource.primary_key,
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "endpoint": {
            "path": f"{resource.path}/",
            "data_selector": resource.key,
            "paginator": CorePlusPaginator(settings.page_size),
            "incremental": {
                "start_param": "updatedSince",
                "cursor_path": CURSOR_FIELD,
                "initial_value": INITIAL_CURSOR,
                "lag": settings.lag_seconds,
                "convert": to_updated_since,
            },
        },
    }


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


def coreplus_source(
    settings: CorePlusSettings,
    session: CorePlusSession | None = None,
    resources: Sequence[str] | None = None,
) -> Any:
    """The ``rest_api`` source over every CorePlus resource (or those named in ``resources``)."""
    session = session or new_session(settings)
    auth = session.signer
    chosen = [r for r in RESOURCES if resources is None or r.table in resources]
    source = rest_api_source(
        {
            "client": {
                "base_url": settings.base_url.rstrip("/") + "/",
                "auth": auth,
                "session": session,
            },
            "resource_defaults": {"max_table_nesting": 1},
            "resources": [_resource_config(r, settings) for r in chosen],
        },
        name="coreplus",
        max_table_nesting=1,
    )
    # Land text as text: staging parses the +10:00 times and string money itself.
    source.schema.remove_type_detection("iso_timestamp")
    for resource in chosen:
        source.resources[resource.table].apply_hints(
            columns={
                CURSOR_FIELD: {"data_type": "text"},
                "dateCreated": {"data_type": "text"},
            }
        )
    return source


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
    client_session = session or new_session(settings)
    source = coreplus_source(settings, client_session, resources)
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
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    row_counts = dict(normalized.row_counts) if normalized else {}
    chosen = [r.table for r in RESOURCES if resources is None or r.table in resources]
    rows = {table: int(row_counts.get(table, 0)) for table in chosen}
    return ExtractResult(
        rows=rows,
        load_id=load_info.loads_ids[-1] if load_info.loads_ids else "",
        elapsed_seconds=perf_counter() - started,
        stats=client_session.stats,
        cursors=cursors(pipeline),
        duckdb_path=target,
    )
