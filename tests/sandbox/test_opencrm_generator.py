"""The OpenCRM stand-in: deterministic, realistic, and defective at the rate asked for."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from extract.opencrm.settings import EXPORT_FILES
from sandbox.opencrm import GeneratorError, generate, generate_export, make_delta
from sandbox.opencrm import pools as p
from sandbox.opencrm.generator import (
    DEFECT_GROUPS,
    FILE_ENCODINGS,
    ExportSummary,
    load_users,
    nominal_sizes,
)

CONTACTS = 2000
RATE = 0.05
STAGES = {stage for stage, _ in p.SALES_STAGES}
SUFFIX_WORDS = {"ltd", "limited", "plc", "llp", "l.l.p.", "ltd."}


def read_records(folder: Path, file_name: str) -> list[dict[str, str]]:
    with (folder / file_name).open("r", encoding=FILE_ENCODINGS[file_name], newline="") as handle:
        return list(csv.DictReader(handle))


def normalised_company(name: str) -> str:
    words = name.lower().replace("&", " and ").replace(".", " ").split()
    while words and words[-1] in {"ltd", "limited", "plc", "llp", "l", "p"}:
        words.pop()
    return " ".join(words)


def is_uk_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%d/%m/%Y")
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportSummary]:
    folder = tmp_path_factory.mktemp("opencrm") / "export"
    return folder, generate_export(folder, contacts=CONTACTS, seed=7, defect_rate=RATE)


@pytest.fixture(scope="module")
def records(export: tuple[Path, ExportSummary]) -> dict[str, list[dict[str, str]]]:
    folder, _ = export
    return {spec.file_name: read_records(folder, spec.file_name) for spec in EXPORT_FILES}


def by_id(rows: list[dict[str, str]], column: str = "Record ID") -> dict[str, dict[str, str]]:
    return {row[column]: row for row in rows}


def test_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, contacts=300, seed=11)
    generate(second, contacts=300, seed=11)
    generate(other, contacts=300, seed=12)
    for spec in EXPORT_FILES:
        assert (first / spec.file_name).read_bytes() == (second / spec.file_name).read_bytes()
    assert (first / "Contacts.csv").read_bytes() != (other / "Contacts.csv").read_bytes()


def test_headers_are_the_contract_field_labels(export: tuple[Path, ExportSummary]) -> None:
    folder, _ = export
    for spec in EXPORT_FILES:  # the extract's own copy of docs/contracts.md
        with (folder / spec.file_name).open(
            encoding=FILE_ENCODINGS[spec.file_name], newline=""
        ) as f:
            assert tuple(next(csv.reader(f))) == spec.columns


def test_companies_are_cp1252_with_pound_accent_and_smart_quote(
    export: tuple[Path, ExportSummary],
) -> None:
    folder, _ = export
    raw = (folder / "Companies.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "£" in text and "é" in text and "’" in text
    assert raw.count(b"\xa3") > 0 and raw.count(b"\x92") > 0  # £ and ’ as cp1252 bytes


def test_contacts_have_a_bom_and_the_rest_are_plain_utf8(
    export: tuple[Path, ExportSummary],
) -> None:
    folder, _ = export
    assert (folder / "Contacts.csv").read_bytes().startswith(b"\xef\xbb\xbfRecord ID,")
    for name in ("Opportunities.csv", "Activities.csv", "Notes.csv", "Users.csv"):
        raw = (folder / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")


def test_sizes_scale_with_contacts(export: tuple[Path, ExportSummary]) -> None:
    _, summary = export
    nominal = nominal_sizes(CONTACTS)
    for file_name, expected in nominal.items():
        assert expected <= summary.rows[file_name] <= expected * 1.1  # duplicates add extra rows
    assert nominal["Companies.csv"] == CONTACTS // 4
    assert nominal["Activities.csv"] == CONTACTS * 3 // 2
    assert summary.rows["Users.csv"] == len(load_users().users) == 12


@pytest.mark.parametrize(
    ("file_name", "kind"),
    [
        (file_name, kind)
        for file_name, groups in DEFECT_GROUPS.items()
        for g in groups
        for kind in g
    ],
)
def test_each_defect_kind_hits_about_the_configured_rate(
    export: tuple[Path, ExportSummary], file_name: str, kind: str
) -> None:
    _, summary = export
    hits = len(summary.defects.get(file_name, {}).get(kind, []))
    expected = nominal_sizes(CONTACTS)[file_name] * RATE
    assert 0.55 * expected <= hits <= 1.45 * expected, (
        f"{file_name} {kind}: {hits} vs {expected:.0f}"
    )


def test_zero_rate_injects_no_defects(tmp_path: Path) -> None:
    summary = generate_export(tmp_path, contacts=400, seed=3, defect_rate=0.0)
    assert summary.defects == {}
    opportunities = read_records(tmp_path, "Opportunities.csv")
    assert {row["Sales Stage"] for row in opportunities} <= STAGES
    contacts = read_records(tmp_path, "Contacts.csv")
    assert all(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z.]+", row["Email"]) for row in contacts)
    assert len({row["Email"] for row in contacts}) == len(contacts)


def test_rate_outside_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError):
        generate(tmp_path, contacts=10, defect_rate=0.6)


def test_manifest_defects_are_really_in_the_files(
    export: tuple[Path, ExportSummary], records: dict[str, list[dict[str, str]]]
) -> None:
    _, summary = export
    d = summary.defects
    companies = by_id(records["Companies.csv"])
    contacts = by_id(records["Contacts.csv"])
    opportunities = by_id(records["Opportunities.csv"])
    activities = by_id(records["Activities.csv"])
    notes = by_id(records["Notes.csv"], "Note ID")
    normal_owners = set(load_users().normal_owners)

    assert all(len(companies[i]["Company Name"]) > 160 for i in d["Companies.csv"]["name_too_long"])
    assert all(companies[i]["Company Name"] == "" for i in d["Companies.csv"]["blank_company_name"])
    assert all(
        not is_uk_date(companies[i]["cf_602"]) for i in d["Companies.csv"]["impossible_date"]
    )
    assert all(
        not re.fullmatch(r"£[\d,]+\.\d\d", companies[i]["Annual Revenue"])
        for i in d["Companies.csv"]["money_variant"]
    )
    assert all(
        len(contacts[i]["First Name"]) > 50 for i in d["Contacts.csv"]["first_name_too_long"]
    )
    assert all(len(contacts[i]["Email"]) > 100 for i in d["Contacts.csv"]["email_too_long"])
    assert all(contacts[i]["Last Name"] == "" for i in d["Contacts.csv"]["blank_last_name"])
    assert all(
        not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", contacts[i]["Email"])
        for i in d["Contacts.csv"]["invalid_email"]
    )
    assert all(
        re.search(r"ext|x\d", contacts[i]["Phone"]) for i in d["Contacts.csv"]["phone_extension"]
    )
    assert all(
        contacts[i]["First Name"] != contacts[i]["First Name"].strip()
        or "\u00a0" in contacts[i]["First Name"] + contacts[i]["Last Name"]
        or contacts[i]["Last Name"] != contacts[i]["Last Name"].strip()
        for i in d["Contacts.csv"]["whitespace"]
    )
    assert all(
        opportunities[i]["Sales Stage"] not in STAGES
        for i in d["Opportunities.csv"]["unmapped_stage"]
    )
    assert all(
        opportunities[i]["Assigned To"] not in normal_owners
        for i in d["Opportunities.csv"]["owner_unmatched"]
    )
    assert all(len(activities[i]["Subject"]) > 200 for i in d["Activities.csv"]["subject_too_long"])
    assert all(activities[i]["Subject"] == "" for i in d["Activities.csv"]["blank_subject"])
    assert all(
        notes[i]["Title"] == "" and notes[i]["Note Content"] == ""
        for i in d["Notes.csv"]["blank_title_and_content"]
    )
    assert all(
        not re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", notes[i]["Created Time"])
        for i in d["Notes.csv"]["date_variant"]
    )


def test_company_references_and_duplicates_behave_as_labelled(
    export: tuple[Path, ExportSummary], records: dict[str, list[dict[str, str]]]
) -> None:
    _, summary = export
    d = summary.defects["Contacts.csv"]
    companies = records["Companies.csv"]
    company_ids = {row["Record ID"] for row in companies}
    ids_by_normalised_name: defaultdict[str, set[str]] = defaultdict(set)
    for row in companies:
        ids_by_normalised_name[normalised_company(row["Company Name"])].add(row["Record ID"])
    contacts = by_id(records["Contacts.csv"])

    for i in d["unknown_company_id"]:
        assert contacts[i]["Company ID"] and contacts[i]["Company ID"] not in company_ids
    for i in d["blank_company"]:
        assert contacts[i]["Company ID"] == contacts[i]["Company Name"] == ""
    for i in d["company_name_only"]:
        assert contacts[i]["Company ID"] == ""
        assert ids_by_normalised_name[normalised_company(contacts[i]["Company Name"])]
    for i in summary.defects["Companies.csv"]["duplicate_variant_spelling"]:
        duplicate = by_id(companies)[i]
        same_name = ids_by_normalised_name[normalised_company(duplicate["Company Name"])]
        assert len(same_name) >= 2, duplicate["Company Name"]
    referenced = {row["Company ID"] for row in records["Contacts.csv"]}
    assert referenced & set(summary.defects["Companies.csv"]["duplicate_variant_spelling"])

    people = Counter((r["First Name"], r["Last Name"], r["Email"]) for r in records["Contacts.csv"])
    for i in d["duplicate_person"]:
        row = contacts[i]
        assert people[(row["First Name"], row["Last Name"], row["Email"])] >= 2
    names_by_email: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in records["Contacts.csv"]:
        names_by_email[row["Email"]].add((row["First Name"], row["Last Name"]))
    assert any(len(names_by_email[contacts[i]["Email"]]) >= 2 for i in d["shared_email"])


def test_rows_look_like_a_uk_crm(records: dict[str, list[dict[str, str]]]) -> None:
    companies = records["Companies.csv"]
    clean = [r for r in companies if r["Company Name"] and len(r["Company Name"]) <= 160]
    assert all(r["Company Name"].strip().split()[-1].lower() in SUFFIX_WORDS for r in clean)
    assert all(
        re.fullmatch(r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}", r["Billing Postcode"]) for r in companies
    )
    mobiles = [r["Mobile"] for r in records["Contacts.csv"] if r["Mobile"]]
    assert all(m.startswith(("07700 900", "+44 7700 900")) for m in mobiles)
    assert any(r["Phone"].startswith("+44") for r in records["Contacts.csv"])
    assert all(r["Do Not Email"] in {"0", "1"} for r in records["Contacts.csv"])
    assert all(r["Activity Type"] in {"Call", "Meeting", "Task"} for r in records["Activities.csv"])


def test_notes_hold_multiline_quoted_text(export: tuple[Path, ExportSummary]) -> None:
    folder, _ = export
    contents = [r["Note Content"] for r in read_records(folder, "Notes.csv")]
    assert any("\r\n" in c for c in contents)
    assert any("\n" in c and "\r\n" not in c for c in contents)
    assert any('"' in c for c in contents)
    assert b'""' in (folder / "Notes.csv").read_bytes()  # quotes doubled on disk


def test_users_json_documents_who_exists_in_dataverse() -> None:
    document = json.loads(Path("sandbox/opencrm/users.json").read_text(encoding="utf-8"))
    states = Counter(user["dataverse"] for user in document["users"])
    assert states["absent"] >= 1 and states["disabled"] >= 1 and states["active"] >= 5
    assert all(u["email"].endswith("@contoso.example") for u in document["users"])
    names = {u["user_name"] for u in document["users"]}
    assert not names & set(document["unknown_user_names"])


@pytest.fixture(scope="module")
def delta(export: tuple[Path, ExportSummary], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = export
    out = tmp_path_factory.mktemp("opencrm") / "delta"
    make_delta(folder, out, seed=5)
    return out


def test_delta_is_deterministic(
    export: tuple[Path, ExportSummary], delta: Path, tmp_path: Path
) -> None:
    folder, _ = export
    make_delta(folder, tmp_path, seed=5)
    for spec in EXPORT_FILES:
        assert (tmp_path / spec.file_name).read_bytes() == (delta / spec.file_name).read_bytes()


@pytest.mark.parametrize(
    "file_name", ["Companies.csv", "Contacts.csv", "Activities.csv", "Notes.csv"]
)
def test_delta_adds_edits_and_deletes_a_few_percent(
    records: dict[str, list[dict[str, str]]], delta: Path, file_name: str
) -> None:
    id_column = "Note ID" if file_name == "Notes.csv" else "Record ID"
    base = by_id(records[file_name], id_column)
    newer = by_id(read_records(delta, file_name), id_column)
    deleted = base.keys() - newer.keys()
    added = newer.keys() - base.keys()
    edited = [i for i in base.keys() & newer.keys() if base[i] != newer[i]]
    total = len(base)
    assert 0.004 * total <= len(deleted) <= 0.02 * total
    assert 0.01 * total <= len(added) <= 0.03 * total
    assert 0.015 * total <= len(edited) <= 0.05 * total
    assert min(int(i) for i in added) > max(int(i) for i in base)

    def modified(row: dict[str, str]) -> datetime:
        return datetime.strptime(row["Modified Time"], "%d/%m/%Y %H:%M")

    latest_base = max(
        modified(row) for row in base.values() if is_uk_date(row["Modified Time"][:10])
    )
    assert all(modified(newer[i]) > latest_base for i in edited)
