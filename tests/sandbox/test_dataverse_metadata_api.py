"""The Metadata API (create-update-entity-definitions, column definitions, relationships) and the
EntityDefinitions shapes Microsoft's SDK reads."""

from __future__ import annotations

import time

import httpx

SOLUTION = {"MSCRM.SolutionUniqueName": "examplesolution"}


def _label(text: str) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.Label",
        "LocalizedLabels": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel",
                "Label": text,
                "LanguageCode": 1033,
            }
        ],
    }


def _create_example_solution(api: httpx.Client) -> None:
    """Section 0 of Microsoft's Web API table schema operations sample: the publisher, then the
    solution the sample's components are created in."""
    if api.get("solutions", params={"$filter": "uniquename eq 'examplesolution'"}).json()["value"]:
        return
    publisher = api.post(
        "publishers",
        json={
            "friendlyname": "Example Publisher",
            "uniquename": "examplepublisher",
            "description": "An example publisher for samples",
            "customizationprefix": "sample",
            "customizationoptionvalueprefix": 72700,
        },
    )
    assert publisher.status_code == 204, publisher.text
    publisher_id = publisher.headers["OData-EntityId"].split("/v9.2/")[1]
    solution = api.post(
        "solutions",
        json={
            "friendlyname": "Example Solution",
            "uniquename": "examplesolution",
            "description": "An example solution for samples",
            "version": "1.0.0.0",
            "publisherid@odata.bind": publisher_id,
        },
    )
    assert solution.status_code == 204, solution.text


def _create_bank_account(api: httpx.Client) -> httpx.Response:
    _create_example_solution(api)
    return api.post(
        "EntityDefinitions",
        headers=SOLUTION,
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": "sample_BankAccount",
            "DisplayName": _label("Bank Account"),
            "DisplayCollectionName": _label("Bank Accounts"),
            "OwnershipType": "UserOwned",
            "IsActivity": False,
            "HasActivities": False,
            "HasNotes": False,
            "Attributes": [
                {
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "AttributeType": "String",
                    "AttributeTypeName": {"Value": "StringType"},
                    "SchemaName": "sample_Name",
                    "IsPrimaryName": True,
                    "MaxLength": 100,
                    "FormatName": {"Value": "Text"},
                    "RequiredLevel": {"Value": "None"},
                    "DisplayName": _label("Account Name"),
                }
            ],
        },
    )


def test_sdk_first_call_shape(api: httpx.Client) -> None:
    response = api.get(
        "EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'contact'",
        },
    )
    assert response.status_code == 200
    (item,) = response.json()["value"]
    assert item["LogicalName"] == "contact"
    assert item["EntitySetName"] == "contacts"
    assert item["PrimaryIdAttribute"] == "contactid"
    assert "Attributes" not in item


def test_entity_definition_by_name_by_id_with_attributes(api: httpx.Client) -> None:
    table = api.get(
        "EntityDefinitions(LogicalName='account')?$select=LogicalName,MetadataId"
    ).json()
    by_id = api.get(f"EntityDefinitions({table['MetadataId']})?$select=LogicalName").json()
    assert by_id["LogicalName"] == "account"
    attributes = api.get(
        "EntityDefinitions(LogicalName='account')/Attributes",
        params={"$filter": "LogicalName eq 'name'"},
    ).json()["value"]
    (name,) = attributes
    assert name["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert name["MaxLength"] == 160
    assert name["RequiredLevel"]["Value"] == "ApplicationRequired"
    expanded = api.get(
        "EntityDefinitions(LogicalName='task')?$select=LogicalName&$expand=Attributes($select=LogicalName),Keys"
    ).json()
    assert any(a["LogicalName"] == "subject" for a in expanded["Attributes"])
    assert expanded["Keys"] == []


def test_option_sets_are_returned_as_dataverse_does(api: httpx.Client) -> None:
    plain = api.get(
        "EntityDefinitions(LogicalName='task')/Attributes(LogicalName='statecode')"
    ).json()
    assert plain["@odata.type"] == "#Microsoft.Dynamics.CRM.StateAttributeMetadata"
    assert "OptionSet" not in plain  # a navigation property: only returned when expanded
    state = api.get(
        "EntityDefinitions(LogicalName='task')/Attributes(LogicalName='statecode')"
        "/Microsoft.Dynamics.CRM.StateAttributeMetadata?$select=LogicalName&$expand=OptionSet"
    ).json()
    options = {o["Value"]: o["DefaultStatus"] for o in state["OptionSet"]["Options"]}
    assert options == {0: 2, 1: 5, 2: 6}


def test_create_table_columns_relationship_and_use_them(api: httpx.Client) -> None:
    response = _create_bank_account(api)
    assert response.status_code == 204, response.text
    assert "/EntityDefinitions(" in response.headers["OData-EntityId"]
    table = api.get(
        "EntityDefinitions(LogicalName='sample_bankaccount')?$select=EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute"
    ).json()
    assert (table["EntitySetName"], table["PrimaryIdAttribute"], table["PrimaryNameAttribute"]) == (
        "sample_bankaccounts",
        "sample_bankaccountid",
        "sample_name",
    )
    columns = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
            "SchemaName": "sample_Boolean",
            "OptionSet": {
                "TrueOption": {"Value": 1, "Label": _label("True")},
                "FalseOption": {"Value": 0, "Label": _label("False")},
            },
            "DefaultValue": False,
        },
        {
            "@odata.type": "Microsoft.Dynamics.CRM.DecimalAttributeMetadata",
            "SchemaName": "sample_Decimal",
            "MaxValue": 100.0,
            "MinValue": 0.0,
            "Precision": 1,
        },
        {
            "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            "SchemaName": "sample_Choice",
            "OptionSet": {
                "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
                "IsGlobal": False,
                "OptionSetType": "Picklist",
                "Options": [
                    {"Value": 727000000, "Label": _label("Bravo")},
                    {"Value": 727000001, "Label": _label("Delta")},
                ],
            },
        },
        {
            "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
            "SchemaName": "sample_Memo",
            "Format": "TextArea",
            "MaxLength": 500,
        },
    ]
    for column in columns:
        created = api.post(
            "EntityDefinitions(LogicalName='sample_bankaccount')/Attributes",
            json=column,
            headers=SOLUTION,
        )
        assert created.status_code == 204, created.text
        assert "/Attributes(" in created.headers["OData-EntityId"]
    relationship = api.post(
        "RelationshipDefinitions",
        headers=SOLUTION,
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": "new_contact_new_bankaccount",
            "ReferencedEntity": "contact",
            "ReferencedAttribute": "contactid",
            "ReferencingEntity": "sample_bankaccount",
            "Lookup": {
                "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "SchemaName": "new_AccountOwner",
                "DisplayName": _label("Account Owner"),
            },
        },
    )
    assert relationship.status_code == 204, relationship.text
    assert "/RelationshipDefinitions(" in relationship.headers["OData-EntityId"]
    contact = (
        api.post("contacts", json={"lastname": "Owner"})
        .headers["OData-EntityId"]
        .split("/v9.2/")[1]
    )
    record = api.post(
        "sample_bankaccounts",
        json={
            "sample_name": "Savings",
            "sample_boolean": True,
            "sample_decimal": 12.5,
            "sample_choice": 727000001,
            "sample_memo": "m",
            "new_AccountOwner@odata.bind": f"/{contact}",
        },
    )
    assert record.status_code == 204, record.text
    bad = api.post("sample_bankaccounts", json={"sample_name": "x", "sample_choice": 1})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "0x8004431A"
    assert (
        api.post(
            "PublishXml",
            json={
                "ParameterXml": "<importexportxml><entities><entity>sample_bankaccount"
                "</entity></entities></importexportxml>"
            },
        ).status_code
        == 204
    )
    assert api.post("PublishAllXml").status_code == 204


def test_alternate_key_is_pending_then_active(api: httpx.Client) -> None:
    response = api.post(
        "EntityDefinitions(LogicalName='account')/Keys",
        json={
            "SchemaName": "mig_accountnumber_key",
            "KeyAttributes": ["accountnumber"],
            "DisplayName": _label("k"),
        },
    )
    assert response.status_code == 204
    keys = api.get("EntityDefinitions(LogicalName='account')/Keys").json()["value"]
    assert [k["EntityKeyIndexStatus"] for k in keys] == ["Pending"]
    early = api.get("accounts(accountnumber='A-1')")
    assert early.status_code == 400
    for _ in range(100):
        keys = api.get("EntityDefinitions(LogicalName='account')/Keys").json()["value"]
        if keys[0]["EntityKeyIndexStatus"] == "Active":
            break
        time.sleep(0.05)
    assert keys[0]["EntityKeyIndexStatus"] == "Active"
    assert api.get("accounts(accountnumber='A-1')").status_code == 404


def test_duplicate_table_is_refused(api: httpx.Client) -> None:
    assert _create_bank_account(api).status_code == 204
    assert _create_bank_account(api).status_code == 412
