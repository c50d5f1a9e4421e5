"""dlt source for OpenCRM CSV exports: six files → DuckDB dataset ``raw_opencrm``.

Every file is validated first (encoding detected, header checked, every record parsed); only then
does dlt run, so a malformed export stops with an ``ExportFormatError`` before anything is written.
Rows go through dlt's Arrow path in bounded chunks, every column as text, merged on the record id.
"""

from __future__ import annotations

import os

# Before dlt reads its configuration: no telemetry call home, and `_dlt_load_id` on Arrow rows.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
# Loaded packages are parquet copies of the whole export: do not keep them under var/dlt.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")

from collections.abc import Collection, Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402

import dlt  # noqa: E402
import duckdb  # noqa: E402
from dlt.common.schema.typing import TWriteDispositionConfig  # noqa: E402
from dlt.extract.resource import DltResource  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from extract.common.csv_files import ExportError, ExportFormatError, column_name  # noqa: E402
from extract.opencrm.helpers import (  # noqa: E402
    DuplicateId,
    ProgressCallback,
    ValidatedFile,
    export_file_chunks,
    validate_export,
)
from extract.opencrm.settings import (  # noqa: E402
    DATASET_NAME,
    DEFAULT_CHUNK_ROWS,
    PIPELINE_NAME,
)

__all__ = [
    "DuplicateId",
    "ExportError",
    "ExportFormatError",
    "ExtractResult",
    "default_duckdb_path",
    "opencrm_export",
    "run_extract",
    "validate_export",
]

LINEAGE_COLUMNS = {
    "_source_file": {"data_type": "text", "nullable": False},
    "_source_row": {"data_type": "bigint", "nullable": False},
    "_extracted_at": {"data_type": "timestamp", "nullable": False},
    "_dlt_id": {"data_type": "text", "nullable": False, "unique": True},
}


@dataclass(frozen=True)
class ExtractResult:
    """What one extract landed."""

    rows: dict[str, int]  # table → rows landed by this run (after dropping duplicate ids)
    load_id: str
    encodings: dict[str, str]  # file → detected encoding, e.g. "cp1252", "utf-8 with BOM"
    elapsed_seconds: float
    duplicate_ids: dict[str, list[DuplicateId]] = field(default_factory=dict)
    dataset: str = DATASET_NAME
    duckdb_path: Path | None = None

    def __str__(self) -> str:
        lines = [f"extracted into {self.duckdb_path} dataset {self.dataset} (load {self.load_id})"]
        for table, count in self.rows.items():
            lines.append(f"  {table:<14} {count:>10,} rows")
        for file_name, encoding in self.encodings.items():
            lines.append(f"  {file_name:<18} encoding {encoding}")
        for table, duplicates in self.duplicate_ids.items():
            dropped = sum(len(d.dropped_rows) for d in duplicates)
            lines.append(
                f"  {table}: {len(duplicates)} id(s) on several records; kept the latest"
                f" Modified Time, left out {dropped} older row(s): "
                + ", ".join(
                    f"{d.record_id} (kept row {d.kept_row}, not {list(d.dropped_rows)})"
                    for d in duplicates[:5]
                )
            )
        lines.append(f"  {self.elapsed_seconds:.1f} s")
        return "\n".join(lines)


PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_duckdb_path() -> Path:
    """``$MIGRATE_DUCKDB``, else ``$MIGRATE_VAR/migration.duckdb``, else ``<project>/var/...``."""
    var = Path(os.environ.get("MIGRATE_VAR", PROJECT_ROOT / "var"))
    return Path(os.environ.get("MIGRATE_DUCKDB", var / "migration.duckdb"))


def _file_resource(
    validated: ValidatedFile,
    extracted_at: datetime,
    chunk_rows: int,
    progress: ProgressCallback | None,
    counts: dict[str, int],
    first_load: bool = False,
) -> DltResource:
    table = validated.spec.table

    def chunks() -> Iterator[object]:
        for chunk in export_file_chunks(validated, extracted_at, chunk_rows, progress):
            counts[table] = counts.get(table, 0) + chunk.num_rows
            yield chunk

    data_columns = {column_name(label): {"data_type": "text"} for label in validated.header}
    return dlt.resource(
        chunks,
        name=table,
        table_name=table,
        write_disposition=_write_disposition(first_load),
        primary_key=column_name(validated.spec.id_column),
        columns={**data_columns, **LINEAGE_COLUMNS},
    )


def _write_disposition(first_load: bool) -> TWriteDispositionConfig:
    # A merge into a table that does not exist yet is an append; appending skips the staging
    # round trip and halves the load time. Later runs merge with upsert: ids are unique within a
    # load (duplicates are resolved during validation) and on DuckDB upsert is ~1.5x faster than
    # delete-insert.
    if first_load:
        return "append"
    return {"disposition": "merge", "strategy": "upsert"}


def existing_tables(duckdb_path: Path) -> set[str]:
    """Tables already in ``raw_opencrm`` (empty when the DuckDB file does not exist yet)."""
    if not duckdb_path.exists():
        return set()
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        rows = connection.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [DATASET_NAME],
        ).fetchall()
    return {name for (name,) in rows}


@dlt.source(name="opencrm", max_table_nesting=0)
def opencrm_export(
    export_dir: str = dlt.config.value,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    validated: Sequence[ValidatedFile] | None = None,
    progress: ProgressCallback | None = None,
    row_counts: dict[str, int] | None = None,
    new_tables: Collection[str] = (),
) -> Iterator[DltResource]:
    """One merge resource per export file, yielding Arrow tables of all-text columns.

    ``validated`` skips re-validation when the caller already validated the folder;
    ``row_counts`` (if given) is filled with the rows each resource yielded; tables named in
    ``new_tables`` do not exist at the destination yet and are appended instead of merged.
    """
    files = validated if validated is not None else validate_export(Path(export_dir))
    extracted_at = datetime.now(UTC)
    counts = row_counts if row_counts is not None else {}
    for validated_file in files:
        first_load = validated_file.spec.table in new_tables
        yield _file_resource(validated_file, extracted_at, chunk_rows, progress, counts, first_load)


def _export_error_in(error: BaseException) -> ExportError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ExportError):
            return current
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


def _abort_leftovers(pipeline: dlt.Pipeline) -> None:
    """Packages left by an interrupted or failed run must never load later."""
    if pipeline.has_pending_data:
        pipeline.abort_packages()


def make_pipeline(duckdb_path: Path) -> dlt.Pipeline:
    """A pipeline whose state lives beside the DuckDB file (``<folder>/dlt``), not in ``~/.dlt``."""
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(duckdb_path.parent / "dlt"),
        destination=dlt.destinations.duckdb(credentials=str(duckdb_path)),
        dataset_name=DATASET_NAME,
    )


def run_extract(
    export_dir: Path,
    duckdb_path: Path | None = None,
    *,
    progress: ProgressCallback | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ExtractResult:
    """Validate the export, then land it in ``raw_opencrm``.

    Merges on the record id, so re-running the same or a newer export never duplicates rows.
    """
    started = perf_counter()
    target = duckdb_path or default_duckdb_path()
    files = validate_export(Path(export_dir))
    pipeline = make_pipeline(target)
    _abort_leftovers(pipeline)
    counts: dict[str, int] = {}
    new_tables = {f.spec.table for f in files} - existing_tables(target)
    source = opencrm_export(str(export_dir), chunk_rows, files, progress, counts, new_tables)
    try:
        load_info = pipeline.run(source)
    except PipelineStepFailed as error:
        _abort_leftovers(pipeline)
        export_error = _export_error_in(error)
        if export_error is not None:
            raise export_error from error
        raise
    load_info.raise_on_failed_jobs()
    return ExtractResult(
        rows={f.spec.table: counts.get(f.spec.table, 0) for f in files},
        load_id=load_info.loads_ids[-1] if load_info.loads_ids else "",
        encodings={f.spec.file_name: str(f.encoding) for f in files},
        elapsed_seconds=perf_counter() - started,
        duplicate_ids={f.spec.table: list(f.duplicates) for f in files if f.duplicates},
        duckdb_path=target,
    )
