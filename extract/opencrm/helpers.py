"""Validate an OpenCRM export folder and turn its files into Arrow chunks for dlt."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.utils import generate_dlt_ids

from extract.common.csv_files import (
    REEXPORT_HINT,
    DetectedEncoding,
    ExportFormatError,
    check_header,
    column_name,
    detect_encoding,
    iter_record_batches,
    prefetched,
    read_columns,
    read_header,
)
from extract.opencrm.settings import EXPORT_FILES, ExportFileSpec

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(table, rows_done, rows_total)`` while a table is extracted."""

FIRST_RECORD_ROW = 2  # a spreadsheet numbers the header 1, the first record 2
MODIFIED_TIME_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%y %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%Y-%m-%d",
)


@dataclass(frozen=True)
class DuplicateId:
    """One id that occurs on several records of a file: which row was kept, which were not."""

    table: str
    record_id: str
    kept_row: int
    dropped_rows: tuple[int, ...]


@dataclass(frozen=True)
class ExportFile:
    """A file whose encoding and header checked out: everything needed to stream it."""

    spec: ExportFileSpec
    path: Path
    encoding: DetectedEncoding
    header: tuple[str, ...]


@dataclass(frozen=True)
class ValidatedFile(ExportFile):
    """A file parsed end to end (``validate_export``): its records and duplicate ids."""

    rows: int = 0
    duplicates: tuple[DuplicateId, ...] = ()

    @property
    def dropped_rows(self) -> frozenset[int]:
        return frozenset(row for dup in self.duplicates for row in dup.dropped_rows)


class DuplicateIdsFound(Exception):  # noqa: N818 - a signal, not an error the user sees
    """Raised at the end of a streamed file whose duplicate ids were not known beforehand.

    Rows of an older duplicate may already have been handed to dlt, so the extract is abandoned
    (nothing loads) and run again with every file's duplicates known up front.
    """

    def __init__(self, path: Path, duplicates: tuple[DuplicateId, ...]) -> None:
        self.path = path
        self.duplicates = duplicates
        super().__init__(f"{path.name}: {len(duplicates)} duplicate id(s) found while streaming")


def parse_modified_time(text: str) -> datetime:
    """Best-effort parse of a Modified Time; unparseable values sort first (oldest)."""
    value = text.strip()
    for pattern in MODIFIED_TIME_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    return datetime.min


def find_duplicate_ids(
    spec: ExportFileSpec, ids: pa.ChunkedArray, modified: pa.ChunkedArray | None
) -> tuple[DuplicateId, ...]:
    """Ids on more than one record; keep the latest Modified Time (then the later row)."""
    counts = pc.value_counts(ids)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return ()
    positions = pc.indices_nonzero(pc.is_in(ids, value_set=repeated)).to_pylist()
    rows_by_id: dict[str, list[tuple[datetime, int]]] = {}
    for position in positions:
        record_id = ids[position].as_py()
        stamp = (
            parse_modified_time(modified[position].as_py())
            if modified is not None
            else datetime.min
        )
        rows_by_id.setdefault(record_id, []).append((stamp, position + FIRST_RECORD_ROW))
    duplicates = []
    for record_id, candidates in rows_by_id.items():
        kept = max(candidates)[1]
        dropped = tuple(sorted(row for _, row in candidates if row != kept))
        duplicates.append(DuplicateId(spec.table, record_id, kept, dropped))
    return tuple(duplicates)


def _check_ids_present(
    spec: ExportFileSpec, path: Path, ids: pa.ChunkedArray | pa.Array, first_row: int
) -> None:
    blank = pc.equal(pc.utf8_trim_whitespace(ids), "")
    if pc.any(blank).as_py():
        row = pc.indices_nonzero(blank)[0].as_py() + first_row
        raise ExportFormatError(
            path,
            f"row {row} has no {spec.id_column!r}; every exported record carries one",
            hint="the file was probably edited by hand; " + REEXPORT_HINT,
        )


def inspect_file(spec: ExportFileSpec, path: Path) -> ExportFile:
    """Find the file, detect its encoding, check its header. Reads, never writes.

    The records themselves are checked while they stream (``FileStream``), in the same pass.
    """
    if not path.is_file():
        raise ExportFormatError(
            path,
            f"the file is missing from the export folder {path.parent}",
            hint=f"export the {spec.table} module from OpenCRM into this folder"
            f" as {spec.file_name}",
        )
    encoding = detect_encoding(path)
    header = read_header(path, encoding)
    check_header(path, header, spec.columns)
    return ExportFile(spec=spec, path=path, encoding=encoding, header=tuple(header))


def inspect_export(
    export_dir: Path, specs: Sequence[ExportFileSpec] = EXPORT_FILES
) -> list[ExportFile]:
    """Inspect every file of the export (presence, encoding, header) before anything is written."""
    if not export_dir.is_dir():
        raise ExportFormatError(
            export_dir, "the export folder does not exist", hint="generate or copy the export first"
        )
    return [inspect_file(spec, export_dir / spec.file_name) for spec in specs]


def _id_labels(export_file: ExportFile) -> list[str]:
    raw_header = {name.strip(): name for name in export_file.header}
    spec = export_file.spec
    wanted = [raw_header[spec.id_column]]
    if spec.modified_column is not None:
        wanted.append(raw_header[spec.modified_column])
    return wanted


def validate_file(export_file: ExportFile) -> ValidatedFile:
    """Parse every record of an inspected file (ids only kept); find blank and duplicate ids."""
    spec, path = export_file.spec, export_file.path
    table = read_columns(path, export_file.encoding, export_file.header, _id_labels(export_file))
    ids = table.column(0)
    _check_ids_present(spec, path, ids, FIRST_RECORD_ROW)
    modified = table.column(1) if spec.modified_column is not None else None
    return ValidatedFile(
        spec=spec,
        path=path,
        encoding=export_file.encoding,
        header=export_file.header,
        rows=table.num_rows,
        duplicates=find_duplicate_ids(spec, ids, modified),
    )


def validate_export(
    export_dir: Path, specs: Sequence[ExportFileSpec] = EXPORT_FILES
) -> list[ValidatedFile]:
    """Validate every file of the export end to end (a separate pass; reads, never writes)."""
    return [validate_file(export_file) for export_file in inspect_export(export_dir, specs)]


_ROW_OFFSETS: list[pa.Array] = [pa.array([], pa.int64())]


def _row_numbers(first_row: int, length: int) -> pa.Array:
    """``first_row, first_row + 1, …`` as int64, from a cached 0…n-1 (no Python range per chunk)."""
    if len(_ROW_OFFSETS[0]) < length:
        _ROW_OFFSETS[0] = pa.array(range(max(length, 2 * len(_ROW_OFFSETS[0]))), pa.int64())
    return pc.add(_ROW_OFFSETS[0].slice(0, length), pa.scalar(first_row, pa.int64()))


def _constant_text(value: str, length: int) -> pa.Array:
    # dictionary-encoded: one copy of the value, not one per row (as dlt does for _dlt_load_id)
    return pa.DictionaryArray.from_arrays(
        pa.repeat(pa.scalar(0, pa.int8()), length), pa.array([value], pa.string())
    )


def _not_null(name: str, values: pa.Array) -> tuple[pa.Field, pa.Array]:
    return pa.field(name, values.type, nullable=False), values


def row_ids(source_rows: pa.Array) -> pa.Array:
    """Unique row ids like dlt's ``_dlt_id``: a random per-chunk prefix plus the source row.

    Vectorised, so a million rows cost milliseconds instead of a second of per-row random ids.
    """
    prefix = pa.scalar(generate_dlt_ids(1)[0][:10], pa.string())
    return pc.binary_join_element_wise(prefix, pc.cast(source_rows, pa.string()), "")


def contract_schema(export_file: ExportFile) -> pa.Schema:
    """Arrow schema of the data columns: contract names, all text, the id never null."""
    id_label = export_file.spec.id_column
    return pa.schema(
        # the id is never null (checked); saying so keeps the Arrow and dlt hints in agreement
        pa.field(column_name(name), pa.string(), nullable=name.strip() != id_label)
        for name in export_file.header
    )


def enrich_chunk(
    table: pa.Table,
    export_file: ExportFile,
    first_row: int,
    extracted_at: datetime,
    dropped_rows: pa.Array | None = None,
    schema: pa.Schema | None = None,
) -> pa.Table:
    """Name columns as the contract says and add the lineage columns; drop duplicate-id losers.

    Zero-copy for the data columns: they are relabelled, never rebuilt.
    """
    length = table.num_rows
    source_rows = _row_numbers(first_row, length)
    stamp = pa.scalar(extracted_at, pa.timestamp("us", tz="UTC"))
    lineage = (
        _not_null("_source_file", _constant_text(export_file.path.name, length)),
        _not_null("_source_row", source_rows),
        _not_null("_extracted_at", pa.repeat(stamp, length)),
        _not_null("_dlt_id", row_ids(source_rows)),
    )
    data_schema = schema or contract_schema(export_file)
    enriched = pa.Table.from_arrays(
        [*table.columns, *(values for _, values in lineage)],
        schema=pa.schema([*data_schema, *(lineage_field for lineage_field, _ in lineage)]),
    )
    if dropped_rows is not None and len(dropped_rows):
        enriched = enriched.filter(pc.invert(pc.is_in(source_rows, value_set=dropped_rows)))
    return enriched


class FileStream:
    """One pass over a file: check its records, yield enriched Arrow chunks, find duplicate ids.

    Structure errors and blank ids raise ``ExportFormatError`` from inside the stream, so dlt's
    extract step fails and nothing is loaded. Duplicate ids can only be known once every record
    has been read: rows of the older copies listed in ``known_duplicates`` are left out; if the
    file holds others, the stream raises ``DuplicateIdsFound`` at its end (the caller re-runs the
    extract with them known).
    """

    def __init__(
        self,
        export_file: ExportFile,
        extracted_at: datetime,
        chunk_rows: int,
        known_duplicates: Sequence[DuplicateId] = (),
        progress: ProgressCallback | None = None,
    ) -> None:
        self.export_file = export_file
        self.extracted_at = extracted_at
        self.chunk_rows = chunk_rows
        self.known_duplicates = tuple(known_duplicates)
        self.progress = progress
        self.records = 0  # records read
        self.rows = 0  # rows handed on (records less the older copies of duplicate ids)
        self.duplicates: tuple[DuplicateId, ...] = ()
        self.finished = False

    @property
    def table(self) -> str:
        return self.export_file.spec.table

    def _report(self, total: int) -> None:
        if self.progress:
            self.progress(self.table, self.records, total)

    def chunks(self) -> Iterator[pa.Table]:
        """Enriched chunks; the next ones are read and checked in a background thread meanwhile.

        Parsing CSV (pyarrow) and writing parquet (dlt) both release the GIL, so on two cores
        the reading of chunk n+1 overlaps the writing of chunk n.
        """
        size = max(self.export_file.path.stat().st_size, 1)
        found: list[tuple[DuplicateId, ...]] = []
        for enriched, records, bytes_read in prefetched(self._checked_chunks(found)):
            self.records = records
            self.rows += enriched.num_rows
            yield enriched
            del enriched  # written by now: let its buffers go back to the OS
            pa.default_memory_pool().release_unused()
            # rows still to come are estimated from the bytes read so far
            self._report(max(records, round(records * size / max(bytes_read, 1))))
        (self.duplicates,) = found
        if _dropped(self.duplicates) != _dropped(self.known_duplicates):
            raise DuplicateIdsFound(self.export_file.path, self.duplicates)
        self.finished = True
        self._report(self.records)

    def _checked_chunks(
        self, found: list[tuple[DuplicateId, ...]]
    ) -> Iterator[tuple[pa.Table, int, int]]:
        """(enriched chunk, records read so far, bytes read so far).

        Checks every chunk's ids as it goes and, once the file is read, appends its duplicate
        ids to ``found``.
        """
        export_file = self.export_file
        spec, path = export_file.spec, export_file.path
        schema = contract_schema(export_file)
        labels = [name.strip() for name in export_file.header]
        id_index = labels.index(spec.id_column)
        modified_index = (
            labels.index(spec.modified_column) if spec.modified_column is not None else None
        )
        dropped = sorted(_dropped(self.known_duplicates))
        dropped_rows = pa.array(dropped, pa.int64()) if dropped else None
        ids: list[pa.Array] = []
        modified: list[pa.Array] = []
        records = 0
        for table, bytes_read in self._tables():
            first_row = FIRST_RECORD_ROW + records
            id_column = table.column(id_index)
            _check_ids_present(spec, path, id_column, first_row)
            ids.extend(id_column.chunks)
            if modified_index is not None:
                modified.extend(table.column(modified_index).chunks)
            enriched = enrich_chunk(
                table, export_file, first_row, self.extracted_at, dropped_rows, schema
            )
            records += table.num_rows
            yield enriched, records, bytes_read
        found.append(
            find_duplicate_ids(
                spec,
                pa.chunked_array(ids, pa.string()),
                pa.chunked_array(modified, pa.string()) if modified_index is not None else None,
            )
        )

    def _tables(self) -> Iterator[tuple[pa.Table, int]]:
        """Record batches gathered into tables of about ``chunk_rows`` (header-only: one empty)."""
        export_file = self.export_file
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        yielded = False
        batches = iter_record_batches(export_file.path, export_file.encoding, export_file.header)
        for batch, bytes_read in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= self.chunk_rows:
                yield pa.Table.from_batches(pending), bytes_read
                yielded = True
                pending, pending_rows = [], 0
        if pending_rows or not yielded:
            # a header-only file still yields an (empty) chunk so its table exists downstream
            empty = pa.schema([(name, pa.string()) for name in export_file.header])
            last = pa.Table.from_batches(pending, schema=pending[0].schema if pending else empty)
            yield last, export_file.path.stat().st_size


def _dropped(duplicates: Sequence[DuplicateId]) -> frozenset[int]:
    return frozenset(row for dup in duplicates for row in dup.dropped_rows)
