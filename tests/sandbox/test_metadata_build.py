"""The local Dataverse's table metadata, built from Microsoft's reference files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.dataverse.metadata import build_metadata, load_table_metadata

REFERENCE_DIR = build_metadata.DEFAULT_REFERENCE_DIR
COMMITTED_DIR = build_metadata.DEFAULT_OUT_DIR

pytestmark = pytest.mark.skipif(
    not (REFERENCE_DIR / "dataverse-tables").is_dir(),
    reason=f"Microsoft reference files not found at {REFERENCE_DIR}",
)


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, Any]]:
    return build_metadata.build_tables(REFERENCE_DIR)


def column(tables: dict[str, dict[str, Any]], table: str, name: str) -> dict[str, Any]:
    matches = [a for a in tables[table]["Attributes"] if a["LogicalName"] == name]
    assert len(matches) == 1, f"{table}.{name} appears {len(matches)} times"
    return matches[0]


def navigation(tables: dict[str, dict[str, Any]], table: str, lookup: str) -> dict[str, str]:
    """navigation property -> referenced table, for one lookup column."""
    return {
        m["ReferencingEntityNavigationPropertyName"]: m["ReferencedEntity"]
        for m in tables[table]["ManyToOne"]
        if m["ReferencingAttribute"] == lookup
    }


def options(attribute: dict[str, Any], key: str) -> dict[int, Any]:
    return {o["Value"]: (o["Label"], o[key]) for o in attribute["OptionSet"]["Options"]}


def test_every_reference_page_plus_systemuser_and_organization_is_built(tables):
    pages = {p.stem for p in (REFERENCE_DIR / "dataverse-tables").glob("*.md")} - {"README"}
    assert set(tables) == pages | {"systemuser", "organization"}
    assert {"account", "contact", "opportunity", "task", "phonecall", "annotation"} <= set(tables)


@pytest.mark.parametrize(
    ("table", "name", "max_length", "required"),
    [
        ("contact", "firstname", 50, "Recommended"),
        ("contact", "lastname", 50, "ApplicationRequired"),
        ("contact", "emailaddress1", 100, "None"),
        ("account", "name", 160, "ApplicationRequired"),
        ("task", "subject", 200, "ApplicationRequired"),
        ("annotation", "subject", 500, None),
        ("annotation", "notetext", 100000, None),
        ("phonecall", "phonenumber", 200, None),
        ("systemuser", "internalemailaddress", 100, "SystemRequired"),
        ("systemuser", "firstname", 256, None),
    ],
)
def test_documented_lengths_and_required_levels(tables, table, name, max_length, required):
    attribute = column(tables, table, name)
    assert attribute["MaxLength"] == max_length
    if required is not None:
        assert attribute["RequiredLevel"] == required


@pytest.mark.parametrize("table", ["contact", "task", "phonecall", "account", "annotation"])
def test_overriddencreatedon_is_create_only(tables, table):
    attribute = column(tables, table, "overriddencreatedon")
    assert (attribute["IsValidForCreate"], attribute["IsValidForUpdate"]) == (True, False)
    assert attribute["AttributeType"] == "DateTime"


@pytest.mark.parametrize("table", ["contact", "task", "phonecall", "appointment", "email"])
def test_statecode_is_set_by_update_only(tables, table):
    attribute = column(tables, table, "statecode")
    assert (attribute["IsValidForCreate"], attribute["IsValidForUpdate"]) == (False, True)


@pytest.mark.parametrize(
    ("table", "states", "statuses"),
    [
        (
            "task",
            {0: ("Open", 2), 1: ("Completed", 5), 2: ("Canceled", 6)},
            {
                2: ("Not Started", 0),
                3: ("In Progress", 0),
                4: ("Waiting on someone else", 0),
                7: ("Deferred", 0),
                5: ("Completed", 1),
                6: ("Canceled", 2),
            },  # fmt: skip
        ),
        (
            "phonecall",
            {0: ("Open", 1), 1: ("Completed", 2), 2: ("Canceled", 3)},
            {1: ("Open", 0), 2: ("Made", 1), 4: ("Received", 1), 3: ("Canceled", 2)},
        ),
        (
            "contact",
            {0: ("Active", 1), 1: ("Inactive", 2)},
            {1: ("Active", 0), 2: ("Inactive", 1)},
        ),
    ],
)
def test_state_and_status_option_sets_match_research(tables, table, states, statuses):
    assert options(column(tables, table, "statecode"), "DefaultStatus") == states
    assert options(column(tables, table, "statuscode"), "State") == statuses


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("contact", "createdon"),
        ("contact", "modifiedon"),
        ("contact", "versionnumber"),
        ("contact", "fullname"),
        ("contact", "parentcustomeridname"),
        ("task", "createdon"),
        ("phonecall", "modifiedon"),
        ("annotation", "filesize"),
        ("systemuser", "createdon"),
        ("systemuser", "fullname"),
    ],
)
def test_read_only_columns_are_present_and_not_writable(tables, table, name):
    attribute = column(tables, table, name)
    assert attribute["IsValidForCreate"] is False
    assert attribute["IsValidForUpdate"] is False


def test_lookup_name_companions_point_at_their_lookup(tables):
    assert column(tables, "contact", "parentcustomeridname")["AttributeOf"] == "parentcustomerid"
    assert column(tables, "contact", "owneridtype")["AttributeOf"] == "ownerid"
    assert column(tables, "task", "regardingobjecttypecode")["AttributeOf"] == "regardingobjectid"
    assert column(tables, "contact", "firstname")["AttributeOf"] is None


def test_systemuser_research_facts(tables):
    disabled = column(tables, "systemuser", "isdisabled")
    assert disabled["IsValidForCreate"] is False
    assert options(disabled, "State") == {1: ("Disabled", None), 0: ("Enabled", None)}
    access = options(column(tables, "systemuser", "accessmode"), "State")
    assert access[4] == ("Non-interactive", None)
    assert tables["systemuser"]["EntitySetName"] == "systemusers"
    assert column(tables, "systemuser", "systemuserid")["IsPrimaryId"] is True
    assert column(tables, "systemuser", "azureactivedirectoryobjectid")["AttributeType"] == (
        "Uniqueidentifier"
    )


def test_organization_upload_limit(tables):
    organization = tables["organization"]
    assert organization["EntitySetName"] == "organizations"
    assert column(tables, "organization", "maxuploadfilesize")["DefaultValue"] == 5242880


def test_contact_parent_customer_binds_to_account_or_contact(tables):
    assert navigation(tables, "contact", "parentcustomerid") == {
        "parentcustomerid_account": "account",
        "parentcustomerid_contact": "contact",
    }


def test_opportunity_lookups(tables):
    assert navigation(tables, "opportunity", "parentaccountid") == {"parentaccountid": "account"}
    assert navigation(tables, "opportunity", "parentcontactid") == {"parentcontactid": "contact"}
    assert navigation(tables, "opportunity", "customerid") == {
        "customerid_account": "account",
        "customerid_contact": "contact",
    }


@pytest.mark.parametrize("activity", ["task", "phonecall", "appointment", "email"])
def test_activities_regard_accounts_contacts_and_opportunities(tables, activity):
    navs = navigation(tables, activity, "regardingobjectid")
    for target in ("account", "contact", "opportunity"):
        assert navs[f"regardingobjectid_{target}_{activity}"] == target
        assert target in column(tables, activity, "regardingobjectid")["Targets"]


@pytest.mark.parametrize("activity", ["task", "phonecall", "appointment", "email"])
def test_activities_have_the_activity_party_collection(tables, activity):
    collections = {
        o["ReferencedEntityNavigationPropertyName"]: (
            o["ReferencingEntity"],
            o["ReferencingAttribute"],
        )
        for o in tables[activity]["OneToMany"]
    }
    assert collections[f"{activity}_activity_parties"] == ("activityparty", "activityid")
    assert tables[activity]["IsActivity"] is True


def test_annotation_objectid_targets(tables):
    navs = navigation(tables, "annotation", "objectid")
    for target in (
        "account",
        "contact",
        "opportunity",
        "task",
        "phonecall",
        "appointment",
        "email",
    ):
        assert navs[f"objectid_{target}"] == target


def test_activity_party_binds_to_each_party_table_and_activity(tables):
    navs = navigation(tables, "activityparty", "partyid")
    for target in ("account", "contact", "systemuser"):
        assert navs[f"partyid_{target}"] == target
    activities = navigation(tables, "activityparty", "activityid")
    for activity in ("appointment", "email", "phonecall", "task"):
        assert activities[f"activityid_{activity}"] == activity


def test_activity_common_lookups_carry_the_activity_suffix(tables):
    assert navigation(tables, "phonecall", "transactioncurrencyid") == {
        "transactioncurrencyid_phonecall": "transactioncurrency"
    }
    assert navigation(tables, "contact", "transactioncurrencyid") == {
        "transactioncurrencyid": "transactioncurrency"
    }


def test_every_user_owned_table_binds_ownerid_to_users_and_teams(tables):
    user_owned = [name for name, t in tables.items() if t["OwnershipType"] == "UserOwned"]
    assert {"account", "contact", "opportunity", "task", "phonecall", "annotation"} <= set(
        user_owned
    )
    for name in user_owned:
        owners = {
            m["ReferencedEntity"]
            for m in tables[name]["ManyToOne"]
            if m["ReferencingEntityNavigationPropertyName"] == "ownerid"
        }
        assert {"systemuser", "team"} <= owners, name


def test_derived_navigation_names_reproduce_the_documented_ones(tables):
    """The naming rules used for older-layout pages, checked on newer-layout pages that state
    the names: every documented name of the lookups this project binds is reproduced."""
    pages = [
        build_metadata.parse_page(REFERENCE_DIR / "dataverse-tables" / f"{name}.md")
        for name in ("task", "email", "annotation", "opportunity", "incident", "lead")
    ]
    suffixed = build_metadata.activity_suffixed_lookups(pages)
    lookups = {
        "regardingobjectid", "objectid", "customerid", "parentaccountid", "parentcontactid",
        "transactioncurrencyid", "createdby", "modifiedby", "owninguser", "parentcustomerid",
    }  # fmt: skip
    checked = 0
    for page in pages:
        table = build_metadata.Table(
            {"LogicalName": page.logical_name, "IsActivity": page.properties[
                "PrimaryIdAttribute"] == "activityid"},
            {},
        )  # fmt: skip
        for relationship in page.many_to_one:
            props = relationship.properties
            if (
                props["ReferencingAttribute"] not in lookups
                or props["ReferencedEntity"] not in tables
            ):
                continue
            attribute = column(tables, page.logical_name, props["ReferencingAttribute"])
            derived, _ = build_metadata.derived_navigation(
                table, attribute, props["ReferencedEntity"], suffixed
            )
            assert derived == props["ReferencingEntityNavigationPropertyName"], props
            checked += 1
    assert checked >= 40


def test_explicit_navigation_names_are_kept_verbatim(tables):
    documented = {
        m["ReferencingEntityNavigationPropertyName"]
        for m in tables["task"]["ManyToOne"]
        if not m["Derived"]
    }
    assert "regardingobjectid_account_task" in documented
    assert "activityid_activitypointer" in documented


def test_attributes_use_the_contract_vocabulary(tables):
    for table in tables.values():
        assert table["PrimaryIdAttribute"] in {a["LogicalName"] for a in table["Attributes"]}
        for attribute in table["Attributes"]:
            assert attribute["AttributeType"] in build_metadata.ATTRIBUTE_TYPES
            assert attribute["RequiredLevel"] in build_metadata.REQUIRED_LEVELS
            if attribute["AttributeType"] in ("State", "Status", "Boolean"):
                assert attribute["OptionSet"]["Options"], attribute["LogicalName"]
            if attribute["AttributeType"] == "Picklist":
                # A few pages list a choice column with an empty options table.
                assert isinstance(attribute["OptionSet"]["Options"], list)


def test_committed_files_are_a_fresh_build(tmp_path: Path):
    """Nobody hand-edits tables/*.json: they must equal what the script writes."""
    assert (
        build_metadata.main(["--reference-dir", str(REFERENCE_DIR), "--out-dir", str(tmp_path)])
        == 0
    )
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_bytes() for p in COMMITTED_DIR.glob("*.json")}
    assert sorted(committed) == sorted(fresh)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"re-run python -m sandbox.dataverse.metadata.build_metadata: {stale}"


def test_build_is_deterministic(tables):
    again = build_metadata.build_tables(REFERENCE_DIR)
    assert [build_metadata.render(again[n]) for n in sorted(again)] == [
        build_metadata.render(tables[n]) for n in sorted(tables)
    ]


def test_committed_tables_load_by_logical_name():
    committed = load_table_metadata()
    assert committed["contact"]["EntitySetName"] == "contacts"
    assert committed["task"]["PrimaryIdAttribute"] == "activityid"
