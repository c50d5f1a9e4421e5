"""What an OpenCRM export folder holds (docs/contracts.md, "OpenCRM export files")."""

from __future__ import annotations

from dataclasses import dataclass

DATASET_NAME = "raw_opencrm"
PIPELINE_NAME = "opencrm_export"
DEFAULT_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class ExportFileSpec:
    file_name: str
    table: str
    id_column: str  # header label of the record id
    modified_column: str | None  # header label used to keep the newest of duplicate ids
    columns: tuple[str, ...]  # header labels that must be present


EXPORT_FILES: tuple[ExportFileSpec, ...] = (
    ExportFileSpec(
        "Companies.csv",
        "companies",
        "Record ID",
        "Modified Time",
        (
            "Record ID",
            "Company Name",
            "Type",
            "Industry",
            "Legal Format",
            "Employees",
            "Annual Revenue",
            "Company Number",
            "VAT Number",
            "Member Of",
            "Email",
            "Phone",
            "Fax",
            "Website",
            "Billing Street",
            "Billing City",
            "Billing County",
            "Billing Postcode",
            "Billing Country",
            "Do Not Phone",
            "Do Not Email",
            "Description",
            "Assigned To",
            "Created Time",
            "Modified Time",
            "cf_601",
            "cf_602",
        ),  # fmt: skip
    ),
    ExportFileSpec(
        "Contacts.csv",
        "contacts",
        "Record ID",
        "Modified Time",
        (
            "Record ID",
            "First Name",
            "Last Name",
            "Company ID",
            "Company Name",
            "Job Title",
            "Department",
            "Email",
            "Other Email",
            "Phone",
            "Mobile",
            "Home Phone",
            "Mailing Street",
            "Mailing City",
            "Mailing County",
            "Mailing Postcode",
            "Mailing Country",
            "Birthday",
            "Do Not Email",
            "Do Not Phone",
            "Lead Source",
            "Description",
            "Assigned To",
            "Created Time",
            "Modified Time",
            "cf_701",
            "cf_702",
        ),  # fmt: skip
    ),
    ExportFileSpec(
        "Opportunities.csv",
        "opportunities",
        "Record ID",
        "Modified Time",
        (
            "Record ID",
            "Opportunity Name",
            "Type",
            "Sales Stage",
            "Pipeline",
            "Lead Source",
            "Next Step",
            "Company ID",
            "Contact ID",
            "Amount",
            "Probability",
            "Expected Close Date",
            "Description",
            "Assigned To",
            "Created Time",
            "Modified Time",
            "cf_801",
        ),  # fmt: skip
    ),
    ExportFileSpec(
        "Activities.csv",
        "activities",
        "Record ID",
        "Modified Time",
        (
            "Record ID",
            "Activity Type",
            "Subject",
            "Status",
            "Priority",
            "Start Date",
            "Due Date",
            "Duration (Hours)",
            "Related Module",
            "Related To ID",
            "Contact ID",
            "Location",
            "Call Outcome",
            "Description",
            "Assigned To",
            "Created Time",
            "Modified Time",
        ),  # fmt: skip
    ),
    ExportFileSpec(
        "Notes.csv",
        "notes",
        "Note ID",
        "Modified Time",
        (
            "Note ID",
            "Title",
            "Note Content",
            "Related Module",
            "Related To ID",
            "Created By",
            "Created Time",
            "Modified Time",
            "Attachment Filename",
        ),  # fmt: skip
    ),
    ExportFileSpec(
        "Users.csv",
        "users",
        "User ID",
        None,
        ("User ID", "User Name", "First Name", "Last Name", "Email", "Status"),
    ),
)
