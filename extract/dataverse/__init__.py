"""dlt source for the target Dataverse's users and teams → DuckDB dataset ``raw_dataverse``.

Owner resolution is SQL (OpenCRM user email → systemuser), so the users are read into the
warehouse first: a paged ``$select`` through the loader's own client and auth. Replaced on every
extract, since Dataverse is the source of truth for who exists and who is disabled.
"""

from __future__ import annotations

import os

# Before dlt reads its configuration: no telemetry call home.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import dlt  # noqa: E402
from dlt.extract.resource import DltResource  # noqa: E402

from load.client import DataverseClient  # noqa: E402
from load.config import DataverseSettings  # noqa: E402

__all__ = ["DATASET_NAME", "PIPELINE_NAME", "RESOURCES", "dataverse_users", "run_users_extract"]

DATASET_NAME = "raw_dataverse"
PIPELINE_NAME = "dataverse_users"
PAGE_SIZE = 5000

# entity set → (primary key, {column: dlt data type}); the columns docs/contracts.md promises.
RESOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "systemusers": (
        "systemuserid",
        {
            "systemuserid": "text",
            "fullname": "text",
            "internalemailaddress": "text",
            "isdisabled": "bool",
            "accessmode": "bigint",
            "azureactivedirectoryobjectid": "text",
        },
    ),
    "teams": (
        "teamid",
        {"teamid": "text", "name": "text", "teamtype": "bigint", "isdefault": "bool"},
    ),
}


@dlt.source(name="dataverse_users", max_table_nesting=0)
def dataverse_users(settings: DataverseSettings) -> list[DltResource]:
    return [_resource(settings, entity_set) for entity_set in RESOURCES]


def _resource(settings: DataverseSettings, entity_set: str) -> DltResource:
    primary_key, columns = RESOURCES[entity_set]

    def rows() -> Iterator[Any]:
        seen = 0
        with DataverseClient(settings) as client:
            for page in client.get_pages(entity_set, list(columns), page_size=PAGE_SIZE):
                seen += len(page)
                yield [{name: row.get(name) for name in columns} for row in page]
        if not seen:
            # An empty table still has to exist for dbt's sources.
            yield dlt.mark.materialize_table_schema()

    hints: dict[str, Any] = {name: {"data_type": kind} for name, kind in columns.items()}
    return dlt.resource(
        rows(),
        name=entity_set,
        write_disposition="replace",
        primary_key=primary_key,
        columns=hints,
    )


def make_pipeline(duckdb_path: Path) -> dlt.Pipeline:
    """State beside the DuckDB file (``<folder>/dlt``), not in ``~/.dlt``."""
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(duckdb_path.parent / "dlt"),
        destination=dlt.destinations.duckdb(credentials=str(duckdb_path)),
        dataset_name=DATASET_NAME,
    )


def run_users_extract(settings: DataverseSettings, duckdb_path: Path) -> dict[str, int]:
    """Land systemusers and teams in ``raw_dataverse``; returns rows per table."""
    pipeline = make_pipeline(Path(duckdb_path))
    if pipeline.has_pending_data:
        pipeline.abort_packages()
    load_info = pipeline.run(dataverse_users(settings))
    load_info.raise_on_failed_jobs()
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    row_counts = normalized.row_counts if normalized else {}
    return {entity_set: int(row_counts.get(entity_set, 0)) for entity_set in RESOURCES}
