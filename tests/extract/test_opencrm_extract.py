"""The OpenCRM extract: files land as text in raw_opencrm, merge on re-runs, refuse bad input."""

from __future__ import annotations

import codecs
import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import extract.common.csv_files as csv_files
from extract.common.csv_files import (
    column_name,
    detect_encoding,
    first_undecodable_offset,
    prefetched,
)
from extract.opencrm import ExportFormatError, ExtractResult, run_extract
from extract.opencrm.settings import EXPORT_FILES
from sandbox.opencrm import generate, make_delta

ENCODINGS = {"Companies.csv": "cp1252", "Contacts.csv": "utf-8-sig"}


def read_csv_records(path: Path) -> list[dict[str, str]]:
    encoding = ENCODINGS.get(path.name, "utf-8")
    with path.open("r", encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("opencrm") / "export"
    generate(folder, contacts=300, seed=21)
    return folder


@pytest.fixture(scope="module")
def landed(
    export_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ExtractResult]:
    database = tmp_path_factory.mktemp("warehouse") / "migration.duckdb"
    return database, run_extract(export_dir, database)


def test_every_file_lands_with_every_record(
    export_dir: Path, landed: tuple[Path, ExtractResult]
) -> None:
    database, result = landed
    for spec in EXPORT_FILES:
        expected = len(read_csv_records(export_dir / spec.file_name))
        assert result.rows[spec.table] == expected
        assert query(database, f"select count(*) from raw_opencrm.{spec.table}") == [(expected,)]


def test_columns_are_contract_names_all_text(landed: tuple[Path, ExtractResult]) -> None:
    database, _ = landed
    columns = dict(
        query(
            database,
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'raw_opencrm' and table_name = 'activities'",
        )
    )
    for name in ("record_id", "duration_hours", "related_to_id", "modified_time"):
        assert columns[name] == "VARCHAR"
    assert columns["_source_row"] == "BIGINT"
    assert columns["_extracted_at"].startswith("TIMESTAMP")
    assert {"_source_file", "_dlt_load_id", "_dlt_id"} <= columns.keys()
    company_columns = {row[0] for row in query(database, "describe raw_opencrm.companies")}
    assert {"cf_601", "cf_602", "annual_revenue", "billing_postcode"} <= company_columns


def test_encodings_are_detected(landed: tuple[Path, ExtractResult]) -> None:
    _, result = landed
    assert result.encodings["Companies.csv"] == "cp1252"
    assert result.encodings["Contacts.csv"] == "utf-8 with BOM"
    assert result.encodings["Notes.csv"] == "utf-8"


@pytest.mark.parametrize(
    ("file_name", "table", "columns"),
    [
        ("Companies.csv", "companies", ("Company Name", "Description", "Billing Street")),
        ("Contacts.csv", "contacts", ("First Name", "Last Name", "Email", "Mailing Street")),
        ("Notes.csv", "notes", ("Title", "Note Content")),
    ],
)
def test_text_is_decoded_and_untouched(
    export_dir: Path,
    landed: tuple[Path, ExtractResult],
    file_name: str,
    table: str,
    columns: tuple[str, ...],
) -> None:
    database, _ = landed
    id_label = "Note ID" if table == "notes" else "Record ID"
    expected = {
        (row[id_label], *(row[c] for c in columns))
        for row in read_csv_records(export_dir / file_name)
    }
    selected = ", ".join([column_name(id_label), *(column_name(c) for c in columns)])
    assert set(query(database, f"select {selected} from raw_opencrm.{table}")) == expected


def test_multiline_notes_and_special_characters_survive(landed: tuple[Path, ExtractResult]) -> None:
    database, _ = landed
    contents = [row[0] for row in query(database, "select note_content from raw_opencrm.notes")]
    assert any("\r\n" in c for c in contents) and any('"' in c for c in contents)
    names = "".join(
        row[0] for row in query(database, "select company_name from raw_opencrm.companies")
    )
    descriptions = "".join(
        row[0] for row in query(database, "select description from raw_opencrm.companies")
    )
    assert all(character in names + descriptions for character in "’£é")


def test_source_rows_number_records_like_a_spreadsheet(
    export_dir: Path, landed: tuple[Path, ExtractResult]
) -> None:
    database, _ = landed
    records = read_csv_records(export_dir / "Notes.csv")
    landed_rows = dict(query(database, "select note_id, _source_row from raw_opencrm.notes"))
    for index, record in enumerate(records):
        assert landed_rows[record["Note ID"]] == index + 2
    assert query(database, "select distinct _source_file from raw_opencrm.notes") == [
        ("Notes.csv",)
    ]


def test_reextracting_the_same_export_does_not_duplicate(export_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "m.duckdb"
    first = run_extract(export_dir, database)
    second = run_extract(export_dir, database)
    assert first.load_id != second.load_id
    for spec in EXPORT_FILES:
        key = column_name(spec.id_column)
        counts = f"select count(*), count(distinct {key}) from raw_opencrm.{spec.table}"
        assert query(database, counts) == [(first.rows[spec.table], first.rows[spec.table])]


def test_delta_updates_edits_adds_new_and_keeps_deleted_rows_findable(
    export_dir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "m.duckdb"
    full = run_extract(export_dir, database)
    delta_dir = tmp_path / "delta"
    make_delta(export_dir, delta_dir, seed=9)
    delta = run_extract(delta_dir, database)

    base = {r["Record ID"]: r for r in read_csv_records(export_dir / "Contacts.csv")}
    newer = {r["Record ID"]: r for r in read_csv_records(delta_dir / "Contacts.csv")}
    landed = {
        row[0]: row[1:]
        for row in query(
            database,
            "select record_id, job_title, modified_time, _dlt_load_id from raw_opencrm.contacts",
        )
    }
    edited = [i for i in base.keys() & newer.keys() if base[i] != newer[i]]
    assert edited
    for record_id in edited:
        assert landed[record_id][:2] == (
            newer[record_id]["Job Title"],
            newer[record_id]["Modified Time"],
        )
    for record_id in newer.keys() - base.keys():
        assert landed[record_id][2] == delta.load_id
    deleted = base.keys() - newer.keys()
    assert deleted
    assert all(landed[record_id][2] == full.load_id for record_id in deleted)
    assert len(landed) == len(base.keys() | newer.keys())


def test_duplicate_ids_keep_the_latest_modified_time_and_are_reported(
    export_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(export_dir, folder)
    users = folder / "Users.csv"
    text = users.read_text(encoding="utf-8")
    users.write_text(
        text + "2,jsmith2,James,Smith,james.smith2@contoso.example,Inactive\r\n", encoding="utf-8"
    )
    notes = read_csv_records(folder / "Notes.csv")
    stale = dict(notes[0], **{"Title": "older copy", "Modified Time": "01/01/2000 09:00"})
    with (folder / "Notes.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(notes[0]), lineterminator="\r\n").writerow(stale)
    database = tmp_path / "m.duckdb"

    result = run_extract(folder, database)

    reported = {(d.table, d.record_id): d for dups in result.duplicate_ids.values() for d in dups}
    assert reported[("notes", notes[0]["Note ID"])].kept_row == 2
    assert reported[("notes", notes[0]["Note ID"])].dropped_rows == (len(notes) + 2,)
    assert query(
        database, f"select title from raw_opencrm.notes where note_id = '{notes[0]['Note ID']}'"
    ) == [(notes[0]["Title"],)]
    # no Modified Time in Users.csv: the later row wins
    assert reported[("users", "2")].kept_row == 14
    assert query(database, "select user_name from raw_opencrm.users where user_id = '2'") == [
        ("jsmith2",)
    ]


USERS_HEADER = "User ID,User Name,First Name,Last Name,Email,Status\r\n"
GOOD_USER = "1,admin,Sarah,Whitaker,sarah.whitaker@contoso.example,Active\r\n"


def _write_users(folder: Path, content: bytes) -> None:
    (folder / "Users.csv").write_bytes(content)


BAD_INPUTS: dict[str, tuple[Callable[[Path], None], str, int | None, str]] = {
    "missing file": (lambda f: (f / "Notes.csv").unlink(), "Notes.csv", None, "missing"),
    "missing header column": (
        lambda f: _write_users(f, b"User ID,User Name,First Name,Last Name,Email\r\n1,a,b,c,d\r\n"),
        "Users.csv",
        1,
        "Status",
    ),
    "wrong delimiter": (
        lambda f: _write_users(
            f, USERS_HEADER.replace(",", ";").encode() + GOOD_USER.replace(",", ";").encode()
        ),
        "Users.csv",
        1,
        "';'",
    ),
    "unterminated quote": (
        lambda f: _write_users(
            f,
            (
                USERS_HEADER
                + GOOD_USER
                + GOOD_USER
                + '3,"epatel,Emily,Patel,e@contoso.example,Active\r\n'
                + GOOD_USER
            ).encode(),
        ),
        "Users.csv",
        4,
        "unterminated quote",
    ),
    "wrong number of fields": (
        lambda f: _write_users(
            f, (USERS_HEADER + GOOD_USER + "2,jsmith,James,Smith,Active\r\n" + GOOD_USER).encode()
        ),
        "Users.csv",
        3,
        "5 fields",
    ),
    "undecodable bytes": (
        lambda f: _write_users(
            f, (USERS_HEADER + GOOD_USER + GOOD_USER).encode() + b"3,x\x81\x8d,a,b,c,Active\r\n"
        ),
        "Users.csv",
        4,
        "cannot be decoded",
    ),
    "binary file": (
        lambda f: _write_users(f, b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"),
        "Users.csv",
        1,
        "binary",
    ),
    "blank id": (
        lambda f: _write_users(f, (USERS_HEADER + GOOD_USER + ",x,a,b,c,Active\r\n").encode()),
        "Users.csv",
        None,
        "row 3",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_file_and_line_and_writes_nothing(
    export_dir: Path, tmp_path: Path, case: str
) -> None:
    break_export, file_name, line, problem = BAD_INPUTS[case]
    folder = tmp_path / "export"
    shutil.copytree(export_dir, folder)
    break_export(folder)
    database = tmp_path / "var" / "migration.duckdb"

    with pytest.raises(ExportFormatError) as raised:
        run_extract(folder, database)

    message = str(raised.value)
    assert file_name in message and problem in message
    if line is not None:
        assert raised.value.line == line and f"line {line}" in message
    assert raised.value.hint  # says what to do next
    assert not database.exists() and not (database.parent / "dlt").exists()


def test_bad_input_leaves_an_existing_dataset_untouched(export_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "m.duckdb"
    first = run_extract(export_dir, database)
    folder = tmp_path / "export"
    shutil.copytree(export_dir, folder)
    (folder / "Companies.csv").write_bytes(
        (folder / "Companies.csv").read_bytes() + b'99,"unterminated\r\n'
    )
    with pytest.raises(ExportFormatError):
        run_extract(folder, database)
    assert query(
        database, "select count(*), count(distinct _dlt_load_id) from raw_opencrm.companies"
    ) == [(first.rows["companies"], 1)]


def test_encoding_detection_finds_cp1252_far_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(
        b"a,b\r\n" + b"1,plain ascii\r\n" * 20_000 + "2,Café – £5\r\n".encode("cp1252")
    )
    detected = detect_encoding(path)
    assert (detected.codec, detected.has_bom) == ("cp1252", False)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + "a,b\r\n1,é\r\n".encode())
    assert str(detect_encoding(bom)) == "utf-8 with BOM"
    plain = tmp_path / "plain.csv"
    plain.write_bytes("a,b\r\n1,Zoë\r\n".encode())
    assert str(detect_encoding(plain)) == "utf-8"


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_undecodable_offsets_are_exact_across_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(csv_files, "SCAN_CHUNK_BYTES", block)
    text = "a,é\r\n’x,😀\n" * 3
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    assert first_undecodable_offset(path, "utf-8") is None
    for bad in (b"\x81", b"\xe2\x80", b"\xff"):
        for at in range(len(text.encode()) + 1):
            data = text.encode()[:at] + bad + text.encode()[at:]
            path.write_bytes(data)
            for codec in ("utf-8", "cp1252"):
                try:
                    data.decode(codec)
                    expected = None
                except UnicodeDecodeError as error:
                    expected = error.start
                assert first_undecodable_offset(path, codec) == expected, (codec, at, bad)


def test_prefetched_keeps_order_raises_in_turn_and_stops_when_closed() -> None:
    def items():
        yield from range(5)
        raise ValueError("bad item 5")

    seen = []
    with pytest.raises(ValueError, match="bad item 5"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]

    closed = []

    def endless():
        try:
            count = 0
            while True:
                yield count
                count += 1
        finally:
            closed.append(True)

    stream = prefetched(endless())
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert closed == [True]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Record ID", "record_id"),
        ("Duration (Hours)", "duration_hours"),
        ("cf_601", "cf_601"),
        ("Do Not Phone", "do_not_phone"),
    ],
)
def test_column_names_follow_the_contract(label: str, expected: str) -> None:
    assert column_name(label) == expected
