"""Build the local Dataverse's table metadata from Microsoft's reference files.

Reads Microsoft Learn's generated table reference pages (`reference/dataverse-tables/*.md`, two
page layouts) and Microsoft's CDM schema documents (`reference/cdm/`), plus the cited research notes
for the few facts neither holds, and writes one JSON file per table to `tables/<logicalname>.json`.

    python -m sandbox.dataverse.metadata.build_metadata [--reference-dir DIR] [--out-dir DIR]

The output is deterministic: re-running it over the same inputs gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "tables"

ATTRIBUTE_TYPES = {
    "String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money", "DateTime", "Boolean",
    "Picklist", "State", "Status", "Lookup", "Customer", "Owner", "Uniqueidentifier", "PartyList",
    "EntityName", "Virtual", "Image", "File", "MultiSelectPicklist", "ManagedProperty",
}  # fmt: skip
REQUIRED_LEVELS = {"None", "Recommended", "ApplicationRequired", "SystemRequired"}
OPTION_TYPES = {"Picklist", "State", "Status", "Boolean", "MultiSelectPicklist"}
LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}

LINK_TO_PAGE = re.compile(r"\(([A-Za-z0-9_]+)\.md#")
HEADING_ANCHOR = re.compile(r'^###\s+<a name="([^"]+)"></a>\s*(\S+)')
LIST_ANCHOR = re.compile(r"^- \[([^\]]+)\]\(#")

# Pages from this repository carry Microsoft Dynamics 365 (sales/service) tables; all others come
# from MicrosoftDocs/powerapps-docs (see reference/dataverse-tables/README.md).
CE_REPOSITORY = "MicrosoftDocs/dynamics-365-customer-engagement"
PAD_REPOSITORY = "MicrosoftDocs/powerapps-docs"

# The reference pages copied here for account and contact predate the bulk messages; Microsoft's
# newer generated pages for both list them (research/dataverse_api.md §3, PAD
# reference/entities/account.md and contact.md), so they are added from that citation.
NEWER_PAGE_MESSAGES: dict[str, tuple[str, ...]] = {
    "account": ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"),
    "contact": ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"),
}

RULES = {
    "newer-page-messages": (
        "Messages CreateMultiple/UpdateMultiple/UpsertMultiple added from Microsoft's newer "
        "reference page for this table (research/dataverse_api.md §3)"
    ),
    "nav-single": (
        "single-target lookup: ReferencingEntityNavigationPropertyName = the lookup's "
        "LogicalName (e.g. parentaccountid, transactioncurrencyid)"
    ),
    "nav-activity-suffix": (
        "on an activity table, a single-target lookup that every newer-layout activity page "
        "(task, email) names <lookup>_<activity> (createdby, modifiedby, owninguser, "
        "owningteam, owningbusinessunit, transactioncurrencyid, ...) gets <lookup>_<activity>"
    ),
    "nav-regarding": (
        "regardingobjectid on an activity table: one navigation property per target, "
        "regardingobjectid_<target>_<activity> (e.g. regardingobjectid_account_task)"
    ),
    "nav-polymorphic": (
        "other multi-target lookups (Customer, objectid, partyid, ...): one navigation "
        "property per target, <lookup>_<target> (e.g. parentcustomerid_contact, "
        "objectid_account)"
    ),
    "nav-owner": (
        "ownerid (Owner) targets systemuser and team through the navigation property ownerid"
    ),
    "referencing-attribute": (
        "older page layout: a Many-To-One entry's ReferencingAttribute comes from the related"
        " table's One-To-Many entry of the same SchemaName when that page is here; otherwise "
        "it is the table's only lookup targeting the related table, or the one whose name "
        "ends the relationship SchemaName, or the only one not claimed by another "
        "relationship"
    ),
    "referenced-attribute": ("ReferencedAttribute of a table without a page here: <table>id"),
    "targets-from-related-pages": (
        "a relationship the lookup's Targets row does not name (a One-To-Many entry on a "
        "related table's page, e.g. opportunity's Opportunity_Tasks, or an older-layout "
        "Many-To-One entry) adds its table to the Targets and adds the Many-To-One entry"
    ),
    "one-to-many-from-many-to-one": (
        "a Many-To-One entry on another table whose page is not here or does not list it "
        "becomes a One-To-Many entry here, ReferencedEntityNavigationPropertyName = its "
        "SchemaName"
    ),
    "validity-lists": (
        "IsValidForCreate/IsValidForUpdate: the column's own rows where the page gives them; "
        "otherwise true/true for the Writable list and false/false for the Read-only list"
    ),
    "validity-consensus": (
        "newer page layout (no per-column IsValidFor rows): a writable column takes the "
        "IsValidForCreate/Update that every older-layout page listing that column states "
        "explicitly (e.g. statecode create=false, overriddencreatedon update=false), and the "
        "primary id column is not valid for update, as on every older-layout page"
    ),
    "readonly-consensus": (
        "tables built from CDM only: a column is read-only when every reference page that has"
        " it lists it as read-only"
    ),
    "attribute-of": (
        "AttributeOf: a read-only <lookup>name / <lookup>yominame companion, and the "
        "EntityName column <lookup>type or <lookup without id>typecode, belong to that lookup"
    ),
    "is-activity": (
        "IsActivity: the table's primary id is activityid (activitypointer and the activity "
        "tables that extend it)"
    ),
    "is-custom": ("IsCustomEntity: false, every table here is a Microsoft system table"),
    "object-type-code": ("ObjectTypeCode: null, the reference pages do not give it"),
    "ownership-cdm": (
        "OwnershipType of a CDM-only table: BusinessOwned when it has a businessunitid lookup"
        " and no ownerid"
    ),
}


# --------------------------------------------------------------------------------------------
# Markdown page parsing
# --------------------------------------------------------------------------------------------


def clean_cell(text: str) -> str:
    return text.replace("**", "").replace("`", "").strip()


def table_rows(lines: list[str]) -> list[list[str]]:
    """Rows of the first markdown table in `lines`, header included, separator rows dropped."""
    rows: list[list[str]] = []
    started = False
    for line in lines:
        if line.startswith("|"):
            started = True
            cells = [clean_cell(cell) for cell in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r"-*|:?-+:?", cell.strip()) for cell in cells):
                continue
            rows.append(cells)
        elif started:
            break
    return rows


def property_table(lines: list[str]) -> dict[str, str]:
    rows = table_rows(lines)
    return {row[0]: row[1] if len(row) > 1 else "" for row in rows[1:]}


def split_sections(lines: list[str], prefix: str) -> list[tuple[str, list[str]]]:
    """(heading line, body lines) for each heading starting with `prefix` (e.g. '## ')."""
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(prefix):
            sections.append((line, []))
        elif sections:
            sections[-1][1].append(line)
    return sections


@dataclass
class PageColumn:
    schema_name: str
    properties: dict[str, str]
    options: list[dict[str, Any]] | None
    default_value: str | None


@dataclass
class PageRelationship:
    schema_name: str
    related_table: str | None
    properties: dict[str, str]


@dataclass
class Page:
    file_name: str
    layout: str  # "older" or "newer"
    properties: dict[str, str]
    messages: list[str]
    writable: list[str]
    read_only: list[str]
    columns: dict[str, PageColumn]
    many_to_one: list[PageRelationship]
    one_to_many: list[PageRelationship]

    @property
    def logical_name(self) -> str:
        return self.properties["LogicalName"]


def parse_options(lines: list[str]) -> list[dict[str, Any]]:
    rows = table_rows(lines)
    header, body = rows[0], rows[1:]
    options = []
    for row in body:
        cells = dict(zip(header, row, strict=False))
        if "Details" in cells:
            details = dict(
                part.split(":", 1) for part in cells["Details"].split("<br />") if ":" in part
            )
            details = {key.strip(): value.strip() for key, value in details.items()}
            cells = {"Value": cells["Value"], **details}
        options.append(
            {
                "Value": int(cells["Value"]),
                "Label": cells.get("Label", ""),
                "State": int(cells["State"]) if cells.get("State") else None,
                "DefaultStatus": int(cells["DefaultStatus"])
                if cells.get("DefaultStatus")
                else None,
            }
        )
    return options


def parse_column(schema_name: str, body: list[str]) -> PageColumn:
    properties = property_table(body)
    options: list[dict[str, Any]] | None = None
    default_value = properties.get("DefaultValue")
    for heading, option_body in split_sections(body, "#### "):
        if heading.rstrip().endswith("Options"):
            options = parse_options(option_body)
    for line in body:
        match = re.match(r"\*\*DefaultValue\*\*:\s*(\S+)", line)
        if match:
            default_value = match.group(1)
    if options is None and "True Label" in properties:
        options = [
            {"Value": 1, "Label": properties["True Label"], "State": None, "DefaultStatus": None},
            {"Value": 0, "Label": properties["False Label"], "State": None, "DefaultStatus": None},
        ]
    return PageColumn(schema_name, properties, options, default_value)


def parse_relationships(body: list[str]) -> list[PageRelationship]:
    relationships = []
    for heading, rel_body in split_sections(body, "### "):
        match = HEADING_ANCHOR.match(heading)
        if not match:
            continue
        related = None
        for line in rel_body:
            link = LINK_TO_PAGE.search(line)
            if link:
                related = link.group(1)
                break
        relationships.append(PageRelationship(match.group(2), related, property_table(rel_body)))
    return relationships


def parse_page(path: Path) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    sections = split_sections(lines, "## ")
    properties: dict[str, str] = {}
    messages: list[str] = []
    writable: list[str] = []
    read_only: list[str] = []
    columns: dict[str, PageColumn] = {}
    many_to_one: list[PageRelationship] = []
    one_to_many: list[PageRelationship] = []
    layout = "older"
    for heading, body in sections:
        title = heading[3:].strip().lower()
        if title == "messages":
            messages = [re.sub(r"<br\s*/>.*", "", row[0]).strip() for row in table_rows(body)[1:]]
        elif title in ("properties", "entity properties"):
            properties = property_table(body)
        elif title.startswith("writable") or title.startswith("read-only"):
            names = [m.group(1) for line in body if (m := LIST_ANCHOR.match(line))]
            (writable if title.startswith("writable") else read_only).extend(names)
            for col_heading, col_body in split_sections(body, "### "):
                match = HEADING_ANCHOR.match(col_heading)
                if match:
                    columns[match.group(2)] = parse_column(match.group(2), col_body)
        elif title == "many-to-one relationships":
            if heading.startswith("## Many-to-One"):
                layout = "newer"
            many_to_one = parse_relationships(body)
        elif title == "one-to-many relationships":
            one_to_many = parse_relationships(body)
    return Page(
        path.name, layout, properties, messages, writable, read_only, columns, many_to_one,
        one_to_many,
    )  # fmt: skip


def read_page_commits(readme: Path) -> dict[str, tuple[str, str]]:
    """file name -> (repository, commit), from the reference folder's README table."""
    commits: dict[str, tuple[str, str]] = {}
    repository = PAD_REPOSITORY
    for line in readme.read_text(encoding="utf-8").splitlines():
        if CE_REPOSITORY in line and line.startswith("| *from"):
            repository = CE_REPOSITORY
        match = re.match(r"\|\s*([a-z_]+\.md)\s*\|\s*`([0-9a-f]{40})`", line)
        if match:
            commits[match.group(1)] = (repository, match.group(2))
    return commits


# --------------------------------------------------------------------------------------------
# CDM schema documents
# --------------------------------------------------------------------------------------------

CDM_STRING_TYPES = {
    "string", "email", "phone", "name", "firstName", "lastName", "middleName", "fullName", "url",
    "addressLine", "city", "stateOrProvince", "county", "country", "postalCode", "governmentId",
    "localizedDisplayText",
}  # fmt: skip
CDM_TYPE_MAP = {
    "entityId": "Uniqueidentifier", "guid": "Uniqueidentifier", "dateTime": "DateTime",
    "date": "DateTime", "boolean": "Boolean", "integer": "Integer", "timezone": "Integer",
    "bigInteger": "BigInt", "decimal": "Decimal", "currency": "Money", "double": "Double",
    "latitude": "Double", "longitude": "Double", "listLookup": "Picklist",
    "listLookupCorrelated": "Status", "baseCurrency": "Money", "partylist": "PartyList",
}  # fmt: skip


@dataclass
class CdmAttribute:
    logical_name: str
    attribute_type: str
    max_length: int | None
    min_value: float | None
    max_value: float | None
    required_level: str
    options: list[dict[str, Any]] | None
    targets: list[str] | None
    source: str


@dataclass
class CdmEntity:
    cdm_name: str
    schema_name: str
    files: list[str] = field(default_factory=list)
    attributes: dict[str, CdmAttribute] = field(default_factory=dict)


def trait_argument(traits: list[Any], trait_name: str) -> Any:
    for trait in traits:
        if isinstance(trait, dict) and trait.get("traitReference") == trait_name:
            return trait.get("arguments", [])
    return None


def cdm_required_level(traits: list[Any]) -> str:
    arguments = trait_argument(traits, "is.requiredAtLevel") or []
    raw = str(next((arg.get("value") for arg in arguments if isinstance(arg, dict)), "none"))
    return {
        "none": "None",
        "recommended": "Recommended",
        # CDM's "required" is Dataverse's ApplicationRequired (e.g. contact.lastname).
        "required": "ApplicationRequired",
        "applicationrequired": "ApplicationRequired",
        "systemrequired": "SystemRequired",
    }[raw]


def cdm_data_type(member: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    data_type = member.get("dataType")
    options = None
    if isinstance(data_type, dict):
        reference = data_type.get("dataTypeReference", "")
        arguments = trait_argument(data_type.get("appliedTraits", []), "does.haveDefault") or []
        for argument in arguments:
            rows = argument.get("entityReference", {}).get("constantValues", [])
            options = [
                {"Value": int(row[2]), "Label": row[1], "State": None, "DefaultStatus": None}
                for row in rows
            ]
        data_type = reference
    if data_type in CDM_TYPE_MAP:
        return CDM_TYPE_MAP[data_type], options
    if data_type in CDM_STRING_TYPES or "maximumLength" in member:
        return "String", None
    raise ValueError(f"unmapped CDM data type {data_type!r} for {member.get('name')}")


def walk_cdm_members(attributes: list[Any]) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    for attribute in attributes:
        if "attributeGroupReference" in attribute:
            group = attribute["attributeGroupReference"]
            members.extend(walk_cdm_members(group.get("members", [])))
        elif isinstance(attribute, dict):
            members.append(attribute)
    return members


def load_cdm(cdm_dir: Path) -> dict[str, CdmEntity]:
    """Dataverse logical name -> entity, merging a base file with its extensions."""
    definitions: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(cdm_dir.rglob("*.cdm.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        relative = path.relative_to(cdm_dir).as_posix()
        definitions.extend(
            (relative, d) for d in document.get("definitions", []) if "entityName" in d
        )
    by_cdm_name: dict[str, str] = {}
    for _, definition in definitions:
        source = definition.get("sourceName")
        if source:
            by_cdm_name[definition["entityName"]] = source.lower()
    entities: dict[str, CdmEntity] = {}
    # Base files (shorter paths) first, then their extensions.
    for relative, definition in sorted(definitions, key=lambda d: (d[0].count("/"), d[0])):
        logical = by_cdm_name.get(definition["entityName"], definition["entityName"].lower())
        entity = entities.setdefault(
            logical,
            CdmEntity(
                definition["entityName"], definition.get("sourceName", definition["entityName"])
            ),
        )
        entity.files.append(relative)
        for member in walk_cdm_members(definition.get("hasAttributes", [])):
            attribute = cdm_attribute(member, relative, by_cdm_name)
            if attribute is not None:
                entity.attributes.setdefault(attribute.logical_name, attribute)
    return entities


def cdm_target_from_identifier(entity: dict[str, Any]) -> str:
    """A referenced CDM entity without a document here is named by its identifying attribute:
    "Currency/(resolvedAttributes)/transactionCurrencyId" -> transactioncurrency."""
    arguments = trait_argument(entity.get("appliedTraits", []), "is.identifiedBy") or []
    for argument in arguments:
        if isinstance(argument, str) and argument.endswith("Id"):
            return argument.rsplit("/", 1)[-1].removesuffix("Id").lower()
    return str(entity["entityReference"]).lower()


def cdm_attribute(
    member: dict[str, Any], source: str, by_cdm_name: dict[str, str]
) -> CdmAttribute | None:
    if "entity" in member:
        foreign_key = member.get("resolutionGuidance", {}).get("entityByReference", {})
        foreign_key = foreign_key.get("foreignKeyAttribute")
        reference = member["entity"].get("entityReference")
        if not foreign_key or not isinstance(reference, str):
            return None
        target = by_cdm_name.get(reference) or cdm_target_from_identifier(member["entity"])
        return CdmAttribute(
            foreign_key["sourceName"], "Lookup", None, None, None,
            cdm_required_level(foreign_key.get("appliedTraits", [])), None, [target], source,
        )  # fmt: skip
    if "sourceName" not in member:
        return None
    attribute_type, options = cdm_data_type(member)
    if attribute_type == "Boolean":
        # CDM gives a boolean no labels; Dataverse's two options are 1 (true) and 0 (false).
        options = [
            {"Value": 1, "Label": "True", "State": None, "DefaultStatus": None},
            {"Value": 0, "Label": "False", "State": None, "DefaultStatus": None},
        ]
    return CdmAttribute(
        member["sourceName"], attribute_type, member.get("maximumLength"),
        member.get("minimumValue"), member.get("maximumValue"),
        cdm_required_level(member.get("appliedTraits", [])), options, None, source,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Research notes (facts neither the pages nor CDM hold)
# --------------------------------------------------------------------------------------------


@dataclass
class ResearchColumn:
    logical_name: str
    attribute_type: str | None
    max_length: int | None
    required_level: str | None
    valid_for_create: bool | None
    options: list[dict[str, Any]] | None


def research_section(text: str, number: int) -> str:
    match = re.search(rf"^## {number}\. .*?(?=^## \d+\. |\Z)", text, re.S | re.M)
    if not match:
        raise ValueError(f"research notes have no section {number}")
    return match.group(0)


def parse_research_options(text: str) -> list[dict[str, Any]] | None:
    found = re.findall(r"(\d+) ([A-Z][A-Za-z-]*(?: [A-Z][A-Za-z-]*)*)", text)
    if len(found) < 2:
        return None
    return [
        {"Value": int(value), "Label": label, "State": None, "DefaultStatus": None}
        for value, label in found
    ]


def parse_systemuser_research(section: str) -> list[ResearchColumn]:
    """The `**systemusers columns**` bullets of research §10."""
    block = section.split("**systemusers columns**", 1)[1].split("\n\n", 1)[0]
    columns = []
    for bullet in block.splitlines():
        if not bullet.startswith("- "):
            continue
        names_part, _, facts = bullet[2:].partition(":")
        names = re.findall(r"`([a-z_]+)`", names_part)
        type_match = re.match(r"\s*(String|Boolean|Picklist|Integer|Memo|DateTime)\b", facts)
        length = re.search(r"MaxLength (\d+)", facts)
        level = re.search(r"\b(SystemRequired|ApplicationRequired|Recommended)\b", facts)
        create = re.search(r"IsValidForCreate (True|False)", facts)
        options_text = facts.split("with", 1)[1] if " with " in facts else facts
        option_match = re.search(r"\(([^)]*)\)", facts)
        options = parse_research_options(option_match.group(1) if option_match else options_text)
        for name in names:
            columns.append(
                ResearchColumn(
                    name,
                    type_match.group(1) if type_match else None,
                    int(length.group(1)) if length else None,
                    level.group(1) if level else None,
                    (create.group(1) == "True") if create else None,
                    options,
                )
            )
    return columns


@dataclass
class OrganizationFacts:
    entity_set: str
    upload_column: str
    default_upload: int
    maximum_upload: int


def parse_organization_research(section: str) -> OrganizationFacts:
    query = re.search(r"GET (\w+)\?\$select=(\w+)", section)
    default = re.search(r"default is \*\*[^(]*\(([\d,]+) bytes\)", section)
    maximum = re.search(r"maximum is \*\*[^(]*\(([\d,]+) bytes\)", section)
    if not (query and default and maximum):
        raise ValueError("research §8 no longer states the organization upload limit")
    return OrganizationFacts(
        query.group(1),
        query.group(2),
        int(default.group(1).replace(",", "")),
        int(maximum.group(1).replace(",", "")),
    )


# --------------------------------------------------------------------------------------------
# Assembling the tables
# --------------------------------------------------------------------------------------------


def parse_number(text: str | None) -> int | float | None:
    if text is None or text == "":
        return None
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def parse_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    return {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower())


def parse_targets(text: str | None) -> list[str] | None:
    if not text:
        return None
    return sorted({target.strip() for target in text.split(",") if target.strip()})


def blank_attribute(logical_name: str, schema_name: str, attribute_type: str) -> dict[str, Any]:
    return {
        "LogicalName": logical_name,
        "SchemaName": schema_name,
        "AttributeType": attribute_type,
        "MaxLength": None,
        "MinValue": None,
        "MaxValue": None,
        "Precision": None,
        "Format": None,
        "DateTimeBehavior": None,
        "RequiredLevel": "None",
        "IsValidForCreate": True,
        "IsValidForUpdate": True,
        "IsValidForRead": True,
        "IsPrimaryId": False,
        "IsPrimaryName": False,
        "Targets": None,
        "OptionSet": None,
        "DefaultValue": None,
        "AttributeOf": None,
    }


def default_value(column: PageColumn, attribute_type: str) -> Any:
    raw = column.default_value
    if raw is None:
        return None
    if attribute_type == "Boolean":
        return parse_bool(raw)
    number = parse_number(raw) if re.fullmatch(r"-?\d+", raw) else None
    if attribute_type in ("Picklist", "State", "Status") and number == -1:
        return None
    return number


def page_attribute(column: PageColumn, writable: bool) -> dict[str, Any]:
    props = column.properties
    attribute_type = props["Type"]
    if attribute_type not in ATTRIBUTE_TYPES:
        raise ValueError(f"unknown attribute type {attribute_type!r} on {column.schema_name}")
    attribute = blank_attribute(props["LogicalName"], column.schema_name, attribute_type)
    attribute.update(
        {
            "MaxLength": parse_number(props.get("MaxLength")),
            "MinValue": parse_number(props.get("MinValue")),
            "MaxValue": parse_number(props.get("MaxValue")),
            "Precision": parse_number(props.get("Precision")),
            "Format": props.get("Format") or props.get("FormatName") or None,
            "DateTimeBehavior": props.get("DateTimeBehavior") or None,
            "RequiredLevel": props.get("RequiredLevel") or "None",
            "IsValidForCreate": writable,
            "IsValidForUpdate": writable,
            "IsValidForRead": parse_bool(props.get("IsValidForRead")) is not False,
            "Targets": parse_targets(props.get("Targets")),
            "DefaultValue": default_value(column, attribute_type),
        }
    )
    if attribute["RequiredLevel"] not in REQUIRED_LEVELS:
        raise ValueError(f"unknown RequiredLevel on {column.schema_name}")
    if column.options is not None and attribute_type in OPTION_TYPES:
        attribute["OptionSet"] = {"Options": column.options}
    return attribute


def explicit_validity(column: PageColumn) -> tuple[bool | None, bool | None]:
    return (
        parse_bool(column.properties.get("IsValidForCreate")),
        parse_bool(column.properties.get("IsValidForUpdate")),
    )


def validity_consensus(pages: list[Page]) -> dict[str, tuple[bool, bool]]:
    """LogicalName -> (create, update) that every older-layout page listing it writable states."""
    seen: dict[str, set[tuple[bool, bool]]] = defaultdict(set)
    explicit_count: dict[str, int] = defaultdict(int)
    for page in pages:
        if page.layout != "older":
            continue
        primary_id = page.properties["PrimaryIdAttribute"]
        for schema_name in page.writable:
            column = page.columns[schema_name]
            logical = column.properties["LogicalName"]
            if logical == primary_id:
                continue
            create, update = explicit_validity(column)
            if create is not None or update is not None:
                explicit_count[logical] += 1
            seen[logical].add((create is not False, update is not False))
    return {
        name: next(iter(values))
        for name, values in seen.items()
        if len(values) == 1 and explicit_count[name] >= 2 and next(iter(values)) != (True, True)
    }


def read_only_consensus(pages: list[Page]) -> set[str]:
    read_only: set[str] = set()
    writable: set[str] = set()
    for page in pages:
        read_only.update(page.columns[name].properties["LogicalName"] for name in page.read_only)
        writable.update(page.columns[name].properties["LogicalName"] for name in page.writable)
    return read_only - writable


def assign_attribute_of(attributes: dict[str, dict[str, Any]]) -> None:
    lookups = [a["LogicalName"] for a in attributes.values() if a["AttributeType"] in LOOKUP_TYPES]
    for attribute in attributes.values():
        writable = attribute["IsValidForCreate"] or attribute["IsValidForUpdate"]
        name = attribute["LogicalName"]
        for lookup in lookups:
            companions = {lookup + "name", lookup + "yominame"} if not writable else set()
            if attribute["AttributeType"] == "EntityName":
                companions |= {lookup + "type", lookup.removesuffix("id") + "typecode"}
            if name in companions:
                attribute["AttributeOf"] = lookup


@dataclass
class Table:
    meta: dict[str, Any]
    attributes: dict[str, dict[str, Any]]
    notes: set[str] = field(default_factory=set)
    many_to_one: list[dict[str, Any]] = field(default_factory=list)
    one_to_many: list[dict[str, Any]] = field(default_factory=list)
    page: Page | None = None


def table_from_page(page: Page, consensus: dict[str, tuple[bool, bool]]) -> Table:
    props = page.properties
    primary_id, primary_name = props["PrimaryIdAttribute"], props.get("PrimaryNameAttribute")
    attributes: dict[str, dict[str, Any]] = {}
    notes = {RULES["validity-lists"], RULES["is-custom"], RULES["object-type-code"]}
    writable_names = set(page.writable)
    for schema_name, column in page.columns.items():
        attribute = page_attribute(column, schema_name in writable_names)
        create, update = explicit_validity(column)
        if create is not None:
            attribute["IsValidForCreate"] = create
        if update is not None:
            attribute["IsValidForUpdate"] = update
        logical = attribute["LogicalName"]
        if page.layout == "newer" and schema_name in writable_names:
            if logical in consensus:
                attribute["IsValidForCreate"], attribute["IsValidForUpdate"] = consensus[logical]
                notes.add(RULES["validity-consensus"])
            elif logical == primary_id:
                attribute["IsValidForUpdate"] = False
                notes.add(RULES["validity-consensus"])
        attribute["IsPrimaryId"] = logical == primary_id
        attribute["IsPrimaryName"] = logical == primary_name
        attributes[logical] = attribute
    meta = {
        "LogicalName": props["LogicalName"],
        "SchemaName": props["SchemaName"],
        "EntitySetName": props["EntitySetName"],
        "PrimaryIdAttribute": primary_id,
        "PrimaryNameAttribute": primary_name,
        "ObjectTypeCode": None,
        "OwnershipType": props.get("OwnershipType"),
        "IsActivity": primary_id == "activityid",
        "IsCustomEntity": False,
        "Messages": sorted(
            set(page.messages) | set(NEWER_PAGE_MESSAGES.get(props["LogicalName"], ()))
        ),
    }
    if props["LogicalName"] in NEWER_PAGE_MESSAGES:
        notes.add(RULES["newer-page-messages"])
    if meta["IsActivity"]:
        notes.add(RULES["is-activity"])
    return Table(meta, attributes, notes, page=page)


def cdm_to_attribute(cdm: CdmAttribute, schema_name: str) -> dict[str, Any]:
    attribute = blank_attribute(cdm.logical_name, schema_name, cdm.attribute_type)
    attribute.update(
        {
            "MaxLength": cdm.max_length,
            "MinValue": parse_number(str(cdm.min_value)) if cdm.min_value is not None else None,
            "MaxValue": parse_number(str(cdm.max_value)) if cdm.max_value is not None else None,
            "RequiredLevel": cdm.required_level,
            "Targets": cdm.targets,
            "OptionSet": {"Options": cdm.options} if cdm.options else None,
        }
    )
    return attribute


def systemuser_table(cdm: CdmEntity, research: list[ResearchColumn], read_only: set[str]) -> Table:
    attributes: dict[str, dict[str, Any]] = {}
    for cdm_attr in cdm.attributes.values():
        attribute = cdm_to_attribute(cdm_attr, cdm_attr.logical_name)
        if cdm_attr.logical_name in read_only:
            attribute["IsValidForCreate"] = attribute["IsValidForUpdate"] = False
        attributes[cdm_attr.logical_name] = attribute
    notes = {
        "no reference page: columns from the CDM User documents; SchemaName of each column is "
        "its logical name (CDM gives no Dataverse SchemaName); a boolean CDM gives no labels for "
        "has options 1 'True' and 0 'False'",
        RULES["readonly-consensus"],
        RULES["is-custom"],
        RULES["object-type-code"],
        RULES["ownership-cdm"],
    }
    for column in research:
        found = attributes.get(column.logical_name)
        if found is not None:
            attribute = found
        else:
            attribute = blank_attribute(
                column.logical_name, column.logical_name, column.attribute_type or "String"
            )
            attributes[column.logical_name] = attribute
        changed = []
        if column.attribute_type and column.attribute_type != attribute["AttributeType"]:
            attribute["AttributeType"] = column.attribute_type
            changed.append("AttributeType")
        if column.max_length is not None and column.max_length != attribute["MaxLength"]:
            attribute["MaxLength"] = column.max_length
            changed.append("MaxLength")
        if column.required_level and column.required_level != attribute["RequiredLevel"]:
            attribute["RequiredLevel"] = column.required_level
            changed.append("RequiredLevel")
        if column.valid_for_create is not None:
            attribute["IsValidForCreate"] = column.valid_for_create
            changed.append("IsValidForCreate")
        if column.options and attribute["AttributeType"] in OPTION_TYPES:
            attribute["OptionSet"] = {"Options": column.options}
            changed.append("OptionSet")
        if changed:
            notes.add(
                f"systemuser.{column.logical_name} {', '.join(changed)} from research "
                "dataverse_api.md §10 (systemuser.md reference page)"
            )
    primary_id = "systemuserid"
    has_owner = "ownerid" in attributes
    meta: dict[str, Any] = {
        "LogicalName": "systemuser",
        "SchemaName": cdm.schema_name,
        "EntitySetName": "systemusers",
        "PrimaryIdAttribute": primary_id,
        "PrimaryNameAttribute": "fullname",
        "ObjectTypeCode": None,
        "OwnershipType": "BusinessOwned"
        if "businessunitid" in attributes and not has_owner
        else None,
        "IsActivity": False,
        "IsCustomEntity": False,
        "Messages": [],
    }
    notes.add("Messages: none listed, systemuser has no reference page here")
    notes.add(
        "EntitySetName systemusers and PrimaryNameAttribute fullname: research dataverse_api.md "
        "§10 ('systemusers columns', the systemusers entity set) and the raw_dataverse contract"
    )
    for name, attribute in attributes.items():
        attribute["IsPrimaryId"] = name == primary_id
        attribute["IsPrimaryName"] = name == "fullname"
        if name == primary_id:
            attribute["IsValidForUpdate"] = False
    return Table(meta, attributes, notes)


def organization_table(facts: OrganizationFacts) -> Table:
    organization_id = blank_attribute("organizationid", "OrganizationId", "Uniqueidentifier")
    organization_id.update(
        {"IsPrimaryId": True, "IsValidForUpdate": False, "RequiredLevel": "SystemRequired"}
    )
    name = blank_attribute("name", "Name", "String")
    name.update({"IsPrimaryName": True, "Format": "Text"})
    upload = blank_attribute(facts.upload_column, "MaxUploadFileSize", "Integer")
    upload.update(
        {
            "MinValue": 0,
            "MaxValue": facts.maximum_upload,
            "DefaultValue": facts.default_upload,
            "RequiredLevel": "SystemRequired",
        }
    )
    meta = {
        "LogicalName": "organization",
        "SchemaName": "Organization",
        "EntitySetName": facts.entity_set,
        "PrimaryIdAttribute": "organizationid",
        "PrimaryNameAttribute": "name",
        "ObjectTypeCode": None,
        "OwnershipType": "OrganizationOwned",
        "IsActivity": False,
        "IsCustomEntity": False,
        "Messages": ["Retrieve", "RetrieveMultiple", "Update"],
    }
    notes = {
        "minimal table, no reference page or CDM document here: organizationid, name and "
        f"{facts.upload_column} (default {facts.default_upload}, maximum {facts.maximum_upload} "
        "bytes) and the entity set from research dataverse_api.md §8 "
        f"('GET {facts.entity_set}?$select={facts.upload_column}'); name has no documented "
        "MaxLength here, so none is enforced",
        "OwnershipType OrganizationOwned and Messages Retrieve/RetrieveMultiple/Update: "
        "Dataverse conventions for the single organization row, not from a reference file",
    }
    attributes = {a["LogicalName"]: a for a in (organization_id, name, upload)}
    return Table(meta, attributes, notes)


# --------------------------------------------------------------------------------------------
# Relationships
# --------------------------------------------------------------------------------------------


def activity_suffixed_lookups(pages: list[Page]) -> frozenset[str]:
    """Single-target lookups whose navigation property is <lookup>_<activity> on every
    newer-layout activity page that names it (createdby_task, transactioncurrencyid_email, ...)."""
    verdicts: dict[str, set[bool]] = defaultdict(set)
    for page in pages:
        if page.properties.get("PrimaryIdAttribute") != "activityid":
            continue
        for relationship in page.many_to_one:
            props = relationship.properties
            navigation = props.get("ReferencingEntityNavigationPropertyName")
            attribute = props.get("ReferencingAttribute", "")
            column = next(
                (c for c in page.columns.values() if c.properties["LogicalName"] == attribute),
                None,
            )
            if navigation is None or column is None or column.properties["Type"] != "Lookup":
                continue
            if len(parse_targets(column.properties.get("Targets")) or []) != 1:
                continue
            verdicts[attribute].add(navigation == f"{attribute}_{page.logical_name}")
    return frozenset(name for name, seen in verdicts.items() if seen == {True})


def derived_navigation(
    table: Table, attribute: dict[str, Any], target: str, suffixed: frozenset[str]
) -> tuple[str, str]:
    """(navigation property name, rule key) by Dataverse's naming conventions."""
    name = attribute["LogicalName"]
    if attribute["AttributeType"] == "Owner":
        return name, "nav-owner"
    targets = attribute["Targets"] or []
    if len(targets) <= 1 and attribute["AttributeType"] == "Lookup":
        if table.meta["IsActivity"] and name in suffixed:
            return f"{name}_{table.meta['LogicalName']}", "nav-activity-suffix"
        return name, "nav-single"
    if name == "regardingobjectid" and table.meta["IsActivity"]:
        return f"{name}_{target}_{table.meta['LogicalName']}", "nav-regarding"
    return f"{name}_{target}", "nav-polymorphic"


def lookup_candidates(table: Table, referenced: str) -> list[str]:
    return sorted(
        a["LogicalName"]
        for a in table.attributes.values()
        if a["AttributeType"] in ("Lookup", "Customer") and referenced in (a["Targets"] or [])
    )


def referencing_attribute_by_name(table: Table, schema_name: str, referenced: str) -> str | None:
    candidates = lookup_candidates(table, referenced)
    if len(candidates) == 1:
        return candidates[0]
    squashed = schema_name.lower().replace("_", "")
    by_suffix = [c for c in candidates if squashed.endswith(c.replace("_", ""))]
    return max(by_suffix, key=len) if by_suffix else None


def referencing_attribute_unclaimed(table: Table, referenced: str, claimed: set[str]) -> str | None:
    unclaimed = [c for c in lookup_candidates(table, referenced) if c not in claimed]
    return unclaimed[0] if len(unclaimed) == 1 else None


def primary_id_of(tables: dict[str, Table], logical_name: str) -> tuple[str, bool]:
    if logical_name in tables:
        return tables[logical_name].meta["PrimaryIdAttribute"], False
    return f"{logical_name}id", True


def add_many_to_one(
    table: Table,
    schema_name: str,
    referenced: str,
    referenced_attribute: str,
    referencing_attribute: str,
    navigation: str,
    derived: bool,
) -> None:
    table.many_to_one.append(
        {
            "SchemaName": schema_name,
            "ReferencedEntity": referenced,
            "ReferencedAttribute": referenced_attribute,
            "ReferencingAttribute": referencing_attribute,
            "ReferencingEntityNavigationPropertyName": navigation,
            "Derived": derived,
        }
    )


def build_relationships(tables: dict[str, Table]) -> None:
    pages = {t.meta["LogicalName"]: t.page for t in tables.values() if t.page is not None}
    suffixed = activity_suffixed_lookups(list(pages.values()))
    one_to_many_index: dict[tuple[str, str], PageRelationship] = {}
    for referenced, page in pages.items():
        for relationship in page.one_to_many:
            one_to_many_index[(referenced, relationship.schema_name)] = relationship

    for table in tables.values():
        if table.page is None:
            continue
        claimed: set[str] = set()
        pending: list[PageRelationship] = []
        for relationship in table.page.many_to_one:
            props = relationship.properties
            if "ReferencingEntityNavigationPropertyName" in props:
                add_many_to_one(
                    table, relationship.schema_name, props["ReferencedEntity"],
                    props["ReferencedAttribute"], props["ReferencingAttribute"],
                    props["ReferencingEntityNavigationPropertyName"], derived=False,
                )  # fmt: skip
                continue
            related = relationship.related_table or ""
            counterpart = one_to_many_index.get((related, relationship.schema_name))
            if counterpart is not None and "ReferencingAttribute" in counterpart.properties:
                claimed.add(counterpart.properties["ReferencingAttribute"])
            pending.append(relationship)
        resolved: list[tuple[PageRelationship, str | None]] = []
        for relationship in pending:
            related = relationship.related_table or ""
            counterpart = one_to_many_index.get((related, relationship.schema_name))
            if counterpart is not None and "ReferencingAttribute" in counterpart.properties:
                resolved.append((relationship, counterpart.properties["ReferencingAttribute"]))
                continue
            table.notes.add(RULES["referencing-attribute"])
            found = referencing_attribute_by_name(table, relationship.schema_name, related)
            if found is not None:
                claimed.add(found)
            resolved.append((relationship, found))
        for relationship, referencing in resolved:
            related = relationship.related_table or ""
            if referencing is None:
                referencing = referencing_attribute_unclaimed(table, related, claimed)
            if referencing is None:
                table.notes.add(
                    f"Many-To-One {relationship.schema_name} to {related} left out: its "
                    "ReferencingAttribute is not determined by the reference files"
                )
                continue
            claimed.add(referencing)
            add_derived_many_to_one(
                tables, table, relationship.schema_name, related, referencing, suffixed
            )

    # One-To-Many entries on a related page that the referencing table's page does not list.
    for referenced, page in sorted(pages.items()):
        for relationship in page.one_to_many:
            referencing_entity = relationship.properties.get("ReferencingEntity")
            referencing_attribute = relationship.properties.get("ReferencingAttribute")
            if referencing_entity not in tables or not referencing_attribute:
                continue
            table = tables[referencing_entity]
            known = {(m["SchemaName"], m["ReferencedEntity"]) for m in table.many_to_one}
            if (relationship.schema_name, referenced) in known:
                continue
            attribute = table.attributes.get(referencing_attribute)
            if attribute is None or attribute["AttributeType"] not in LOOKUP_TYPES:
                continue
            if referenced not in (attribute["Targets"] or []):
                attribute["Targets"] = sorted({*(attribute["Targets"] or []), referenced})
                table.notes.add(RULES["targets-from-related-pages"])
                table.notes.add(
                    f"{referencing_attribute} target {referenced} from {page.file_name} "
                    f"One-To-Many {relationship.schema_name}"
                )
            add_derived_many_to_one(
                tables, table, relationship.schema_name, referenced, referencing_attribute, suffixed
            )

    add_owner_relationships(tables)
    add_lookups_from_cdm_only_tables(tables, suffixed)
    renavigate_polymorphic(tables, suffixed)
    build_one_to_many(tables)


def add_derived_many_to_one(
    tables: dict[str, Table],
    table: Table,
    schema_name: str,
    referenced: str,
    referencing: str,
    suffixed: frozenset[str],
) -> None:
    attribute = table.attributes.get(referencing)
    if (
        attribute is not None
        and attribute["AttributeType"] in LOOKUP_TYPES
        and referenced not in (attribute["Targets"] or [])
    ):
        attribute["Targets"] = sorted({*(attribute["Targets"] or []), referenced})
        table.notes.add(RULES["targets-from-related-pages"])
        table.notes.add(f"{referencing} target {referenced} from relationship {schema_name}")
    referenced_attribute, id_derived = primary_id_of(tables, referenced)
    if id_derived:
        table.notes.add(RULES["referenced-attribute"])
    if attribute is None:
        navigation, rule = referencing, "nav-single"
    else:
        navigation, rule = derived_navigation(table, attribute, referenced, suffixed)
    table.notes.add(RULES[rule])
    add_many_to_one(
        table, schema_name, referenced, referenced_attribute, referencing, navigation, derived=True
    )


def add_owner_relationships(tables: dict[str, Table]) -> None:
    for table in tables.values():
        owner = table.attributes.get("ownerid")
        if owner is None or owner["AttributeType"] != "Owner":
            continue
        for target in owner["Targets"] or ["systemuser", "team"]:
            if any(
                m["ReferencingAttribute"] == "ownerid"
                and m["ReferencedEntity"] == target
                and m["ReferencingEntityNavigationPropertyName"] == "ownerid"
                for m in table.many_to_one
            ):
                continue
            referenced_attribute, _ = primary_id_of(tables, target)
            add_many_to_one(
                table, f"{table.meta['LogicalName']}_ownerid_{target}", target,
                referenced_attribute, "ownerid", "ownerid", derived=True,
            )  # fmt: skip
            table.notes.add(RULES["nav-owner"])


def add_lookups_from_cdm_only_tables(tables: dict[str, Table], suffixed: frozenset[str]) -> None:
    """A table built from CDM has no relationship list: one Many-To-One per lookup target."""
    for table in tables.values():
        if table.page is not None:
            continue
        for attribute in sorted(table.attributes.values(), key=lambda a: a["LogicalName"]):
            if attribute["AttributeType"] not in ("Lookup", "Customer"):
                continue
            known = {(m["ReferencingAttribute"], m["ReferencedEntity"]) for m in table.many_to_one}
            for target in attribute["Targets"] or []:
                if (attribute["LogicalName"], target) in known:
                    continue
                schema = f"{table.meta['LogicalName']}_{attribute['LogicalName']}_{target}"
                add_derived_many_to_one(
                    tables, table, schema, target, attribute["LogicalName"], suffixed
                )


def renavigate_polymorphic(tables: dict[str, Table], suffixed: frozenset[str]) -> None:
    """A derived single-target name can be wrong once related pages added more targets."""
    for table in tables.values():
        for relationship in table.many_to_one:
            if not relationship["Derived"]:
                continue
            attribute = table.attributes.get(relationship["ReferencingAttribute"])
            if attribute is None:
                continue
            navigation, rule = derived_navigation(
                table, attribute, relationship["ReferencedEntity"], suffixed
            )
            relationship["ReferencingEntityNavigationPropertyName"] = navigation
            table.notes.add(RULES[rule])


def build_one_to_many(tables: dict[str, Table]) -> None:
    for table in tables.values():
        if table.page is None:
            continue
        for page_relationship in table.page.one_to_many:
            props = page_relationship.properties
            if "ReferencingEntity" not in props:
                continue
            table.one_to_many.append(
                {
                    "SchemaName": page_relationship.schema_name,
                    "ReferencingEntity": props["ReferencingEntity"],
                    "ReferencingAttribute": props["ReferencingAttribute"],
                    "ReferencedEntityNavigationPropertyName": props.get(
                        "ReferencedEntityNavigationPropertyName", page_relationship.schema_name
                    ),
                    "Derived": False,
                }
            )
    for referencing_name, referencing in sorted(tables.items()):
        for relationship in referencing.many_to_one:
            referenced = tables.get(relationship["ReferencedEntity"])
            if referenced is None or relationship["SchemaName"].endswith(
                ("_ownerid_systemuser", "_ownerid_team")
            ):
                continue
            known = {
                (o["SchemaName"], o["ReferencingEntity"], o["ReferencingAttribute"])
                for o in referenced.one_to_many
            }
            key = (
                relationship["SchemaName"],
                referencing_name,
                relationship["ReferencingAttribute"],
            )
            if key in known:
                continue
            referenced.one_to_many.append(
                {
                    "SchemaName": relationship["SchemaName"],
                    "ReferencingEntity": referencing_name,
                    "ReferencingAttribute": relationship["ReferencingAttribute"],
                    "ReferencedEntityNavigationPropertyName": relationship["SchemaName"],
                    "Derived": True,
                }
            )
            referenced.notes.add(RULES["one-to-many-from-many-to-one"])


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def cdm_cross_check(table: Table, cdm: CdmEntity | None) -> list[str]:
    """Where CDM and the page disagree on a string MaxLength or a RequiredLevel (page wins)."""
    if cdm is None or table.page is None:
        return []
    differences = []
    for name, cdm_attr in sorted(cdm.attributes.items()):
        attribute = table.attributes.get(name)
        if attribute is None:
            continue
        if (
            attribute["AttributeType"] in ("String", "Memo")
            and cdm_attr.max_length is not None
            and attribute["MaxLength"] != cdm_attr.max_length
        ):
            differences.append(
                f"{name} MaxLength page {attribute['MaxLength']} / CDM {cdm_attr.max_length}"
            )
    return differences


def table_document(
    table: Table, commits: dict[str, tuple[str, str]], cdm: CdmEntity | None
) -> dict[str, Any]:
    provenance: dict[str, Any] = {
        "page": table.page.file_name if table.page else None,
        "repository": None,
        "commit": None,
        "cdm": cdm.files if cdm else None,
        "notes": sorted(table.notes),
    }
    if table.page and table.page.file_name in commits:
        provenance["repository"], provenance["commit"] = commits[table.page.file_name]
    differences = cdm_cross_check(table, cdm)
    if differences:
        provenance["cdm_differences"] = differences
    return {
        **table.meta,
        "Attributes": sorted(table.attributes.values(), key=lambda a: a["LogicalName"]),
        "ManyToOne": sorted(
            table.many_to_one,
            key=lambda m: (
                m["ReferencingAttribute"],
                m["ReferencedEntity"],
                m["ReferencingEntityNavigationPropertyName"],
                m["SchemaName"],
            ),
        ),
        "OneToMany": sorted(
            table.one_to_many,
            key=lambda o: (o["ReferencingEntity"], o["ReferencingAttribute"], o["SchemaName"]),
        ),
        "Keys": [],
        "Provenance": provenance,
    }


def build_tables(reference_dir: Path) -> dict[str, dict[str, Any]]:
    pages_dir = reference_dir / "dataverse-tables"
    pages = [
        parse_page(path) for path in sorted(pages_dir.glob("*.md")) if path.name != "README.md"
    ]
    commits = read_page_commits(pages_dir / "README.md")
    cdm = load_cdm(reference_dir / "cdm")
    research = (reference_dir.parent / "research" / "dataverse_api.md").read_text(encoding="utf-8")

    consensus = validity_consensus(pages)
    tables: dict[str, Table] = {}
    for page in pages:
        tables[page.logical_name] = table_from_page(page, consensus)
    tables["systemuser"] = systemuser_table(
        cdm["systemuser"],
        parse_systemuser_research(research_section(research, 10)),
        read_only_consensus(pages),
    )
    tables["organization"] = organization_table(
        parse_organization_research(research_section(research, 8))
    )
    for table in tables.values():
        assign_attribute_of(table.attributes)
    build_relationships(tables)
    for table in tables.values():
        if any(a["AttributeOf"] for a in table.attributes.values()):
            table.notes.add(RULES["attribute-of"])
    return {name: table_document(tables[name], commits, cdm.get(name)) for name in sorted(tables)}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_tables(documents: dict[str, dict[str, Any]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in documents:
            stale.unlink()
    written = []
    for name, document in documents.items():
        path = out_dir / f"{name}.json"
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    written = write_tables(build_tables(args.reference_dir), args.out_dir)
    print(f"wrote {len(written)} tables to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
