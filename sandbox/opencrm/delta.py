"""A newer OpenCRM export from an older one: the files an operator re-exports at cutover.

About 1% of records disappear (deleted in OpenCRM), 3% change (new values, a later Modified
Time) and 2% are new (fresh ids after the highest existing one); everything else is
byte-identical. Users are kept as they are. Files are streamed, so a delta of a 1M-contact
export fits in memory.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from sandbox.opencrm import pools as p
from sandbox.opencrm.generator import (
    ACTIVITIES,
    COMPANIES,
    CONTACTS,
    FILE_ENCODINGS,
    FILE_HEADERS,
    NOTES,
    OPPORTUNITIES,
    TIMES,
    USERS,
    ExportBuilder,
    GeneratorError,
    load_users,
    write_csv,
)

DELETE_SHARE = 0.01
EDIT_SHARE = 0.03
NEW_SHARE = 0.02
DELTA_WINDOW_DAYS = 14
MODULE_FILES = (COMPANIES, CONTACTS, OPPORTUNITIES, ACTIVITIES, NOTES)
_TOWN_INDEX = {town: index for index, (town, _, _) in reversed(list(enumerate(p.TOWNS)))}
_STAGE_ORDER = [stage for stage, _ in p.SALES_STAGES]
_STAGE_PROBABILITY = dict(p.SALES_STAGES)
_CLOSED_STAGES = ("Closed Won", "Closed Lost")


def read_rows(path: Path, file_name: str) -> Iterator[list[str]]:
    """The records of one export file (header skipped)."""
    with path.open("r", encoding=FILE_ENCODINGS[file_name], newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.lstrip("\ufeff") for h in header] != list(FILE_HEADERS[file_name]):
            raise GeneratorError(
                f"{path} is not an OpenCRM {file_name} export written by this stand-in"
            )
        yield from reader


def _parse_uk_datetime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%d/%m/%Y %H:%M")
    except ValueError:
        return None


def base_export_moment(base_dir: Path) -> datetime:
    """The latest well-formed Modified Time in the base export: when it was taken."""
    latest = datetime(2000, 1, 1)
    for file_name in MODULE_FILES:
        column = FILE_HEADERS[file_name].index("Modified Time")
        for row in read_rows(base_dir / file_name, file_name):
            stamp = _parse_uk_datetime(row[column])
            if stamp is not None and stamp > latest:
                latest = stamp
    return latest


class DeltaEditor:
    """Chooses which base rows to drop or change, and how to change them."""

    def __init__(
        self, rng: random.Random, builder: ExportBuilder, after: date, until: date
    ) -> None:
        self.rng = rng
        self.builder = builder
        self.after = after
        self.window_days = (until - after).days

    def later_modified_time(self) -> str:
        day = self.after + timedelta(days=1 + int(self.rng.random() * self.window_days))
        return f"{day:%d/%m/%Y} {self.builder.pick(TIMES)}"

    def fate(self) -> str:
        roll = self.rng.random()
        if roll < DELETE_SHARE:
            return "delete"
        if roll < DELETE_SHARE + EDIT_SHARE:
            return "edit"
        return "keep"

    def edit(self, file_name: str, row: list[str]) -> list[str]:
        edited = list(row)
        header = FILE_HEADERS[file_name]
        b = self.builder
        if file_name == COMPANIES:
            edited[header.index("Phone")] = b.landline()
            edited[header.index("Description")] = b.pick(p.COMPANY_DESCRIPTIONS[2:])
            edited[header.index("Assigned To")] = b.pick(b.owners)
        elif file_name == CONTACTS:
            edited[header.index("Job Title")] = b.pick(p.JOB_TITLES[:-1])
            edited[header.index("Phone")] = b.landline()
            edited[header.index("Mobile")] = b.mobile()
        elif file_name == OPPORTUNITIES:
            stage_column = header.index("Sales Stage")
            current = edited[stage_column]
            if current not in _CLOSED_STAGES:  # an open deal moves one stage on
                position = _STAGE_ORDER.index(current) if current in _STAGE_ORDER else 0
                new_stage = _STAGE_ORDER[position + 1]
                edited[stage_column] = new_stage
                edited[header.index("Probability")] = str(_STAGE_PROBABILITY[new_stage])
            edited[header.index("Next Step")] = b.pick(p.NEXT_STEPS[1:])
        elif file_name == ACTIVITIES:
            activity_type = edited[header.index("Activity Type")]
            edited[header.index("Status")] = "Completed" if activity_type == "Task" else "Held"
            edited[header.index("Description")] = b.pick(p.ACTIVITY_DESCRIPTIONS[2:])
        elif file_name == NOTES:
            content = header.index("Note Content")
            edited[content] = (edited[content] + "\n" + b.pick(p.NOTE_LINES)).lstrip("\n")
        edited[header.index("Modified Time")] = self.later_modified_time()
        if edited == row:  # every value happened to be redrawn unchanged: still a newer edit
            edited[header.index("Modified Time")] = self.later_modified_time()
        return edited


def _remember_base_row(builder: ExportBuilder, file_name: str, row: list[str]) -> None:
    """Let new records refer to surviving base records, as they would in OpenCRM."""
    if file_name == COMPANIES:
        website = row[13]
        domain = website.removeprefix("www.") or "example.co.uk"
        builder.remember_company(int(row[0]), row[1], domain, _TOWN_INDEX.get(row[15], 0))
        core = row[1].rsplit(" ", 1)[0].strip().lower()
        builder.company_names_in_use.add(core)
    elif file_name == CONTACTS:
        company_id = int(row[3]) if row[3].isdigit() else 0
        builder.contacts.ids.append(int(row[0]))
        builder.contacts.company_ids.append(company_id)
        builder.emails_in_use.add(row[7])
    elif file_name == OPPORTUNITIES:
        contact_id = int(row[8]) if row[8].isdigit() else 0
        builder.opportunities.ids.append(int(row[0]))
        builder.opportunities.contact_ids.append(contact_id)


def _max_ids(base_dir: Path) -> tuple[int, int]:
    max_record_id = 0
    for file_name in (COMPANIES, CONTACTS, OPPORTUNITIES, ACTIVITIES):
        for row in read_rows(base_dir / file_name, file_name):
            max_record_id = max(max_record_id, int(row[0]))
    max_note_id = max((int(row[0]) for row in read_rows(base_dir / NOTES, NOTES)), default=0)
    return max_record_id, max_note_id


def make_delta(
    base_dir: Path, out_dir: Path, seed: int = 43, defect_rate: float = 0.05
) -> dict[str, int]:
    """Write a newer export of ``base_dir`` into ``out_dir``; return the records per file."""
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    if base_dir.resolve() == out_dir.resolve():
        raise GeneratorError("the delta must go to another folder than its base export")
    out_dir.mkdir(parents=True, exist_ok=True)
    taken_at = base_export_moment(base_dir).date()
    delta_date = taken_at + timedelta(days=DELTA_WINDOW_DAYS)
    max_record_id, max_note_id = _max_ids(base_dir)
    builder = ExportBuilder(
        seed,
        defect_rate,
        load_users(),
        next_record_id=max_record_id + 1,
        next_note_id=max_note_id + 1,
        export_date=delta_date,
    )
    builder.first_created_day = builder.calendar.index_of(taken_at) + 1
    editor = DeltaEditor(random.Random(seed ^ 0x5EED), builder, taken_at, delta_date)
    new_rows = {
        COMPANIES: builder.company_rows,
        CONTACTS: builder.contact_rows,
        OPPORTUNITIES: builder.opportunity_rows,
        ACTIVITIES: builder.activity_rows,
        NOTES: builder.note_rows,
    }
    counts: dict[str, int] = {}
    for file_name in MODULE_FILES:
        rows = _delta_rows(base_dir / file_name, file_name, editor, new_rows[file_name])
        counts[file_name] = _write_counted(out_dir / file_name, file_name, rows)
    users = list(read_rows(base_dir / USERS, USERS))
    write_csv(out_dir / USERS, FILE_ENCODINGS[USERS], FILE_HEADERS[USERS], users)
    counts[USERS] = len(users)
    return counts


def _delta_rows(
    base_path: Path,
    file_name: str,
    editor: DeltaEditor,
    new_rows: Callable[[int], Iterator[list[str]]],
) -> Iterator[list[str]]:
    """Base rows kept, edited or dropped in file order, then the new records."""
    base_count = 0
    for row in read_rows(base_path, file_name):
        base_count += 1
        fate = editor.fate()
        if fate == "delete":
            continue
        kept = editor.edit(file_name, row) if fate == "edit" else row
        _remember_base_row(editor.builder, file_name, kept)
        yield kept
    yield from new_rows(max(1, round(base_count * NEW_SHARE)))


def _write_counted(path: Path, file_name: str, rows: Iterator[list[str]]) -> int:
    count = 0

    def counted() -> Iterator[list[str]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    write_csv(path, FILE_ENCODINGS[file_name], FILE_HEADERS[file_name], counted())
    return count
