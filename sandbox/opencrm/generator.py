"""Deterministic generator of OpenCRM CSV exports (the OpenCRM stand-in).

Same seed and arguments → byte-identical files. Sizes scale with the number of contacts:
companies ≈ contacts/4, opportunities ≈ contacts/2, activities ≈ contacts×1.5, notes ≈ contacts/2,
users fixed (``users.json``).

Defects: each defect *kind* hits about ``defect_rate`` of the rows it applies to. Kinds that
touch the same field form a group and are mutually exclusive (one draw per group), so every kind
keeps its rate and the manifest (``ExportSummary.defects``) names exactly one kind per field.
Duplicate companies and duplicate people are *extra* records (own ids), so a file holds slightly
more rows than its nominal size. The encodings (Companies cp1252, Contacts UTF-8 with BOM) and
multi-line quoted notes are not rate-driven: they are how OpenCRM exports look.
"""

from __future__ import annotations

import csv
import json
import math
import random
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from sandbox.opencrm import pools as p

COMPANIES = "Companies.csv"
CONTACTS = "Contacts.csv"
OPPORTUNITIES = "Opportunities.csv"
ACTIVITIES = "Activities.csv"
NOTES = "Notes.csv"
USERS = "Users.csv"

FILE_HEADERS: dict[str, tuple[str, ...]] = {
    COMPANIES: (
        "Record ID", "Company Name", "Type", "Industry", "Legal Format", "Employees",
        "Annual Revenue", "Company Number", "VAT Number", "Member Of", "Email", "Phone", "Fax",
        "Website", "Billing Street", "Billing City", "Billing County", "Billing Postcode",
        "Billing Country", "Do Not Phone", "Do Not Email", "Description", "Assigned To",
        "Created Time", "Modified Time", "cf_601", "cf_602",
    ),
    CONTACTS: (
        "Record ID", "First Name", "Last Name", "Company ID", "Company Name", "Job Title",
        "Department", "Email", "Other Email", "Phone", "Mobile", "Home Phone", "Mailing Street",
        "Mailing City", "Mailing County", "Mailing Postcode", "Mailing Country", "Birthday",
        "Do Not Email", "Do Not Phone", "Lead Source", "Description", "Assigned To",
        "Created Time", "Modified Time", "cf_701", "cf_702",
    ),
    OPPORTUNITIES: (
        "Record ID", "Opportunity Name", "Type", "Sales Stage", "Pipeline", "Lead Source",
        "Next Step", "Company ID", "Contact ID", "Amount", "Probability", "Expected Close Date",
        "Description", "Assigned To", "Created Time", "Modified Time", "cf_801",
    ),
    ACTIVITIES: (
        "Record ID", "Activity Type", "Subject", "Status", "Priority", "Start Date", "Due Date",
        "Duration (Hours)", "Related Module", "Related To ID", "Contact ID", "Location",
        "Call Outcome", "Description", "Assigned To", "Created Time", "Modified Time",
    ),
    NOTES: (
        "Note ID", "Title", "Note Content", "Related Module", "Related To ID", "Created By",
        "Created Time", "Modified Time", "Attachment Filename",
    ),
    USERS: ("User ID", "User Name", "First Name", "Last Name", "Email", "Status"),
}  # fmt: skip

FILE_ENCODINGS: dict[str, str] = {
    COMPANIES: "cp1252",
    CONTACTS: "utf-8-sig",
    OPPORTUNITIES: "utf-8",
    ACTIVITIES: "utf-8",
    NOTES: "utf-8",
    USERS: "utf-8",
}

# Defect kinds per file, grouped by the field they touch (one draw per group).
DEFECT_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    COMPANIES: (
        ("duplicate_variant_spelling",),
        ("name_too_long", "blank_company_name", "whitespace"),
        ("money_variant",),
        ("date_variant", "impossible_date"),
        ("owner_unmatched",),
        ("phone_extension",),
    ),
    CONTACTS: (
        ("blank_company", "unknown_company_id", "company_name_only"),
        ("invalid_email", "shared_email", "email_too_long"),
        ("duplicate_person",),
        ("first_name_too_long", "whitespace"),
        ("blank_last_name",),
        ("date_variant", "impossible_date"),
        ("owner_unmatched",),
        ("phone_extension",),
    ),
    OPPORTUNITIES: (
        ("unmapped_stage",),
        ("money_variant",),
        ("date_variant", "impossible_date"),
        ("owner_unmatched",),
    ),
    ACTIVITIES: (
        ("subject_too_long", "blank_subject", "whitespace"),
        ("date_variant", "impossible_date"),
        ("owner_unmatched",),
    ),
    NOTES: (
        ("blank_title_and_content",),
        ("date_variant",),
        ("owner_unmatched",),
    ),
}
MAX_DEFECT_RATE = 1 / max(len(g) for groups in DEFECT_GROUPS.values() for g in groups)

FIRST_RECORD_ID = 10001
UNKNOWN_COMPANY_ID_BASE = 90_000_000  # never allocated: "unknown Company ID" defects point here
CALENDAR_START = date(2016, 1, 4)
EXPORT_DATE = date(2024, 6, 28)
BIRTHDAY_START = date(1955, 1, 1)
BIRTHDAY_END = date(2003, 12, 31)
IMPOSSIBLE_DATES = (
    "31/02/2021",
    "30/02/2019",
    "31/04/2022",
    "29/02/2023",
    "31/06/2020",
    "00/01/2020",
)
INVALID_EMAIL_FORMS = ("{local}@", "n/a", "a@@b.com", "{local}@@{domain}", "{local} @{domain}", "-")
LANDLINE_PREFIXES: tuple[tuple[str, str], ...] = (
    # Ofcom ranges reserved for drama/fiction, so no real subscriber is ever generated.
    ("020 7946 0", "+44 (0)20 7946 0"), ("0113 496 0", "+44 113 496 0"),
    ("0161 496 0", "+44 161 496 0"), ("0121 496 0", "+44 121 496 0"),
    ("0117 496 0", "+44 117 496 0"), ("0131 496 0", "+44 131 496 0"),
    ("0141 496 0", "+44 141 496 0"), ("029 2018 0", "+44 29 2018 0"),
    ("01632 960", "+44 1632 960"), ("028 9018 0", "+44 28 9018 0"),
)  # fmt: skip
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
PERSONAL_DOMAINS = ("btinternet.com", "gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk")


class GeneratorError(Exception):
    """Raised for arguments the generator cannot honour."""


@dataclass
class ExportSummary:
    """What one generation wrote: rows per file and, per file, the record ids of each defect."""

    rows: dict[str, int]
    defects: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "defects": self.defects}, indent=1, sort_keys=True)


@dataclass(frozen=True)
class User:
    user_id: int
    user_name: str
    first_name: str
    last_name: str
    email: str
    status: str
    dataverse: str
    owner_weight: str


@dataclass(frozen=True)
class UserDirectory:
    users: tuple[User, ...]
    unknown_user_names: tuple[str, ...]

    @property
    def normal_owners(self) -> tuple[str, ...]:
        return tuple(u.user_name for u in self.users if u.owner_weight == "normal")

    @property
    def unmatched_owners(self) -> tuple[str, ...]:
        defect_users = tuple(u.user_name for u in self.users if u.owner_weight == "defect")
        return defect_users + self.unknown_user_names


def load_users(path: Path | None = None) -> UserDirectory:
    """The canonical OpenCRM users (``users.json`` beside this module)."""
    source = path or Path(__file__).with_name("users.json")
    document = json.loads(source.read_text(encoding="utf-8"))
    users = tuple(User(**entry) for entry in document["users"])
    return UserDirectory(users, tuple(document["unknown_user_names"]))


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: 'Zoë O’Brien' → 'zoeobrien'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class Calendar:
    """Precomputed date strings so rows never format dates one by one."""

    def __init__(self, start: date, end: date) -> None:
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        self.uk = [d.strftime("%d/%m/%Y") for d in days]
        self.uk_short = [d.strftime("%d/%m/%y") for d in days]
        self.iso = [d.isoformat() for d in days]
        self.start = start

    def index_of(self, day: date) -> int:
        return (day - self.start).days

    def __len__(self) -> int:
        return len(self.uk)


TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(7, 20) for m in range(0, 60, 5))


def write_csv(path: Path, encoding: str, header: Iterable[str], rows: Iterable[list[str]]) -> None:
    """RFC 4180 with CRLF records, like an Excel-friendly CRM export."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


class CountingWriter:
    """Counts the rows it passes through to the csv writer."""

    def __init__(self, rows: Iterable[list[str]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[list[str]]:
        for row in self._rows:
            self.count += 1
            yield row


@dataclass
class CompanyPool:
    """The companies written so far: what contacts, deals and notes refer to."""

    ids: array = field(default_factory=lambda: array("q"))
    names: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    towns: array = field(default_factory=lambda: array("h"))


@dataclass
class ContactPool:
    ids: array = field(default_factory=lambda: array("q"))
    company_ids: array = field(default_factory=lambda: array("q"))  # 0 = no company


@dataclass
class OpportunityPool:
    ids: array = field(default_factory=lambda: array("q"))
    contact_ids: array = field(default_factory=lambda: array("q"))


class ExportBuilder:
    """Builds the rows of one export; holds the random stream and the pools rows refer to."""

    def __init__(
        self,
        seed: int,
        defect_rate: float,
        users: UserDirectory,
        *,
        next_record_id: int = FIRST_RECORD_ID,
        next_note_id: int = 1,
        export_date: date = EXPORT_DATE,
    ) -> None:
        if not 0.0 <= defect_rate <= MAX_DEFECT_RATE:
            raise GeneratorError(
                f"defect rate must be between 0 and {MAX_DEFECT_RATE:.3f}, got {defect_rate}"
            )
        self.rng = random.Random(seed)
        self.rand: Callable[[], float] = self.rng.random
        self.rate = defect_rate
        self.users = users
        self.owners = users.normal_owners
        self.bad_owners = users.unmatched_owners
        self.next_record_id = next_record_id
        self.next_note_id = next_note_id
        self.calendar = Calendar(CALENDAR_START, export_date + timedelta(days=400))
        self.export_day = self.calendar.index_of(export_date)
        self.birthdays = Calendar(BIRTHDAY_START, BIRTHDAY_END)
        self.companies = CompanyPool()
        self.contacts = ContactPool()
        self.opportunities = OpportunityPool()
        self.defects: dict[str, dict[str, list[str]]] = {}
        self.emails_in_use: set[str] = set()
        self.company_names_in_use: set[str] = set()
        self._prefixes = (
            tuple(p.LAST_NAMES) + p.PARTNER_PAIRS + p.BRAND_WORDS + tuple(t[0] for t in p.TOWNS)
        )
        self._prefix_slugs = tuple(ascii_slug(x) for x in self._prefixes)
        self._trade_slugs = tuple(ascii_slug(x) for x in p.TRADES)
        self._town_names = tuple(dict.fromkeys(t[0] for t in p.TOWNS))
        self._name_space = len(self._prefixes) * len(p.TRADES)
        self._name_stride = _coprime_stride(self._name_space, 7919)
        self._name_offset = self.rng.randrange(self._name_space)
        self._name_counter = 0
        self._last_person: tuple[str, str, str] | None = None
        self.last_created_day = 0
        self.first_created_day = 0  # a delta creates its new records after the base export

    # -- small random helpers -------------------------------------------------------------------

    def pick(self, pool: tuple[str, ...] | list[str]) -> str:
        return pool[int(self.rand() * len(pool))]

    def chance(self, probability: float) -> bool:
        return self.rand() < probability

    def digits(self, count: int) -> str:
        return f"{int(self.rand() * 10**count):0{count}d}"

    def draw_defect(self, kinds: tuple[str, ...]) -> str | None:
        if self.rate <= 0.0:
            return None
        slot = int(self.rand() / self.rate)
        return kinds[slot] if slot < len(kinds) else None

    def draw_defects(self, file_name: str) -> list[str | None]:
        return [self.draw_defect(kinds) for kinds in DEFECT_GROUPS[file_name]]

    def note_defect(self, file_name: str, kind: str, record_id: int | str) -> None:
        self.defects.setdefault(file_name, {}).setdefault(kind, []).append(str(record_id))

    def allocate_record_id(self) -> int:
        record_id = self.next_record_id
        self.next_record_id += 1
        return record_id

    # -- shared field builders ------------------------------------------------------------------

    def created_and_modified(self) -> tuple[int, str, str]:
        """A creation day in the calendar and the created/modified date-time strings."""
        first = self.first_created_day
        created = first + int(self.rand() * (self.export_day - first))
        self.last_created_day = created
        modified = created + int(self.rand() * (self.export_day - created))
        uk = self.calendar.uk
        return created, f"{uk[created]} {self.pick(TIMES)}", f"{uk[modified]} {self.pick(TIMES)}"

    def variant_date(self, day: int, with_time: bool) -> str:
        """A valid date in a format other than dd/mm/yyyy (2-digit year or ISO)."""
        time_part = f" {self.pick(TIMES)}" if with_time else ""
        if self.chance(0.5):
            return self.calendar.uk_short[day] + time_part
        return self.calendar.iso[day] + (time_part.replace(" ", "T") + ":00" if with_time else "")

    def impossible_date(self, with_time: bool) -> str:
        return self.pick(IMPOSSIBLE_DATES) + (f" {self.pick(TIMES)}" if with_time else "")

    def money(self, pounds: int) -> str:
        return f"£{pounds:,}.00"

    def money_variant(self, pounds: int) -> str:
        form = int(self.rand() * 4)
        if form == 0:
            return str(pounds)
        if form == 1:
            return f"£{pounds:,}"
        if form == 2:
            return f"-£{max(pounds // 25, 50):,}.00"
        return f"{pounds:,}.{int(self.rand() * 100):02d}"

    def landline(self) -> str:
        national, international = self.pick(LANDLINE_PREFIXES)
        return (international if self.chance(0.2) else national) + self.digits(3)

    def mobile(self) -> str:
        return ("+44 7700 900" if self.chance(0.2) else "07700 900") + self.digits(3)

    def with_extension(self, phone: str) -> str:
        return (
            phone
            + self.pick((" ext. ", " x", " ext ", " (ext) "))
            + str(10 + int(self.rand() * 890))
        )

    def padded(self, text: str) -> str:
        """Leading/trailing spaces or a non-breaking space pasted in from a web page."""
        form = int(self.rand() * 3)
        if form == 0:
            return f" {text}  "
        if form == 1 and " " in text:
            return text.replace(" ", "\u00a0", 1)
        return f"{text}\u00a0"

    def owner(self, defect: str | None) -> str:
        return self.pick(self.bad_owners) if defect == "owner_unmatched" else self.pick(self.owners)

    def street(self) -> str:
        number = str(1 + int(self.rand() * 240))
        line = f"{number} {self.pick(p.STREET_NAMES)} {self.pick(p.STREET_TYPES)}"
        if self.chance(0.15):
            return (
                f"{self.pick(p.BUILDING_NAMES)}\n{line}"  # two-line street, as OpenCRM exports it
            )
        return line

    def postcode(self, area: str) -> str:
        letters = POSTCODE_LETTERS
        n = len(letters)
        district = 1 + int(self.rand() * 20)
        inward = (
            f"{int(self.rand() * 10)}{letters[int(self.rand() * n)]}{letters[int(self.rand() * n)]}"
        )
        return f"{area}{district} {inward}"

    # -- companies ------------------------------------------------------------------------------

    def next_company_identity(self) -> tuple[str, str]:
        """A company name unique after normalisation (suffix aside), and its web domain."""
        while True:
            index = self._name_counter
            self._name_counter += 1
            slot = (index * self._name_stride + self._name_offset) % self._name_space
            prefix_index, trade_index = divmod(slot, len(p.TRADES))
            round_number = index // self._name_space
            qualifier, qualifier_slug = "", ""
            if round_number:
                town = self._town_names[(round_number - 1) % len(self._town_names)]
                lap = (round_number - 1) // len(self._town_names)
                qualifier = f" ({town}{'' if lap == 0 else f' {lap + 1}'})"
                qualifier_slug = ascii_slug(qualifier)
            core = f"{self._prefixes[prefix_index]} {p.TRADES[trade_index]}{qualifier}"
            if core.lower() in self.company_names_in_use:
                continue  # only in a delta, whose base used other name slots
            self.company_names_in_use.add(core.lower())
            domain = f"{self._prefix_slugs[prefix_index]}{self._trade_slugs[trade_index]}"
            return f"{core} {self.pick(p.COMPANY_SUFFIXES)}", f"{domain}{qualifier_slug}.co.uk"

    def variant_spelling(self, name: str) -> str:
        """Another spelling of the same company: suffix, case, '&'/'and', trailing full stop."""
        candidates = []
        if " & " in name:
            candidates.append(name.replace(" & ", " and "))
        if " and " in name:
            candidates.append(name.replace(" and ", " & "))
        for short, long in (
            ("Ltd", "Limited"),
            ("Limited", "Ltd"),
            ("PLC", "plc"),
            ("LLP", "L.L.P."),
        ):
            if name.endswith(" " + short):
                candidates.append(name[: -len(short)] + long)
        if name.endswith("Ltd"):
            candidates.append(name + ".")
        first, _, rest = name.partition(" ")
        candidates.append(f"{first.upper()} {rest}")
        candidates.append(name.lower())
        return self.pick(candidates)

    def company_rows(self, count: int) -> Iterator[list[str]]:
        for _ in range(count):
            yield from self.company_with_duplicates()

    def company_with_duplicates(self) -> Iterator[list[str]]:
        dup, name_defect, money_defect, date_defect, owner_defect, phone_defect = self.draw_defects(
            COMPANIES
        )
        if name_defect in ("name_too_long", "blank_company_name"):
            dup = None  # a duplicate must still match its original by normalised name
        record_id = self.allocate_record_id()
        name, domain = self.next_company_identity()
        town_index = int(self.rand() * len(p.TOWNS))
        row = self.company_row(record_id, name, domain, town_index)
        created_day = self.last_created_day
        self.apply_company_defects(
            row, created_day, (name_defect, money_defect, date_defect, owner_defect, phone_defect)
        )
        # contacts show the company's name as OpenCRM holds it, defects included
        self.remember_company(record_id, row[1], domain, town_index)
        yield row
        if dup:
            duplicate_id = self.allocate_record_id()
            duplicate = list(row)
            duplicate[0] = str(duplicate_id)
            duplicate[1] = self.variant_spelling(name)
            _, duplicate[23], duplicate[24] = self.created_and_modified()
            duplicate[22] = self.pick(self.owners)
            self.remember_company(duplicate_id, duplicate[1], domain, town_index)
            self.note_defect(COMPANIES, dup, duplicate_id)
            yield duplicate

    def remember_company(self, record_id: int, name: str, domain: str, town_index: int) -> None:
        self.companies.ids.append(record_id)
        self.companies.names.append(name)
        self.companies.domains.append(domain)
        self.companies.towns.append(town_index)

    def company_row(self, record_id: int, name: str, domain: str, town_index: int) -> list[str]:
        town, county, area = p.TOWNS[town_index]
        employees = int(math.exp(self.rand() * 7.5))
        revenue = employees * (40_000 + int(self.rand() * 80_000))
        parent = ""
        if self.companies.ids and self.chance(0.05):
            parent = str(self.companies.ids[int(self.rand() * len(self.companies.ids))])
        created_day, created, modified = self.created_and_modified()
        customer_since = self.calendar.uk[int(self.rand() * (created_day + 1))]
        return [
            str(record_id),
            name,
            self.pick(p.COMPANY_TYPES),
            self.pick(p.INDUSTRIES),
            self.pick(p.LEGAL_FORMATS),
            str(employees),
            self.money(revenue),
            ("SC" + self.digits(6))
            if county in {"Midlothian", "Lanarkshire"}
            else "0" + self.digits(7),
            "GB" + self.digits(9) if self.chance(0.7) else "",
            parent,
            f"{self.pick(('info', 'accounts', 'hello', 'enquiries', 'office'))}@{domain}",
            self.landline(),
            self.landline() if self.chance(0.1) else "",
            f"www.{domain}",
            self.street(),
            town,
            county,
            self.postcode(area),
            "United Kingdom",
            "1" if self.chance(0.08) else "0",
            "1" if self.chance(0.05) else "0",
            self.pick(p.COMPANY_DESCRIPTIONS),
            self.pick(self.owners),
            created,
            modified,
            self.pick(p.SIC_CODES),
            customer_since,
        ]

    def apply_company_defects(
        self,
        row: list[str],
        created_day: int,
        defects: tuple[str | None, ...],
    ) -> None:
        name_defect, money_defect, date_defect, owner_defect, phone_defect = defects
        if name_defect == "name_too_long":
            other = f"{self.pick(p.BRAND_WORDS)} {self.pick(p.TRADES)}"
            other2 = f"{self.pick(p.LAST_NAMES)} & {self.pick(p.LAST_NAMES)}"
            row[1] = row[1] + p.LONG_COMPANY_TAIL.format(other=other, other2=other2)
        elif name_defect == "blank_company_name":
            row[1] = ""
        elif name_defect == "whitespace":
            row[1] = self.padded(row[1])
        if money_defect:
            row[6] = self.money_variant(int(row[5]) * 50_000)
        if date_defect == "date_variant":
            row[26] = self.variant_date(int(self.rand() * (created_day + 1)), with_time=False)
        elif date_defect == "impossible_date":
            row[26] = self.impossible_date(with_time=False)
        if owner_defect:
            row[22] = self.owner(owner_defect)
        if phone_defect:
            row[11] = self.with_extension(row[11])
        for kind in defects:
            if kind:
                self.note_defect(COMPANIES, kind, row[0])

    # -- contacts -------------------------------------------------------------------------------

    def unique_email(self, first: str, last: str, domain: str) -> str:
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        email = f"{local}@{domain}"
        suffix = 2
        while email in self.emails_in_use:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        self.emails_in_use.add(email)
        return email

    def contact_rows(self, count: int) -> Iterator[list[str]]:
        for _ in range(count):
            yield from self.contact_with_duplicates()

    def contact_with_duplicates(self) -> Iterator[list[str]]:
        defects = self.draw_defects(CONTACTS)
        (
            company_defect,
            email_defect,
            dup,
            name_defect,
            last_defect,
            date_defect,
            owner_defect,
            phone_defect,
        ) = defects
        record_id = self.allocate_record_id()
        company_slot = int(self.rand() * len(self.companies.ids))
        row = self.contact_row(
            record_id, company_slot, without_company=company_defect == "blank_company"
        )
        company_id = self.companies.ids[company_slot] if company_defect != "blank_company" else 0
        self.apply_contact_defects(row, company_slot, defects)
        self.contacts.ids.append(record_id)
        self.contacts.company_ids.append(company_id)
        self._last_person = (row[1], row[2], row[7])
        yield row
        if dup:
            duplicate_id = self.allocate_record_id()
            duplicate = list(row)
            duplicate[0] = str(duplicate_id)
            duplicate[5] = self.pick(p.JOB_TITLES)
            duplicate[9] = self.landline()
            _, duplicate[23], duplicate[24] = self.created_and_modified()
            self.contacts.ids.append(duplicate_id)
            self.contacts.company_ids.append(company_id)
            self.note_defect(CONTACTS, dup, duplicate_id)
            yield duplicate

    def contact_row(self, record_id: int, company_slot: int, without_company: bool) -> list[str]:
        first, last = self.pick(p.FIRST_NAMES), self.pick(p.LAST_NAMES)
        companies = self.companies
        if without_company:
            company_id, company_name = "", ""
            domain = self.pick(PERSONAL_DOMAINS)
            town_index = int(self.rand() * len(p.TOWNS))
        else:
            company_id = str(companies.ids[company_slot])
            company_name = companies.names[company_slot]
            domain = companies.domains[company_slot]
            town_index = companies.towns[company_slot]
        town, county, area = p.TOWNS[town_index]
        created_day, created, modified = self.created_and_modified()
        birthday = ""
        if self.chance(0.3):
            birthday = self.birthdays.uk[int(self.rand() * len(self.birthdays))]
        other_email = ""
        if self.chance(0.1):
            personal_domain = self.pick(PERSONAL_DOMAINS)
            other_email = f"{ascii_slug(first)}{ascii_slug(last)}{self.digits(2)}@{personal_domain}"
        return [
            str(record_id),
            first,
            last,
            company_id,
            company_name,
            self.pick(p.JOB_TITLES),
            self.pick(p.DEPARTMENTS),
            self.unique_email(first, last, domain),
            other_email,
            self.landline(),
            self.mobile() if self.chance(0.7) else "",
            self.landline() if self.chance(0.1) else "",
            self.street(),
            town,
            county,
            self.postcode(area),
            "United Kingdom",
            birthday,
            "1" if self.chance(0.05) else "0",
            "1" if self.chance(0.05) else "0",
            self.pick(p.LEAD_SOURCES),
            self.pick(p.CONTACT_DESCRIPTIONS),
            self.pick(self.owners),
            created,
            modified,
            self.pick(p.CONTACT_METHODS),
            "1" if self.chance(0.4) else "0",
        ]

    def apply_contact_defects(
        self, row: list[str], company_slot: int, defects: list[str | None]
    ) -> None:
        (
            company_defect,
            email_defect,
            _,
            name_defect,
            last_defect,
            date_defect,
            owner_defect,
            phone_defect,
        ) = defects
        if company_defect == "unknown_company_id":
            row[3] = str(UNKNOWN_COMPANY_ID_BASE + int(self.rand() * 1_000_000))
            row[4] = ""
        elif company_defect == "company_name_only" and row[4].strip():
            row[3] = ""
            if self.chance(0.5):
                row[4] = self.variant_spelling(row[4])
        elif company_defect == "company_name_only":
            defects[0] = None  # the company has no name to match on: keep its id
        local = row[7].partition("@")[0]
        domain = row[7].partition("@")[2]
        if email_defect == "invalid_email":
            row[7] = self.pick(INVALID_EMAIL_FORMS).format(local=local, domain=domain)
        elif email_defect == "shared_email":
            if self._last_person is None:
                defects[1] = None  # nobody to share with yet
            else:
                row[7] = self._last_person[2]
        elif email_defect == "email_too_long":
            row[7] = f"{local}.accounts.payable.invoices.only.please.do.not.reply@{domain}"
            while len(row[7]) <= 100:
                row[7] = "finance." + row[7]
        if name_defect == "first_name_too_long":
            row[1] = f"{row[1]} {self.pick(p.LONG_NAME_REMARKS)}"
        elif name_defect == "whitespace":
            row[1] = self.padded(row[1])
            row[2] = self.padded(row[2])
        if last_defect:
            row[2] = ""
        if date_defect == "date_variant":
            row[17] = self.birthday_variant()
        elif date_defect == "impossible_date":
            row[17] = self.impossible_date(with_time=False)
        if owner_defect:
            row[22] = self.owner(owner_defect)
        if phone_defect:
            row[9] = self.with_extension(row[9])
        for kind in defects:
            if kind and kind != "duplicate_person":
                self.note_defect(CONTACTS, kind, row[0])

    def birthday_variant(self) -> str:
        day = int(self.rand() * len(self.birthdays))
        return self.birthdays.uk_short[day] if self.chance(0.5) else self.birthdays.iso[day]

    # -- opportunities --------------------------------------------------------------------------

    def opportunity_rows(self, count: int) -> Iterator[list[str]]:
        for _ in range(count):
            yield self.opportunity_row()

    def opportunity_row(self) -> list[str]:
        stage_defect, money_defect, date_defect, owner_defect = self.draw_defects(OPPORTUNITIES)
        record_id = self.allocate_record_id()
        contact_slot = int(self.rand() * len(self.contacts.ids))
        contact_id = self.contacts.ids[contact_slot]
        company_id = self.contacts.company_ids[contact_slot]
        if company_id == 0:
            company_id = self.companies.ids[int(self.rand() * len(self.companies.ids))]
        stage, probability = p.SALES_STAGES[int(self.rand() * len(p.SALES_STAGES))]
        created_day, created, modified = self.created_and_modified()
        close_day = created_day + 14 + int(self.rand() * 180)
        amount = 500 + int(self.rand() * self.rand() * 60_000)
        row = [
            str(record_id),
            f"{self.pick(p.OPPORTUNITY_PRODUCTS)} {self.calendar.uk[close_day][6:]}",
            self.pick(p.OPPORTUNITY_TYPES),
            stage,
            self.pick(p.PIPELINES),
            self.pick(p.LEAD_SOURCES),
            self.pick(p.NEXT_STEPS),
            str(company_id),
            str(contact_id),
            self.money(amount),
            str(probability),
            self.calendar.uk[close_day],
            "",
            self.pick(self.owners),
            created,
            modified,
            self.pick(p.COMPETITORS),
        ]
        if stage_defect:
            row[3] = self.pick(p.UNMAPPED_STAGES)
        if money_defect:
            row[9] = self.money_variant(amount)
        if date_defect == "date_variant":
            row[11] = self.variant_date(close_day, with_time=False)
        elif date_defect == "impossible_date":
            row[11] = self.impossible_date(with_time=False)
        if owner_defect:
            row[13] = self.owner(owner_defect)
        for kind in (stage_defect, money_defect, date_defect, owner_defect):
            if kind:
                self.note_defect(OPPORTUNITIES, kind, record_id)
        self.opportunities.ids.append(record_id)
        self.opportunities.contact_ids.append(contact_id)
        return row

    # -- activities -----------------------------------------------------------------------------

    def activity_rows(self, count: int) -> Iterator[list[str]]:
        for _ in range(count):
            yield self.activity_row()

    def related_record(self) -> tuple[str, int, int]:
        """(Related Module, Related To ID, Contact ID or 0) for an activity or note."""
        roll = self.rand()
        if roll < 0.25 and self.opportunities.ids:
            slot = int(self.rand() * len(self.opportunities.ids))
            return (
                "Opportunities",
                self.opportunities.ids[slot],
                self.opportunities.contact_ids[slot],
            )
        contact_slot = int(self.rand() * len(self.contacts.ids))
        contact_id = self.contacts.ids[contact_slot]
        company_id = self.contacts.company_ids[contact_slot]
        if roll < 0.5 and company_id:
            return "Companies", company_id, contact_id if self.chance(0.5) else 0
        return "Contacts", contact_id, contact_id

    def activity_row(self) -> list[str]:
        subject_defect, date_defect, owner_defect = self.draw_defects(ACTIVITIES)
        record_id = self.allocate_record_id()
        kind_roll = self.rand()
        if kind_roll < 0.45:
            activity_type, subject, status = (
                "Call",
                self.pick(p.CALL_SUBJECTS),
                self.pick(p.CALL_STATUSES),
            )
        elif kind_roll < 0.7:
            activity_type, subject, status = (
                "Meeting",
                self.pick(p.MEETING_SUBJECTS),
                self.pick(p.MEETING_STATUSES),
            )
        else:
            activity_type, subject, status = (
                "Task",
                self.pick(p.TASK_SUBJECTS),
                self.pick(p.TASK_STATUSES),
            )
        module, related_id, contact_id = self.related_record()
        created_day, created, modified = self.created_and_modified()
        start_day = min(created_day + int(self.rand() * 30), len(self.calendar) - 2)
        start_time = self.pick(TIMES)
        duration = self.pick(p.DURATIONS)
        end_minutes = int(start_time[:2]) * 60 + int(start_time[3:]) + int(float(duration) * 60)
        end_day = start_day + end_minutes // 1440
        end_minutes %= 1440
        row = [
            str(record_id),
            activity_type,
            subject,
            status,
            self.pick(p.PRIORITIES),
            f"{self.calendar.uk[start_day]} {start_time}",
            f"{self.calendar.uk[end_day]} {end_minutes // 60:02d}:{end_minutes % 60:02d}",
            duration,
            module,
            str(related_id),
            str(contact_id) if contact_id else "",
            self.pick(p.MEETING_LOCATIONS) if activity_type == "Meeting" else "",
            self.pick(p.CALL_OUTCOMES) if activity_type == "Call" and status == "Held" else "",
            self.pick(p.ACTIVITY_DESCRIPTIONS),
            self.pick(self.owners),
            created,
            modified,
        ]
        if subject_defect == "subject_too_long":
            row[2] = subject + p.LONG_SUBJECT_TAIL
        elif subject_defect == "blank_subject":
            row[2] = ""
        elif subject_defect == "whitespace":
            row[2] = self.padded(subject)
        if date_defect == "date_variant":
            row[5] = self.variant_date(start_day, with_time=True)
        elif date_defect == "impossible_date":
            row[5] = self.impossible_date(with_time=True)
        if owner_defect:
            row[14] = self.owner(owner_defect)
        for kind in (subject_defect, date_defect, owner_defect):
            if kind:
                self.note_defect(ACTIVITIES, kind, record_id)
        return row

    # -- notes ----------------------------------------------------------------------------------

    def note_rows(self, count: int) -> Iterator[list[str]]:
        for _ in range(count):
            yield self.note_row()

    def note_content(self) -> str:
        lines = [self.pick(p.NOTE_LINES) for _ in range(1 + int(self.rand() * 4))]
        if len(lines) == 1:
            return lines[0]
        # Notes typed in the browser use \n; pasted from Outlook they keep \r\n.
        separator = "\r\n" if self.chance(0.4) else "\n"
        text = separator.join(lines)
        if self.chance(0.3):
            text += separator + separator + "-- " + self.pick(self.owners)
        return text

    def note_row(self) -> list[str]:
        content_defect, date_defect, owner_defect = self.draw_defects(NOTES)
        note_id = self.next_note_id
        self.next_note_id += 1
        module, related_id, _ = self.related_record()
        if module == "Contacts" and self.chance(0.3):
            module, related_id = (
                "Companies",
                self.companies.ids[int(self.rand() * len(self.companies.ids))],
            )
        created_day, created, modified = self.created_and_modified()
        row = [
            str(note_id),
            self.pick(p.NOTE_TITLES),
            self.note_content(),
            module,
            str(related_id),
            self.pick(self.owners),
            created,
            modified,
            self.pick(p.ATTACHMENT_NAMES) if self.chance(0.1) else "",
        ]
        if content_defect:
            row[1], row[2] = "", ""
        if date_defect:
            row[6] = self.variant_date(created_day, with_time=True)
        if owner_defect:
            row[5] = self.owner(owner_defect)
        for kind in (content_defect, date_defect, owner_defect):
            if kind:
                self.note_defect(NOTES, kind, note_id)
        return row

    # -- users ----------------------------------------------------------------------------------

    def user_rows(self) -> Iterator[list[str]]:
        for user in self.users.users:
            yield [
                str(user.user_id),
                user.user_name,
                user.first_name,
                user.last_name,
                user.email,
                user.status,
            ]


def _coprime_stride(space: int, start: int) -> int:
    stride = start
    while math.gcd(stride, space) != 1:
        stride += 1
    return stride


def nominal_sizes(contacts: int) -> dict[str, int]:
    """Records per file before duplicate defects add their extra rows."""
    return {
        COMPANIES: max(1, contacts // 4),
        CONTACTS: contacts,
        OPPORTUNITIES: contacts // 2,
        ACTIVITIES: contacts * 3 // 2,
        NOTES: contacts // 2,
    }


def _write_file(out_dir: Path, file_name: str, rows: Iterable[list[str]]) -> int:
    counted = CountingWriter(rows)
    write_csv(out_dir / file_name, FILE_ENCODINGS[file_name], FILE_HEADERS[file_name], counted)
    return counted.count


def generate_export(
    out_dir: Path,
    contacts: int = 200,
    seed: int = 42,
    defect_rate: float = 0.05,
    *,
    users: UserDirectory | None = None,
) -> ExportSummary:
    """Write the six export files into ``out_dir``; return rows per file and the defect manifest."""
    if contacts < 1:
        raise GeneratorError(f"need at least one contact, got {contacts}")
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = ExportBuilder(seed, defect_rate, users or load_users())
    sizes = nominal_sizes(contacts)
    rows = {
        COMPANIES: _write_file(out_dir, COMPANIES, builder.company_rows(sizes[COMPANIES])),
        CONTACTS: _write_file(out_dir, CONTACTS, builder.contact_rows(sizes[CONTACTS])),
        OPPORTUNITIES: _write_file(
            out_dir, OPPORTUNITIES, builder.opportunity_rows(sizes[OPPORTUNITIES])
        ),
        ACTIVITIES: _write_file(out_dir, ACTIVITIES, builder.activity_rows(sizes[ACTIVITIES])),
        NOTES: _write_file(out_dir, NOTES, builder.note_rows(sizes[NOTES])),
        USERS: _write_file(out_dir, USERS, builder.user_rows()),
    }
    return ExportSummary(rows=rows, defects=builder.defects)


def generate(
    out_dir: Path, contacts: int = 200, seed: int = 42, defect_rate: float = 0.05
) -> dict[str, int]:
    """Write an OpenCRM export into ``out_dir``; return the number of records per file."""
    return generate_export(out_dir, contacts, seed, defect_rate).rows


def open_export_file(path: Path, file_name: str) -> IO[str]:
    return path.open("r", encoding=FILE_ENCODINGS[file_name], newline="")
