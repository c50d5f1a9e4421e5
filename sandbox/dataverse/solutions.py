"""Publishers and solutions: the `publisher` and `solution` tables, the rules Dataverse applies
when they are written, and the check that a component created with `MSCRM.SolutionUniqueName`
(or the `SolutionUniqueName` parameter) names an existing unmanaged solution.

The two tables are defined here rather than generated into `metadata/tables/` because the
reference pages the builder reads do not include them. Their columns are taken from Microsoft
Learn's table reference (`MicrosoftDocs/powerapps-docs`,
`powerapps-docs/developer/data-platform/reference/entities/publisher.md` and `solution.md`),
keeping the columns a solution-aware client reads or writes; the create shapes follow
`webapi/web-api-metadata-operations-sample.md` ("Section 0: Create Publisher and Solution"), and
the error codes and messages `includes/data-service-error-codes.md`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import errors
from .catalog import Catalog, build_table
from .errors import ApiError
from .store import Store

SOLUTION_HEADER = "mscrm.solutionuniquename"
SOLUTION_PARAMETER = "SolutionUniqueName"
# Table reference "Messages": neither table supports the *Multiple messages.
_MESSAGES = ["Create", "Delete", "Retrieve", "RetrieveMultiple", "Update"]


def _column(name: str, schema: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "LogicalName": name,
        "SchemaName": schema,
        "AttributeType": kind,
        "IsValidForCreate": extra.pop("create", True),
        "IsValidForUpdate": extra.pop("update", True),
        "IsValidForRead": True,
        "RequiredLevel": extra.pop("required", "None"),
        **extra,
    }


def _system_columns() -> list[dict[str, Any]]:
    return [
        _column(
            "createdon",
            "CreatedOn",
            "DateTime",
            create=False,
            update=False,
            DateTimeBehavior="UserLocal",
            Format="DateAndTime",
        ),  # fmt: skip
        _column(
            "modifiedon",
            "ModifiedOn",
            "DateTime",
            create=False,
            update=False,
            DateTimeBehavior="UserLocal",
            Format="DateAndTime",
        ),  # fmt: skip
        _column(
            "createdby", "CreatedBy", "Lookup", create=False, update=False, Targets=["systemuser"]
        ),  # fmt: skip
        _column(
            "modifiedby", "ModifiedBy", "Lookup", create=False, update=False, Targets=["systemuser"]
        ),  # fmt: skip
        _column("versionnumber", "VersionNumber", "BigInt", create=False, update=False),
    ]


_YES_NO = {"Options": [{"Value": 1, "Label": "Yes"}, {"Value": 0, "Label": "No"}]}

PUBLISHER_TABLE: dict[str, Any] = {
    "LogicalName": "publisher",
    "SchemaName": "Publisher",
    "EntitySetName": "publishers",
    "PrimaryIdAttribute": "publisherid",
    "PrimaryNameAttribute": "friendlyname",
    "ObjectTypeCode": 7101,
    "OwnershipType": "OrganizationOwned",
    "IsActivity": False,
    "IsCustomEntity": False,
    "DisplayName": "Publisher",
    "DisplayCollectionName": "Publishers",
    "Messages": _MESSAGES,
    "Attributes": [
        _column(
            "publisherid",
            "PublisherId",
            "Uniqueidentifier",
            update=False,
            required="SystemRequired",
            IsPrimaryId=True,
        ),  # fmt: skip
        _column("uniquename", "UniqueName", "String", required="SystemRequired", MaxLength=256),
        _column(
            "friendlyname",
            "FriendlyName",
            "String",
            required="SystemRequired",
            MaxLength=256,
            IsPrimaryName=True,
        ),  # fmt: skip
        _column(
            "customizationprefix",
            "CustomizationPrefix",
            "String",
            required="SystemRequired",
            MaxLength=8,
        ),  # fmt: skip
        _column(
            "customizationoptionvalueprefix",
            "CustomizationOptionValuePrefix",
            "Integer",
            required="SystemRequired",
            MinValue=10000,
            MaxValue=99999,
        ),  # fmt: skip
        _column("description", "Description", "Memo", MaxLength=2000),
        _column("emailaddress", "EMailAddress", "String", MaxLength=100),
        _column("supportingwebsiteurl", "SupportingWebsiteUrl", "String", MaxLength=200),
        _column(
            "isreadonly",
            "IsReadonly",
            "Boolean",
            create=False,
            update=False,
            required="SystemRequired",
            OptionSet=_YES_NO,
        ),  # fmt: skip
        *_system_columns(),
    ],
    "ManyToOne": [],
    "OneToMany": [
        {
            "SchemaName": "publisher_solution",
            "ReferencingEntity": "solution",
            "ReferencingAttribute": "publisherid",
            "ReferencedEntityNavigationPropertyName": "publisher_solution",
        }
    ],
    "Keys": [],
}

SOLUTION_TABLE: dict[str, Any] = {
    "LogicalName": "solution",
    "SchemaName": "Solution",
    "EntitySetName": "solutions",
    "PrimaryIdAttribute": "solutionid",
    "PrimaryNameAttribute": "friendlyname",
    "ObjectTypeCode": 7100,
    "OwnershipType": "OrganizationOwned",
    "IsActivity": False,
    "IsCustomEntity": False,
    "DisplayName": "Solution",
    "DisplayCollectionName": "Solutions",
    "Messages": _MESSAGES,
    "Attributes": [
        _column(
            "solutionid",
            "SolutionId",
            "Uniqueidentifier",
            update=False,
            required="SystemRequired",
            IsPrimaryId=True,
        ),  # fmt: skip
        _column(
            "uniquename",
            "UniqueName",
            "String",
            update=False,
            required="SystemRequired",
            MaxLength=65,
        ),  # fmt: skip
        _column(
            "friendlyname",
            "FriendlyName",
            "String",
            required="SystemRequired",
            MaxLength=256,
            IsPrimaryName=True,
        ),  # fmt: skip
        _column("version", "Version", "String", required="SystemRequired", MaxLength=256),
        _column("description", "Description", "Memo", MaxLength=2000),
        _column(
            "publisherid", "PublisherId", "Lookup", required="SystemRequired", Targets=["publisher"]
        ),  # fmt: skip
        _column(
            "ismanaged",
            "IsManaged",
            "Boolean",
            create=False,
            update=False,
            OptionSet={
                "Options": [{"Value": 1, "Label": "Managed"}, {"Value": 0, "Label": "Unmanaged"}]
            },
        ),  # fmt: skip
        _column(
            "isvisible", "IsVisible", "Boolean", create=False, update=False, OptionSet=_YES_NO
        ),  # fmt: skip
        _column(
            "isapimanaged",
            "IsApiManaged",
            "Boolean",
            create=False,
            update=False,
            required="SystemRequired",
            OptionSet=_YES_NO,
        ),  # fmt: skip
        _column(
            "solutiontype",
            "SolutionType",
            "Picklist",
            update=False,
            OptionSet={
                "Options": [
                    {"Value": 0, "Label": "None"},
                    {"Value": 1, "Label": "Snapshot"},
                    {"Value": 2, "Label": "Internal"},
                ]
            },
        ),  # fmt: skip
        _column(
            "installedon",
            "InstalledOn",
            "DateTime",
            create=False,
            update=False,
            DateTimeBehavior="UserLocal",
            Format="DateOnly",
        ),  # fmt: skip
        *_system_columns(),
    ],
    "ManyToOne": [
        {
            "SchemaName": "publisher_solution",
            "ReferencedEntity": "publisher",
            "ReferencedAttribute": "publisherid",
            "ReferencingAttribute": "publisherid",
            "ReferencingEntityNavigationPropertyName": "publisherid",
        }
    ],
    "OneToMany": [],
    "Keys": [],
}


def add_solution_tables(catalog: Catalog) -> None:
    """Add the publisher and solution tables to a catalog loaded from the metadata files."""
    for raw in (PUBLISHER_TABLE, SOLUTION_TABLE):
        if raw["LogicalName"] not in catalog.tables:
            catalog.add(build_table(copy.deepcopy(raw)))


# ---------------------------------------------------------------------------------------------
# Rules applied when a publisher or solution record is written

# InvalidSolutionUniqueName (0x8004F002): the characters the message states.
_SOLUTION_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION_RE = re.compile(r"^\d+(\.\d+){1,3}$")
# Publisher prefix: 2 to 8 letters or digits starting with a letter, not "mscrm" (the maker
# portal's rule; the service's message for a bad prefix was not found and is a plausible one).
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}$")


def _same_name_exists(store: Store, entity: str, id_column: str, record: dict[str, Any]) -> bool:
    name = str(record.get("uniquename") or "").lower()
    return any(
        str(other.get("uniquename") or "").lower() == name
        and other.get(id_column) != record.get(id_column)
        for other in store.scan(entity)
    )


def check_publisher(store: Store, record: dict[str, Any], new: bool) -> None:
    name = record.get("uniquename")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "0x8004F01C", "Publisher uniquename is required.")
    prefix = record.get("customizationprefix")
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix) or prefix.startswith("mscrm"):
        raise ApiError(
            400,
            errors.INVALID_ARGUMENT,
            f"The customization prefix '{prefix}' is not valid: it must be 2 to 8 characters, "
            "letters and digits only, start with a letter and not start with 'mscrm'.",
        )
    if _same_name_exists(store, "publisher", "publisherid", record):
        raise ApiError(
            412,
            errors.DUPLICATE_RECORD,
            f"A publisher with the unique name '{name}' already exists. "
            "A record with matching key values already exists.",
        )
    if new:
        record.setdefault("isreadonly", False)


def check_solution(store: Store, record: dict[str, Any], new: bool) -> None:
    name = record.get("uniquename")
    if not isinstance(name, str) or not _SOLUTION_NAME_RE.match(name):
        raise ApiError(
            400,
            "0x8004F002",
            "Invalid character specified for solution unique name. Only characters within the "
            "ranges [A-Z], [a-z], [0-9] or _ are allowed. The first character may only be in the "
            "ranges [A-Z], [a-z] or _.",
        )
    version = record.get("version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ApiError(400, "0x8004F01E", "An invalid solution version was specified.")
    if not record.get("_publisherid_value"):
        raise ApiError(
            400,
            errors.INVALID_ARGUMENT,
            "A solution must have a publisher: set publisherid@odata.bind.",
        )
    if _same_name_exists(store, "solution", "solutionid", record):
        raise ApiError(
            400,
            "0x8004F023",
            f"The solution unique name '{name}' is already being used and cannot be used again.",
        )
    if new:
        record.setdefault("ismanaged", False)
        record.setdefault("isvisible", True)
        record.setdefault("isapimanaged", False)
        record.setdefault("solutiontype", 0)
        record.setdefault("installedon", record.get("createdon"))


RECORD_RULES = {"publisher": check_publisher, "solution": check_solution}


# ---------------------------------------------------------------------------------------------
# Components created in a solution


def find_solution(store: Store, unique_name: str) -> dict[str, Any] | None:
    """The solution record with this unique name (compared case-insensitively, as SQL does)."""
    wanted = unique_name.strip().lower()
    for record in store.scan("solution"):
        if str(record.get("uniquename") or "").lower() == wanted:
            return record
    return None


def component_solution(store: Store, unique_name: str | None) -> str | None:
    """The unique name of the unmanaged solution a component is created in, or None when the
    request names none. An unknown name gets the error Dataverse answers: 404, ObjectDoesNotExist
    and "The given solution unique name (…) is not valid" (reported by Dataverse users; the
    message is not in Microsoft's error-code list). A managed solution cannot take components."""
    if unique_name is None or not unique_name.strip():
        return None
    solution = find_solution(store, unique_name)
    if solution is None:
        raise ApiError(
            404,
            errors.OBJECT_DOES_NOT_EXIST,
            f"The given solution unique name ({unique_name}) is not valid",
        )
    if solution.get("ismanaged"):
        raise ApiError(
            400,
            errors.INVALID_ARGUMENT,
            f"Cannot add components to the managed solution '{solution['uniquename']}'. "
            "Components can only be added to an unmanaged solution.",
        )
    return str(solution["uniquename"])
