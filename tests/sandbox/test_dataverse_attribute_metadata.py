"""Attribute definitions as query-metadata-web-api.md describes them: OptionSet and GlobalOptionSet
are navigation properties reached through a cast to the attribute type, with `$expand`."""

from __future__ import annotations

import httpx

ACCOUNT = "EntityDefinitions(LogicalName='account')/Attributes"
CAST = "Microsoft.Dynamics.CRM."


def test_the_sdk_picklist_query_returns_every_option_set(api: httpx.Client) -> None:
    """The query Microsoft's Python SDK sends to map choice labels to values."""
    response = api.get(
        f"{ACCOUNT}/{CAST}PicklistAttributeMetadata?$select=LogicalName"
        "&$expand=OptionSet($select=Options)"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(
        "/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata(LogicalName,OptionSet)"
    )
    items = {item["LogicalName"]: item for item in body["value"]}
    assert "industrycode" in items and "name" not in items and "statecode" not in items
    industry = items["industrycode"]
    assert set(industry) == {"LogicalName", "MetadataId", "OptionSet"}
    assert set(industry["OptionSet"]) == {"Options", "MetadataId"}
    option = industry["OptionSet"]["Options"][0]
    assert isinstance(option["Value"], int)
    assert option["Label"]["LocalizedLabels"][0]["LanguageCode"] == 1033


def test_each_option_set_cast_expands_its_options(api: httpx.Client) -> None:
    for cast, name in (
        ("BooleanAttributeMetadata", "donotemail"),
        ("StatusAttributeMetadata", "statuscode"),
        ("StateAttributeMetadata", "statecode"),
    ):
        values = api.get(
            f"{ACCOUNT}/{CAST}{cast}", params={"$select": "LogicalName", "$expand": "OptionSet"}
        ).json()["value"]
        item = next(v for v in values if v["LogicalName"] == name)
        option_set = item["OptionSet"]
        assert option_set["Name"] == f"account_{name}"
        assert option_set["IsGlobal"] is False
        if cast == "BooleanAttributeMetadata":
            assert option_set["OptionSetType"] == "Boolean"
            assert (option_set["TrueOption"]["Value"], option_set["FalseOption"]["Value"]) == (1, 0)
        elif cast == "StatusAttributeMetadata":
            assert option_set["OptionSetType"] == "Status"
            states = {o["Value"]: o["State"] for o in option_set["Options"]}
            assert states[1] == 0 and states[2] == 1
            assert option_set["Options"][0]["@odata.type"] == (
                "#Microsoft.Dynamics.CRM.StatusOptionMetadata"
            )
        else:
            defaults = {o["Value"]: o["DefaultStatus"] for o in option_set["Options"]}
            assert defaults == {0: 1, 1: 2}


def test_one_attribute_cast_with_option_set_and_global_option_set(api: httpx.Client) -> None:
    response = api.get(
        f"{ACCOUNT}(LogicalName='industrycode')/{CAST}PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(
        "PicklistAttributeMetadata(LogicalName,OptionSet,GlobalOptionSet)/$entity"
    )
    assert body["LogicalName"] == "industrycode" and "@odata.type" not in body
    assert body["OptionSet"]["OptionSetType"] == "Picklist" and body["OptionSet"]["Options"]
    assert body["GlobalOptionSet"] is None  # the option set is local to the column
    only_options = api.get(
        f"{ACCOUNT}(LogicalName='industrycode')/{CAST}PicklistAttributeMetadata/OptionSet",
        params={"$select": "Options"},
    ).json()
    assert set(only_options) == {"@odata.context", "Options", "MetadataId"}
    assert only_options["MetadataId"] == body["OptionSet"]["MetadataId"]


def test_option_sets_need_a_cast_and_an_expand(api: httpx.Client) -> None:
    plain = api.get(f"{ACCOUNT}(LogicalName='industrycode')").json()
    assert plain["@odata.type"] == "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    assert "OptionSet" not in plain
    listed = api.get(ACCOUNT, params={"$select": "LogicalName"}).json()["value"]
    assert all(set(item) <= {"LogicalName", "MetadataId", "@odata.type"} for item in listed)
    no_cast = api.get(ACCOUNT, params={"$select": "LogicalName", "$expand": "OptionSet"})
    assert no_cast.status_code == 400
    assert no_cast.json()["error"]["message"] == (
        "Could not find a property named 'OptionSet' on type "
        "'Microsoft.Dynamics.CRM.AttributeMetadata'."
    )
    string_cast = api.get(
        f"{ACCOUNT}/{CAST}StringAttributeMetadata", params={"$expand": "OptionSet"}
    )
    assert string_cast.status_code == 400
    wrong_type = api.get(f"{ACCOUNT}(LogicalName='name')/{CAST}PicklistAttributeMetadata")
    assert wrong_type.status_code == 404
    assert api.get(f"{ACCOUNT}/{CAST}NoSuchAttributeMetadata").status_code == 404
    money = api.get(
        f"{ACCOUNT}/{CAST}MoneyAttributeMetadata", params={"$select": "LogicalName,Precision"}
    ).json()["value"]
    assert any(item["LogicalName"] == "revenue" for item in money)


def test_global_option_set_definitions_are_empty(api: httpx.Client) -> None:
    body = api.get("GlobalOptionSetDefinitions").json()
    assert body["value"] == []
