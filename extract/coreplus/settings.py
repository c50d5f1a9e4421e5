"""What the CorePlus source reads: the resources, their keys, and the connection settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

DATASET_NAME = "raw_coreplus"
PIPELINE_NAME = "coreplus_api"
PAGE_SIZE = 100  # the documented maximum
RATE_LIMIT = 10  # requests per second (CorePlus FAQ), then 429
# Pace at this share of the limit: a hair under it, so jitter never trips the server's window.
PACE_SHARE = 0.97
LAG_SECONDS = 3600  # re-read the last hour on every run: rows committed late are not missed
INITIAL_CURSOR = "2000-01-01T00:00:00+10:00"
CURSOR_FIELD = "dateModified"
# How rows reach DuckDB. dlt's default for DuckDB (insert_values: SQL INSERT text) made the load
# step ~20% of a paced extract (2.7 s for 9,142 appointments and their nested clients). The
# resources yield Arrow tables built during the fetch, so dlt's normalise step only moves the
# Parquet files and DuckDB reads them directly. See docs/benchmarks.md (issue 6).
LOADER_FILE_FORMAT = "parquet"


@dataclass(frozen=True)
class CorePlusResource:
    path: str  # as documented: /API/Core/v2/<path>/
    key: str  # the list in the response envelope
    table: str  # raw_coreplus table
    primary_key: str


RESOURCES: tuple[CorePlusResource, ...] = (
    CorePlusResource("Location", "locations", "locations", "locationId"),
    CorePlusResource("Practitioner", "practitioners", "practitioners", "practitionerId"),
    CorePlusResource(
        "AppointmentType", "appointmentTypes", "appointment_types", "appointmentTypeId"
    ),
    CorePlusResource("ClientGroup", "clientGroups", "client_groups", "clientGroupId"),
    CorePlusResource("Referrer", "referrers", "referrers", "referrerId"),
    CorePlusResource("Client", "clients", "clients", "clientId"),
    CorePlusResource("ClientFamily", "clientFamilies", "client_families", "familyId"),
    CorePlusResource("Appointment", "appointments", "appointments", "appointmentId"),
    CorePlusResource("Invoice", "invoices", "invoices", "invoiceId"),
    CorePlusResource("Payment", "payments", "payments", "paymentId"),
    CorePlusResource("ClientNote", "clientNotes", "client_notes", "noteId"),
)


class SettingsError(Exception):
    """A required CorePlus setting is missing."""


@dataclass(frozen=True)
class CorePlusSettings:
    """The consumer's credentials and where the API is. Environment: ``COREPLUS_BASE_URL``
    (e.g. ``https://sandbox.coreplus.com.au/API/Core/v2``), ``COREPLUS_CONSUMER_ID``,
    ``COREPLUS_CONSUMER_SECRET``, ``COREPLUS_ACCESS_TOKEN``; ``COREPLUS_ISSUER`` (your site URL,
    the token's ``iss``)."""

    base_url: str
    consumer_id: str
    consumer_secret: str
    access_token: str
    issuer: str = "https://d365-migrate.invalid"
    audience: str = "https://coreplus.com.au"
    page_size: int = PAGE_SIZE
    rate_limit: float = RATE_LIMIT
    lag_seconds: int = LAG_SECONDS

    @classmethod
    def from_env(cls) -> CorePlusSettings:
        names = {
            "base_url": "COREPLUS_BASE_URL",
            "consumer_id": "COREPLUS_CONSUMER_ID",
            "consumer_secret": "COREPLUS_CONSUMER_SECRET",
            "access_token": "COREPLUS_ACCESS_TOKEN",
        }
        missing = [env for env in names.values() if not os.environ.get(env)]
        if missing:
            raise SettingsError(
                "set " + ", ".join(missing) + " (the consumer credentials CorePlus issued; "
                "`crm-migrate sandbox coreplus` prints the stand-in's)"
            )
        values = {field: os.environ[env] for field, env in names.items()}
        issuer = os.environ.get("COREPLUS_ISSUER")
        return cls(**values, **({"issuer": issuer} if issuer else {}))
