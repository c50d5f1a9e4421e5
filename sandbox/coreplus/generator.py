"""Deterministic generator of CorePlus practice data (the CorePlus stand-in's database).

Same seed and size → identical records. Sizes scale with the number of clients: referrers ≈
clients/10, appointments ≈ clients×3, invoices ≈ attended appointments×0.7 (1-2 line items),
payments ≈ invoices×0.6, notes ≈ clients, family members ≈ clients/5; practitioners, locations,
appointment types and client groups are fixed lists (``pools.py``).

Records look like the CorePlus API's JSON (``../shared/research/sources.md`` §1): GUID ids,
``+10:00`` date-times, money as strings ("50.0" and "50.00"), nested ``addressResidential``,
``practitioner`` and ``clients`` on appointments, ``lineItems`` on invoices. Every record has a
``dateModified`` (the incremental cursor). Defects (§6): the state glued to the suburb with an
empty ``state``, phone formats (``412345678``, ``+61 (0)4…``, two numbers in one field), invalid
Medicare numbers, deleted and deceased clients with appointments and invoices, practitioners with
no email or no Dataverse user, duplicated referrers (same provider number, another spelling),
upper-case client GUIDs on appointments, blank names, invalid emails, unknown statuses.

``apply_delta`` changes a dataset as a practice would over two weeks: new clients (with
appointments, invoices, notes), edited records and deleted clients, each with a later
``dateModified``. CorePlus deletes softly (``status: Deleted``): deletions travel as edits.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox.coreplus import pools as p

AEST = timezone(timedelta(hours=10))
EXPORT_MOMENT = datetime(2024, 6, 28, 17, 0, tzinfo=AEST)
HISTORY_DAYS = 730
DELTA_DAYS = 14


@dataclass(frozen=True)
class Resource:
    path: str  # the documented spelling of the resource in /API/Core/v2/<path>/
    key: str  # the list's key in the response envelope
    id_field: str


RESOURCES: dict[str, Resource] = {
    r.key: r
    for r in (
        Resource("Location", "locations", "locationId"),
        Resource("Practitioner", "practitioners", "practitionerId"),
        Resource("AppointmentType", "appointmentTypes", "appointmentTypeId"),
        Resource("ClientGroup", "clientGroups", "clientGroupId"),
        Resource("Referrer", "referrers", "referrerId"),
        Resource("Client", "clients", "clientId"),
        Resource("ClientFamily", "clientFamilies", "familyId"),
        Resource("Appointment", "appointments", "appointmentId"),
        Resource("Invoice", "invoices", "invoiceId"),
        Resource("Payment", "payments", "paymentId"),
        Resource("ClientNote", "clientNotes", "noteId"),
    )
}

Dataset = dict[str, list[dict[str, Any]]]


class GeneratorError(Exception):
    """Arguments the generator cannot honour, or a file that is not a stand-in dataset."""


def stamp(moment: datetime) -> str:
    """CorePlus's date-time: local Sydney standard time with the offset, no fraction."""
    return moment.astimezone(AEST).strftime("%Y-%m-%dT%H:%M:%S+10:00")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "T"))


class Builder:
    """Draws records; holds what later records refer to."""

    def __init__(self, seed: int, moment: datetime, first_day: datetime) -> None:
        self.rng = random.Random(seed)
        self.moment = moment
        self.first_day = first_day
        self.data: Dataset = {key: [] for key in RESOURCES}
        self.invoice_seq: dict[str, int] = {}

    # ---------------------------------------------------------------- primitives
    def guid(self, upper: bool = False) -> str:
        text = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return text.upper() if upper else text

    def pick(self, values: Any) -> Any:
        return values[int(self.rng.random() * len(values))]

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def moment_between(self, start: datetime, end: datetime) -> datetime:
        seconds = max(1, int((end - start).total_seconds()))
        moment = start + timedelta(seconds=int(self.rng.random() * seconds))
        return moment.replace(second=0)

    def created_and_modified(self) -> tuple[str, str]:
        created = self.moment_between(self.first_day, self.moment - timedelta(days=1))
        modified = self.moment_between(created, self.moment)
        return stamp(created), stamp(modified)

    def mobile(self) -> str:
        digits = f"0491 570 {100 + int(self.rng.random() * 900):03d}"
        form = self.rng.random()
        if form < 0.06:
            return digits.replace(" ", "")[1:]  # Excel dropped the leading zero
        if form < 0.12:
            return "+61 " + digits[1:]
        if form < 0.15:
            return "+61 (0)" + digits[1:]  # the international misuse
        if form < 0.18:
            return f"{digits} / (02) 5550 {int(self.rng.random() * 10000):04d}"
        return digits

    def landline(self, area: str) -> str:
        return f"({area}) 5550 {int(self.rng.random() * 10000):04d}"

    def medicare(self) -> tuple[str, str]:
        """A Medicare card number (10 digits, check digit per the published algorithm) and IRN."""
        first = str(2 + int(self.rng.random() * 5))
        body = first + "".join(str(int(self.rng.random() * 10)) for _ in range(7))
        weights = (1, 3, 7, 9, 1, 3, 7, 9)
        check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10
        number = f"{body}{check}{1 + int(self.rng.random() * 3)}"
        if self.chance(0.05):  # a typo: the check digit no longer matches, or a digit is lost
            number = number[:8] + str((check + 3) % 10) + number[9:]
        elif self.chance(0.03):
            number = number[:-1]
        return number, str(1 + int(self.rng.random() * 5))

    # ---------------------------------------------------------------- fixed lists
    def fixed_lists(self) -> None:
        for name, state, timezone_name in p.LOCATIONS:
            created, modified = self.created_and_modified()
            self.data["locations"].append(
                {
                    "locationId": self.guid(upper=True),
                    "name": name,
                    "state": state,
                    "timezoneId": self.guid(upper=True),
                    "timezoneName": timezone_name,
                    "dateCreated": created,
                    "dateModified": modified,
                }
            )
        for first, last, email, specialty, provider, _ in p.PRACTITIONERS:
            created, modified = self.created_and_modified()
            self.data["practitioners"].append(
                {
                    "practitionerId": self.guid(),
                    "firstName": first,
                    "lastName": last,
                    "email": email,
                    "mobile": self.mobile(),
                    "providerNumber": provider,
                    "discipline": specialty,
                    "isActive": True,
                    "locationIds": [self.data["locations"][0]["locationId"]],
                    "dateCreated": created,
                    "dateModified": modified,
                }
            )
        for description, mode, minutes, fee, item, stock in p.APPOINTMENT_TYPES:
            created, modified = self.created_and_modified()
            self.data["appointmentTypes"].append(
                {
                    "appointmentTypeId": self.guid(),
                    "description": description,
                    "category": mode,
                    "durationMinutes": minutes,
                    "fee": fee,
                    "itemNumber": item,
                    "stockLevel": stock,
                    "blockColour": self.pick(("#3A87AD", "#F89406", "#468847", "#B94A48")),
                    "isActive": True,
                    "dateCreated": created,
                    "dateModified": modified,
                }
            )
        for name, description in p.CLIENT_GROUPS:
            created, modified = self.created_and_modified()
            self.data["clientGroups"].append(
                {
                    "clientGroupId": self.guid(),
                    "name": name,
                    "description": description,
                    "dateCreated": created,
                    "dateModified": modified,
                }
            )

    # ---------------------------------------------------------------- referrers
    def referrers(self, count: int) -> None:
        for _ in range(count):
            created, modified = self.created_and_modified()
            suburb, state, postcode, area = self.pick(p.SUBURBS)
            is_person = self.chance(0.75)
            first, last = self.pick(p.FIRST_NAMES), self.pick(p.LAST_NAMES)
            provider = f"{int(self.rng.random() * 900000) + 100000}{self.pick('ABCDEFHJ')}"
            domain = self.pick(p.REFERRER_ORGANISATIONS).lower().replace(" ", "")
            record = {
                "referrerId": self.guid(),
                "title": "Dr" if is_person else "",
                "firstName": first if is_person else "",
                "lastName": last if is_person else "",
                "practiceName": self.pick(p.REFERRER_ORGANISATIONS),
                "specialty": self.pick(p.REFERRER_SPECIALTIES) if is_person else "",
                "providerNumber": provider if is_person else "",
                "address": f"{1 + int(self.rng.random() * 300)} {self.pick(p.STREETS)}",
                "suburb": suburb,
                "state": state,
                "postcode": postcode,
                "phone": self.landline(area),
                "fax": self.landline(area) if self.chance(0.5) else "",
                "email": f"referrals@{domain[:18]}.example",
                "dateCreated": created,
                "dateModified": modified,
            }
            self.data["referrers"].append(record)
            first_person = is_person and not any(r["lastName"] for r in self.data["referrers"][:-1])
            if is_person and (self.chance(0.06) or first_person):  # the same doctor entered twice
                duplicate = dict(record)
                duplicate["referrerId"] = self.guid()
                duplicate["firstName"] = first[0] + "."
                duplicate["title"] = "Dr."
                duplicate["dateCreated"], duplicate["dateModified"] = self.created_and_modified()
                self.data["referrers"].append(duplicate)

    # ---------------------------------------------------------------- clients and their records
    def client(self, businesses: list[str], moment_range: tuple[datetime, datetime]) -> dict:
        rng = self.rng
        created_at = self.moment_between(*moment_range)
        modified_at = self.moment_between(created_at, moment_range[1] + timedelta(hours=1))
        first, last = self.pick(p.FIRST_NAMES), self.pick(p.LAST_NAMES)
        suburb, state, postcode, area = self.pick(p.SUBURBS)
        residential = {
            "streetAddress": f"{1 + int(rng.random() * 200)} {self.pick(p.STREETS)}",
            "suburb": suburb,
            "city": suburb,
            "state": state,
            "postcode": postcode,
        }
        if self.chance(0.08):  # the state glued to the suburb, state left empty
            residential["suburb"] = f"{suburb} {state}"
            residential["city"] = ""
            residential["state"] = ""
        if self.chance(0.03) and postcode.startswith("0"):
            residential["postcode"] = postcode.lstrip("0")
        roll = rng.random()
        if roll < 0.62:
            organisation = ""
        elif roll < 0.70:
            organisation = f"{first} {last}"  # the person's own name: an individual
        elif roll < 0.74:
            organisation = self.pick(p.ORGANISATION_PLACEHOLDERS)
        else:
            core = self.pick(businesses)
            organisation = f"{core} {self.pick(p.BUSINESS_SUFFIXES)}"
            if self.chance(0.1):
                organisation = organisation.upper()
        status_roll = rng.random()
        status = (
            "Deleted" if status_roll < 0.03
            else "Deceased" if status_roll < 0.05
            else "Closed" if status_roll < 0.12
            else self.pick(("Current", "Current", "Current", "current", "CURRENT"))
            if self.chance(0.05)
            else "Current"
        )  # fmt: skip
        email = f"{first}.{last}{int(rng.random() * 90) + 10}@example.com.au".lower()
        email = email.replace("'", "").replace("é", "e")
        if self.chance(0.04):
            email = self.pick((email.replace("@", ""), "n/a", email + " ", email.upper()))
        elif self.chance(0.08):
            email = ""
        medicare, irn = self.medicare() if self.chance(0.8) else ("", "")
        record = {
            "clientId": self.guid(),
            "externalId": "",
            "title": self.pick(p.TITLES),
            "firstName": first if not self.chance(0.01) else "",
            "middleName": self.pick(p.FIRST_NAMES) if self.chance(0.2) else "",
            "lastName": last if not self.chance(0.01) else " ",
            "preferredName": first[:3] if self.chance(0.1) else "",
            "dateOfBirth": (
                datetime(1940, 1, 1) + timedelta(days=int(rng.random() * 30000))
            ).strftime("%Y-%m-%dT00:00:00"),
            "gender": self.pick(p.GENDERS),
            "pronouns": self.pick(p.PRONOUNS),
            "status": status,
            "email": email,
            "phoneNumberHome": self.landline(area) if self.chance(0.3) else "",
            "phoneNumberWork": self.landline(area) if self.chance(0.15) else "",
            "phoneNumberMobile": self.mobile() if self.chance(0.9) else "",
            "addressResidential": residential,
            "postalSameAsResidential": True,
            "medicareCardNumber": medicare,
            "medicareCardIRN": irn,
            "dvaCardNumber": f"N{int(rng.random() * 999999):06d}" if self.chance(0.04) else "",
            "organisationName": organisation,
            "notes1": self.pick(("", "", "Prefers morning appointments.", "Needs interpreter.")),
            "practitionerId": self.pick(self.data["practitioners"])["practitionerId"],
            "clientGroupId": self.pick(self.data["clientGroups"])["clientGroupId"]
            if self.chance(0.75)
            else None,
            "referrerId": self.pick(self.data["referrers"])["referrerId"]
            if self.chance(0.45)
            else None,
            "dateCreated": stamp(created_at),
            "dateModified": stamp(modified_at),
        }
        self.data["clients"].append(record)
        return record

    def family(self, client: dict) -> None:
        created, modified = client["dateCreated"], client["dateModified"]
        self.data["clientFamilies"].append(
            {
                "familyId": self.guid(),
                "clientId": client["clientId"],
                "title": self.pick(("Mr", "Mrs", "Ms", "")),
                "firstName": self.pick(p.FIRST_NAMES),
                "surname": client["lastName"],
                "relationship": self.pick(p.RELATIONSHIPS),
                "mobile": self.mobile(),
                "email": "",
                "emergencyContact": self.chance(0.6),
                "invoiceRecipient": self.chance(0.2),
                "mainContact": self.chance(0.5),
                "dateCreated": created,
                "dateModified": modified,
            }
        )

    def appointments(self, client: dict, count: int, until: datetime) -> None:
        created_at = parse_stamp(client["dateCreated"])
        types = self.data["appointmentTypes"][:-1]  # the product is not bookable
        statuses = [s for s, w in p.APPOINTMENT_STATUSES for _ in range(w)]
        for _ in range(count):
            kind = self.pick(types)
            start = self.moment_between(created_at, until + timedelta(days=30))
            start = start.replace(minute=(start.minute // 15) * 15, second=0)
            start = start.replace(hour=8 + start.hour % 10)
            end = start + timedelta(minutes=kind["durationMinutes"])
            status = self.pick(statuses)
            if start > until and status in ("Attended", "DNA"):
                status = "Booked"
            practitioner = self.pick(self.data["practitioners"])
            booked_at = self.moment_between(created_at, min(start, until))
            modified_at = min(until, max(booked_at, end + timedelta(minutes=30)))
            client_id = client["clientId"]
            appointment = {
                "appointmentId": self.guid(),
                "appointmentReferenceNumber": str(100000 + len(self.data["appointments"])),
                "status": status,
                "practitioner": {"practitionerId": practitioner["practitionerId"]},
                "subject": f"{client['lastName'].strip().upper()} {client['firstName']} "
                f"{client['phoneNumberMobile'].replace(' ', '')}".strip(),
                "notes": self.pick(("", "", "Bring referral letter.", "Running late")),
                "locationId": self.data["locations"][
                    2 if kind["category"] in ("Telehealth", "Phone Call") else 0
                ]["locationId"],
                "appointmentTypeId": kind["appointmentTypeId"],
                "startDateTime": stamp(start),
                "endDateTime": stamp(end),
                "clients": [{"clientId": client_id.upper() if self.chance(0.2) else client_id}],
                "notifyPractitioner": False,
                "dateCreated": stamp(booked_at),
                "dateModified": stamp(modified_at),
            }
            self.data["appointments"].append(appointment)
            if status == "Attended" and self.chance(0.7):
                self.invoice(client, appointment, kind, practitioner, until)

    def invoice(
        self, client: dict, appointment: dict, kind: dict, practitioner: dict, until: datetime
    ) -> None:
        issued = parse_stamp(appointment["endDateTime"])
        day = issued.strftime("%y%m%d")
        self.invoice_seq[day] = self.invoice_seq.get(day, 0) + 1
        lines = [
            {
                "lineItemId": self.guid(),
                "productId": kind["appointmentTypeId"],
                "description": kind["description"],
                "itemNumber": kind["itemNumber"],
                "unitAmount": kind["fee"],
                "taxAmount": "0.00",
                "lineAmount": kind["fee"],
                "quantity": 1,
            }
        ]
        if self.chance(0.25):  # a product sold at the visit
            product = self.data["appointmentTypes"][-1]
            quantity = 1 + int(self.rng.random() * 2)
            unit = float(product["fee"])
            lines.append(
                {
                    "lineItemId": self.guid(),
                    "productId": product["appointmentTypeId"],
                    "description": product["description"],
                    "itemNumber": "",
                    "unitAmount": product["fee"],
                    "taxAmount": f"{unit * quantity / 11:.2f}",
                    "lineAmount": f"{unit * quantity:.2f}",
                    "quantity": quantity,
                }
            )
        total = sum(float(line["lineAmount"]) for line in lines)
        paid = self.chance(0.6)
        amount_owing = 0.0 if paid else total
        modified = min(until, issued + timedelta(days=int(self.rng.random() * 20)))
        invoice = {
            "invoiceId": self.guid(),
            "invoiceNumber": f"{day}-{self.invoice_seq[day]}",
            "clientId": client["clientId"],
            "practitionerId": practitioner["practitionerId"],
            "locationId": appointment["locationId"],
            "appointmentId": appointment["appointmentId"],
            "generatedAt": issued.strftime("%Y-%m-%d"),
            "totalAmount": self.pick((f"{total:.2f}", f"{total:.1f}")),
            "amountOwing": self.pick((f"{amount_owing:.1f}", f"{amount_owing:.2f}")),
            "locked": paid,
            "lineItems": lines,
            "dateCreated": stamp(issued),
            "dateModified": stamp(max(issued, modified)),
        }
        self.data["invoices"].append(invoice)
        if paid:
            paid_at = min(until, issued + timedelta(days=int(self.rng.random() * 10)))
            self.data["payments"].append(
                {
                    "paymentId": self.guid(),
                    "invoiceId": invoice["invoiceId"],
                    "clientId": client["clientId"],
                    "amountPaid": self.pick((f"{total:.2f}", f"{total:g}")),
                    "datePaid": paid_at.strftime("%Y-%m-%d"),
                    "paymentMethod": self.pick(p.PAYMENT_METHODS),
                    "paymentNotes": "",
                    "type": "Credit",
                    "dateCreated": stamp(paid_at),
                    "dateModified": stamp(paid_at),
                }
            )

    def note(self, client: dict, until: datetime) -> None:
        created_at = self.moment_between(parse_stamp(client["dateCreated"]), until)
        body = "\n".join(self.pick(p.NOTE_LINES) for _ in range(1 + int(self.rng.random() * 3)))
        if self.chance(0.02):
            body = ""
        self.data["clientNotes"].append(
            {
                "noteId": self.guid(),
                "clientId": client["clientId"],
                "practitionerId": self.pick(self.data["practitioners"])["practitionerId"],
                "noteDate": stamp(created_at),
                "noteType": self.pick(("Clinical", "Clinical", "Admin")),
                "status": "Draft" if self.chance(0.35) else "Final",
                "subject": self.pick(("Progress note", "Initial assessment", "Phone call", "")),
                "body": body,
                "dateCreated": stamp(created_at),
                "dateModified": stamp(created_at),
            }
        )

    def client_with_records(self, businesses: list[str], moment_range: tuple) -> dict:
        client = self.client(businesses, moment_range)
        until = moment_range[1]
        visits = int(self.rng.random() * 7)  # 0..6, mean 3
        self.appointments(client, visits, until)
        if self.chance(0.2):
            self.family(client)
        if self.chance(0.9):
            self.note(client, until)
        if self.chance(0.1):
            self.note(client, until)
        return client


def generate_dataset(clients: int = 200, seed: int = 42) -> Dataset:
    """A practice's CorePlus database with ``clients`` clients (1 to 100,000)."""
    if not 1 <= clients <= 100_000:
        raise GeneratorError("clients must be between 1 and 100,000")
    first_day = EXPORT_MOMENT - timedelta(days=HISTORY_DAYS)
    builder = Builder(seed, EXPORT_MOMENT, first_day)
    builder.fixed_lists()
    builder.referrers(max(8, clients // 10))
    businesses = list(p.BUSINESS_CORES[: max(2, min(len(p.BUSINESS_CORES), clients // 15))])
    for _ in range(clients):
        builder.client_with_records(businesses, (first_day, EXPORT_MOMENT - timedelta(days=1)))
    return builder.data


@dataclass
class DeltaSummary:
    """What a delta did, per resource: ids of new, edited and (softly) deleted records."""

    new: dict[str, list[str]] = field(default_factory=dict)
    edited: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)

    def changed(self, resource: str) -> set[str]:
        return {
            *self.new.get(resource, []),
            *self.edited.get(resource, []),
            *self.deleted.get(resource, []),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        resources = sorted({*self.new, *self.edited, *self.deleted})
        return {
            r: {
                "new": len(self.new.get(r, [])),
                "edited": len(self.edited.get(r, [])),
                "deleted": len(self.deleted.get(r, [])),
            }
            for r in resources
        }


def dataset_moment(data: Dataset) -> datetime:
    """The latest ``dateModified`` in the dataset: when it was last written to."""
    return max(parse_stamp(r["dateModified"]) for rows in data.values() for r in rows)


def apply_delta(data: Dataset, seed: int = 43) -> DeltaSummary:
    """Two weeks of practice life on ``data`` (in place): ~2% new clients with their records,
    ~3% of clients and appointments edited, ~1% of clients deleted (``status: Deleted``)."""
    before = dataset_moment(data)
    after = before + timedelta(days=DELTA_DAYS)
    builder = Builder(seed, after, before)
    builder.data = data
    builder.invoice_seq = {}
    for invoice in data["invoices"]:
        day, _, seq = invoice["invoiceNumber"].partition("-")
        builder.invoice_seq[day] = max(builder.invoice_seq.get(day, 0), int(seq or 0))
    summary = DeltaSummary()
    rng = builder.rng
    window = (before + timedelta(minutes=1), after)

    def later() -> str:
        return stamp(builder.moment_between(*window))

    clients = [c for c in data["clients"] if c["status"] != "Deleted"]
    count = len(clients)
    for client in rng.sample(clients, max(1, count // 100)):
        client["status"] = "Deleted"
        client["dateModified"] = later()
        summary.deleted.setdefault("clients", []).append(client["clientId"])
    deleted = set(summary.deleted.get("clients", []))
    for client in rng.sample(clients, max(1, count * 3 // 100)):
        if client["clientId"] in deleted:
            continue
        client["phoneNumberMobile"] = builder.mobile()
        client["notes1"] = "Updated contact details at reception."
        client["dateModified"] = later()
        summary.edited.setdefault("clients", []).append(client["clientId"])
    sizes = {key: len(rows) for key, rows in data.items()}
    clients_by_id = {c["clientId"]: c for c in data["clients"]}
    types_by_id = {t["appointmentTypeId"]: t for t in data["appointmentTypes"]}
    practitioners_by_id = {pr["practitionerId"]: pr for pr in data["practitioners"]}
    appointments = [a for a in data["appointments"] if a["status"] in ("Booked", "Confirmed")]
    for appointment in rng.sample(appointments, min(len(appointments), max(1, count // 30))):
        appointment["status"] = rng.choice(("Attended", "Cancelled"))
        appointment["dateModified"] = later()
        summary.edited.setdefault("appointments", []).append(appointment["appointmentId"])
        if appointment["status"] == "Attended":  # billed at the desk
            client = clients_by_id.get(appointment["clients"][0]["clientId"].lower())
            kind = types_by_id[appointment["appointmentTypeId"]]
            practitioner = practitioners_by_id[appointment["practitioner"]["practitionerId"]]
            if client is not None:
                builder.invoice(client, appointment, kind, practitioner, after)
    businesses = list(p.BUSINESS_CORES[:4])
    for _ in range(max(1, count // 50)):
        builder.client_with_records(businesses, window)
    for key, rows in data.items():
        for row in rows[sizes[key] :]:  # whatever is written during the window is stamped in it
            if parse_stamp(row["dateModified"]) <= before:
                row["dateModified"] = later()
        new_ids = [row[RESOURCES[key].id_field] for row in rows[sizes[key] :]]
        if new_ids:
            summary.new[key] = new_ids
    return summary


def save_dataset(data: Dataset, path: Path) -> Path:
    """Write the dataset as gzipped JSON (the stand-in server's database file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as handle:
        json.dump({"coreplus_standin": 1, "resources": data}, handle, ensure_ascii=False)
    return path


def load_dataset(path: Path) -> Dataset:
    try:
        with gzip.open(Path(path), "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        raise GeneratorError(f"{path} is not a CorePlus stand-in dataset: {error}") from error
    if not isinstance(document, dict) or document.get("coreplus_standin") != 1:
        raise GeneratorError(f"{path} is not a CorePlus stand-in dataset")
    data = document["resources"]
    missing = set(RESOURCES) - set(data)
    if missing:
        raise GeneratorError(f"{path} lacks resources {sorted(missing)}")
    return data
