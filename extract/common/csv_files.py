"""Reading CSV export files safely: detect the encoding, check the header, read Arrow chunks.

Source systems export CSV in whatever encoding the desktop that saved it used. Nothing here
assumes one: a byte-order mark decides first, then a strict UTF-8 pass over the whole file, and
only when that fails charset-normalizer chooses among legacy code pages near the first offending
byte. Every problem is an ``ExportFormatError`` naming the file, the line and what to do next.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes


class ExportError(Exception):
    """Base class of everything wrong with an export folder or file."""


class ExportFormatError(ExportError):
    """An export file is not the expected CSV; names the file, the line and a next step."""

    def __init__(
        self, file: Path | str, problem: str, *, line: int | None = None, hint: str = ""
    ) -> None:
        self.file = Path(file)
        self.line = line
        self.problem = problem
        self.hint = hint
        where = f"{self.file.name}, line {line}" if line is not None else self.file.name
        message = f"{where}: {problem}"
        if hint:
            message += f" — {hint}"
        super().__init__(message)


SCAN_CHUNK_BYTES = 8 * 1024 * 1024
SAMPLE_BYTES = 64 * 1024
# pyarrow's CSV block: with quoted newlines allowed it parses serially, and 2-4 MiB blocks were
# both faster (cache-sized) and lighter than 16 MiB ones on the 1M-contact export
BLOCK_BYTES = 4 * 1024 * 1024
LEGACY_CODE_PAGES = ("cp1252", "utf_8")
REEXPORT_HINT = (
    "re-export the file from the source system as CSV (comma separated), or fix it and rerun"
)
_DELIMITER_SUSPECTS = (";", "\t", "|")


@dataclass(frozen=True)
class DetectedEncoding:
    """How a file is encoded and how we decided it."""

    codec: str  # Python codec name: "utf-8", "cp1252", "utf-16"
    has_bom: bool
    method: str  # "bom", "utf-8 validation" or "charset-normalizer"

    @property
    def arrow_encoding(self) -> str:
        # pyarrow reads UTF-8 natively (and skips a UTF-8 BOM); other encodings are transcoded.
        return "utf8" if self.codec == "utf-8" else self.codec

    def __str__(self) -> str:
        return f"{self.codec}{' with BOM' if self.has_bom else ''}"


def line_of_offset(path: Path, offset: int) -> int:
    """The 1-based physical line holding byte ``offset``."""
    newlines = 0
    remaining = offset
    with path.open("rb") as handle:
        while remaining > 0:
            block = handle.read(min(SCAN_CHUNK_BYTES, remaining))
            if not block:
                break
            newlines += block.count(b"\n")
            remaining -= len(block)
    return newlines + 1


def first_undecodable_offset(path: Path, codec: str, skip: int = 0) -> int | None:
    """Byte offset of the first byte ``codec`` cannot decode, or None if the whole file decodes.

    UTF-8 is checked by Arrow's validator and single-byte code pages by searching for the few
    bytes they leave undefined (both several times faster than decoding); Python's strict decoder
    pins the exact offset only once a block is known to be bad, and decodes any other codec.
    """
    name = codecs.lookup(codec).name
    if name == "utf-8":
        return _first_invalid_utf8(path, skip)
    undefined = _undefined_bytes(name)
    if undefined is not None:
        return _first_undefined_byte(path, undefined, skip)
    return _first_undecodable_by_decoding(path, codec, skip)


def _first_undecodable_by_decoding(path: Path, codec: str, skip: int) -> int | None:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    consumed = skip
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            block = handle.read(SCAN_CHUNK_BYTES)
            final = not block
            try:
                decoder.decode(block, final=final)
            except UnicodeDecodeError as error:
                # error.start is relative to the decoder's pending bytes plus this block
                pending = len(error.object) - len(block)
                return consumed - pending + error.start
            if final:
                return None
            consumed += len(block)


def _is_valid_utf8(data: bytes) -> bool:
    offsets = pa.array([0, len(data)], pa.int32()).buffers()[1]
    text = pa.Array.from_buffers(pa.utf8(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _first_invalid_utf8(path: Path, skip: int) -> int | None:
    start = skip  # file offset of ``pending``
    pending = b""
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            block = handle.read(SCAN_CHUNK_BYTES)
            data = pending + block if pending else block
            # a newline byte never sits inside a UTF-8 sequence: cut there, carry the rest over
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if cut and not _is_valid_utf8(data[:cut]):
                return start + _first_undecodable_in(data[:cut], "utf-8")
            if not block:
                return None
            pending, start = data[cut:], start + cut


def _first_undecodable_in(data: bytes, codec: str) -> int:
    try:
        data.decode(codec)
    except UnicodeDecodeError as error:
        return error.start
    raise AssertionError("the validator and the decoder disagree")  # pragma: no cover


def _undefined_bytes(codec: str) -> bytes | None:
    """The bytes a single-byte code page cannot decode (cp1252: 81 8D 8F 90 9D), else None."""
    try:
        if len(bytes(range(128)).decode(codec)) != 128:
            return None
    except (UnicodeDecodeError, LookupError):
        return None
    undefined = bytearray()
    for value in range(128, 256):
        try:
            decoded = bytes([value]).decode(codec)
        except UnicodeDecodeError:
            undefined.append(value)
            continue
        if len(decoded) != 1:
            return None  # not a simple single-byte code page
    return bytes(undefined)


def _first_undefined_byte(path: Path, undefined: bytes, skip: int) -> int | None:
    consumed = skip
    with path.open("rb") as handle:
        handle.seek(skip)
        while block := handle.read(SCAN_CHUNK_BYTES):
            found = [i for i in (block.find(bytes([b])) for b in undefined) if i >= 0]
            if found:
                return consumed + min(found)
            consumed += len(block)
    return None


def _sample_around(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        handle.seek(max(0, offset - SAMPLE_BYTES // 2))
        return head + b"\n" + handle.read(SAMPLE_BYTES)


def detect_encoding(path: Path) -> DetectedEncoding:
    """BOM first; else strict UTF-8 over the whole file; else charset-normalizer on a sample."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        encoding = DetectedEncoding("utf-8", True, "bom")
        skip = len(codecs.BOM_UTF8)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = DetectedEncoding("utf-16", True, "bom")
        skip = 0
    else:
        if b"\x00" in head:
            raise ExportFormatError(
                path,
                "the file is binary (it holds NUL bytes), not a CSV text file",
                line=line_of_offset(path, head.index(b"\x00")),
                hint="if it is an Excel workbook, save it as 'CSV UTF-8 (Comma delimited)'",
            )
        bad_offset = first_undecodable_offset(path, "utf-8")
        if bad_offset is None:
            return DetectedEncoding("utf-8", False, "utf-8 validation")
        best = from_bytes(
            _sample_around(path, bad_offset), cp_isolation=list(LEGACY_CODE_PAGES)
        ).best()
        if best is None or best.encoding == "utf_8":
            raise _undecodable(path, bad_offset, "UTF-8 or Windows-1252")
        encoding = DetectedEncoding(codecs.lookup(best.encoding).name, False, "charset-normalizer")
        skip = 0
    bad_offset = first_undecodable_offset(path, encoding.codec, skip)
    if bad_offset is not None:
        raise _undecodable(path, bad_offset, str(encoding))
    return encoding


def _undecodable(path: Path, offset: int, tried: str) -> ExportFormatError:
    with path.open("rb") as handle:
        handle.seek(offset)
        snippet = handle.read(4)
    return ExportFormatError(
        path,
        f"bytes {snippet.hex(' ')} at byte {offset} cannot be decoded as {tried}",
        line=line_of_offset(path, offset),
        hint="save the file again as 'CSV UTF-8' from the program that last edited it",
    )


def read_header(path: Path, encoding: DetectedEncoding) -> list[str]:
    """The header row, decoded and with any BOM removed."""
    with path.open("r", encoding=encoding.codec, newline="") as handle:
        first_line = handle.readline().lstrip("\ufeff")
    if not first_line.strip():
        raise ExportFormatError(
            path, "the file is empty: no header row", line=1, hint=REEXPORT_HINT
        )
    return next(csv.reader(io.StringIO(first_line)))


def check_header(path: Path, header: Sequence[str], expected: Sequence[str]) -> None:
    """Fail unless every expected column is present exactly once and commas separate them."""
    if len(header) == 1 and any(s in header[0] for s in _DELIMITER_SUSPECTS):
        found = next(s for s in _DELIMITER_SUSPECTS if s in header[0])
        raise ExportFormatError(
            path,
            f"the header is separated by {found!r}, not commas",
            line=1,
            hint="export again with 'comma' as the delimiter, or convert the file to CSV",
        )
    stripped = [name.strip() for name in header]
    duplicates = sorted({name for name in stripped if stripped.count(name) > 1})
    if duplicates:
        raise ExportFormatError(
            path, f"the header repeats column(s) {duplicates}", line=1, hint=REEXPORT_HINT
        )
    missing = [name for name in expected if name not in stripped]
    if missing:
        raise ExportFormatError(
            path,
            f"the header lacks expected column(s) {missing}",
            line=1,
            hint="export with all columns ('Export all fields'), or check it is the right file",
        )


def locate_structure_error(
    path: Path, encoding: DetectedEncoding, expected_fields: int
) -> ExportFormatError | None:
    """Find the first malformed record with Python's strict csv reader (slow path, errors only)."""
    with path.open("r", encoding=encoding.codec, newline="") as handle:
        reader = csv.reader(handle, strict=True)
        record_number = 0
        start_line = 1
        try:
            for row in reader:
                if row and record_number == 0:
                    row[0] = row[0].lstrip("\ufeff")
                if not row:
                    start_line = reader.line_num + 1
                    continue
                if record_number > 0 and len(row) != expected_fields:
                    return ExportFormatError(
                        path,
                        f"record {record_number} (row {record_number + 1}) has {len(row)} fields,"
                        f" the header has {expected_fields}",
                        line=start_line,
                        hint="a value probably holds an unquoted comma or a stray quote; "
                        + REEXPORT_HINT,
                    )
                record_number += 1
                start_line = reader.line_num + 1
        except csv.Error as error:
            problem = (
                "a quoted value is never closed (unterminated quote)"
                if "unexpected end of data" in str(error) or "EOF" in str(error)
                else f"malformed CSV ({error})"
            )
            return ExportFormatError(
                path,
                f"record {record_number} (row {record_number + 1}): {problem}",
                line=start_line,
                hint=REEXPORT_HINT,
            )
    return None


def structure_error(
    path: Path, encoding: DetectedEncoding, header: Sequence[str], cause: Exception
) -> ExportFormatError:
    located = locate_structure_error(path, encoding, len(header))
    if located is not None:
        return located
    return ExportFormatError(path, f"cannot be parsed as CSV: {cause}", hint=REEXPORT_HINT)


def csv_options(
    encoding: DetectedEncoding, header: Sequence[str], *, block_size: int = BLOCK_BYTES
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """Arrow options that read every column as untouched text, quoted newlines included."""
    read = pacsv.ReadOptions(encoding=encoding.arrow_encoding, block_size=block_size)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=False,  # already validated by detect_encoding
    )
    return read, parse, convert


def read_columns(
    path: Path, encoding: DetectedEncoding, header: Sequence[str], columns: Sequence[str]
) -> pa.Table:
    """Parse the whole file (checking its structure) but keep only ``columns``."""
    read, parse, convert = csv_options(encoding, header)
    convert.include_columns = list(columns)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise structure_error(path, encoding, header, error) from error


def iter_record_batches(
    path: Path, encoding: DetectedEncoding, header: Sequence[str]
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Stream the file as Arrow record batches of all-text columns (memory stays bounded).

    Yields each batch with the bytes of the file read so far (for progress estimates). A
    malformed record raises ``ExportFormatError`` naming its line, from inside the stream.
    """
    read, parse, convert = csv_options(encoding, header)
    try:
        with (
            pa.OSFile(str(path), "rb") as source,
            pacsv.open_csv(
                source, read_options=read, parse_options=parse, convert_options=convert
            ) as reader,
        ):
            for batch in reader:
                yield batch, source.tell()
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise structure_error(path, encoding, header, error) from error


_T = TypeVar("_T")
_DONE = object()


def prefetched(items: Iterator[_T], depth: int = 2) -> Iterator[_T]:
    """Run ``items`` in a background thread, up to ``depth`` items ahead of the consumer.

    Its exceptions are raised here, in the consumer, when their turn comes. Closing this
    generator early stops the thread after the item it is working on, and closes ``items``.
    """
    ready: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put((_DONE, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="csv-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


_NON_ALPHANUMERIC = re.compile(r"[^0-9A-Za-z]+")


def column_name(label: str) -> str:
    """snake_case column name of a header label: 'Duration (Hours)' → 'duration_hours'.

    Punctuation collapses to single underscores and is stripped from the ends, so the result is
    already a fixed point of dlt's snake_case convention (which alone would make 'duration_hoursx').
    """
    name = _NON_ALPHANUMERIC.sub("_", label.strip()).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"_{name}"
    return name
