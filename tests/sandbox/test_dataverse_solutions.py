"""Publishers and solutions (`publishers`, `solutions`), components created in a solution
(`MSCRM.SolutionUniqueName`, `SolutionUniqueName`), and PublishXml/PublishAllXml with their log."""

from __future__ import annotations

import json

import httpx

from sandbox.dataverse.server import RunningServer

_STRING_COLUMN = {
    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
    "SchemaName": "mig_Code",
    "MaxLength": 20,
}


def _publisher(api: httpx.Client, **overrides: object) -> httpx.Response:
    body = {
        "uniquename": "migpublisher",
        "friendlyname": "CRM migration (mig)",
        "customizationprefix": "mig",
        "customizationoptionvalueprefix": 10317,
        **overrides,
    }
    return api.post("publishers", json=body, headers={"Prefer": "return=representation"})


def _solution(api: httpx.Client, publisher_id: str, **overrides: object) -> httpx.Response:
    body = {
        "uniquename": "crmmigration",
        "friendlyname": "crmmigration",
        "version": "1.0.0.0",
        "publisherid@odata.bind": f"/publishers({publisher_id})",
        **overrides,
    }
    return api.post("solutions", json=body)


def _pages(api: httpx.Client, entity_set: str, select: str, filter_: str) -> list[dict]:
    response = api.get(
        entity_set,
        params={"$select": select, "$filter": filter_},
        headers={"Prefer": "odata.maxpagesize=5000"},
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_default_publisher_and_solutions_are_seeded(api: httpx.Client) -> None:
    solutions = api.get(
        "solutions",
        params={
            "$select": "uniquename,friendlyname,ismanaged,version",
            "$expand": "publisherid($select=uniquename,customizationprefix)",
            "$orderby": "uniquename",
        },
    ).json()["value"]
    by_name = {s["uniquename"]: s for s in solutions}
    assert {"Active", "Default", "System"} <= set(by_name)
    assert by_name["Default"]["ismanaged"] is False and by_name["Active"]["ismanaged"] is False
    assert by_name["System"]["ismanaged"] is True
    default_publisher = by_name["Default"]["publisherid"]
    assert default_publisher["customizationprefix"] == "new"
    assert default_publisher["uniquename"].startswith("DefaultPublisher")
    publishers = _pages(api, "publishers", "uniquename", "customizationprefix eq 'new'")
    assert [p["uniquename"] for p in publishers] == [default_publisher["uniquename"]]


def test_the_schema_steps_requests_create_the_publisher_then_the_solution(
    api: httpx.Client,
) -> None:
    """The request sequence of load/schema.py `ensure_solution`, which follows Section 0 of
    Microsoft's Web API table schema operations sample."""
    assert _pages(api, "solutions", "solutionid,uniquename", "uniquename eq 'crmmigration'") == []
    assert (
        _pages(api, "publishers", "publisherid,customizationprefix", "customizationprefix eq 'mig'")
        == []
    )
    created = _publisher(api)
    assert created.status_code == 201, created.text
    publisher = created.json()
    assert publisher["customizationprefix"] == "mig" and publisher["isreadonly"] is False
    solution = _solution(api, publisher["publisherid"])
    assert solution.status_code == 204, solution.text
    assert "/solutions(" in solution.headers["OData-EntityId"]
    (row,) = _pages(
        api,
        "solutions",
        "solutionid,uniquename,ismanaged,_publisherid_value",
        "uniquename eq 'crmmigration'",
    )
    assert row["ismanaged"] is False and row["_publisherid_value"] == publisher["publisherid"]
    # the documented form binds without the leading slash
    bind = {"publisherid@odata.bind": f"publishers({publisher['publisherid']})"}
    other = _solution(api, publisher["publisherid"], uniquename="second", **bind)
    assert other.status_code == 204, other.text
    publishers = _pages(
        api, "publishers", "publisherid,customizationprefix", "customizationprefix eq 'mig'"
    )
    assert [p["publisherid"] for p in publishers] == [publisher["publisherid"]]


def test_publisher_rules(api: httpx.Client) -> None:
    missing = _publisher(api, uniquename=None)
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "code": "0x8004F01C",
        "message": "Publisher uniquename is required.",
    }
    for prefix in ("m", "9ab", "mscrmx", "mig_x"):
        bad = _publisher(api, customizationprefix=prefix)
        assert bad.status_code == 400, prefix
    too_long = _publisher(api, customizationprefix="abcdefghi")
    assert too_long.json()["error"]["code"] == "0x80044331"  # MaxLength 8
    out_of_range = _publisher(api, customizationoptionvalueprefix=9999)
    assert out_of_range.status_code == 400
    assert out_of_range.json()["error"]["code"] == "0x8004432F"  # MinValue 10000
    assert _publisher(api).status_code == 201
    again = _publisher(api, customizationprefix="other")
    assert again.status_code == 412 and again.json()["error"]["code"] == "0x80040237"


def test_solution_rules(api: httpx.Client) -> None:
    publisher_id = _publisher(api).json()["publisherid"]
    bad_name = _solution(api, publisher_id, uniquename="crm migration")
    assert bad_name.status_code == 400
    assert bad_name.json()["error"]["code"] == "0x8004F002"
    assert "Only characters within the ranges [A-Z]" in bad_name.json()["error"]["message"]
    bad_version = _solution(api, publisher_id, version="one")
    assert bad_version.json()["error"] == {
        "code": "0x8004F01E",
        "message": "An invalid solution version was specified.",
    }
    no_publisher = api.post(
        "solutions", json={"uniquename": "orphan", "friendlyname": "x", "version": "1.0"}
    )
    assert no_publisher.status_code == 400
    missing = _solution(api, "00000000-0000-0000-0000-000000000001")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"
    assert _solution(api, publisher_id).status_code == 204
    duplicate = _solution(api, publisher_id, uniquename="CRMMigration")
    assert duplicate.status_code == 400
    assert duplicate.json()["error"] == {
        "code": "0x8004F023",
        "message": "The solution unique name 'CRMMigration' is already being used and cannot "
        "be used again.",
    }
    (row,) = _pages(api, "solutions", "solutionid", "uniquename eq 'crmmigration'")
    # uniquename is not valid for update: Dataverse ignores it; ismanaged is read-only
    patch = {"uniquename": "renamed", "ismanaged": True, "version": "1.0.0.1"}
    assert api.patch(f"solutions({row['solutionid']})", json=patch).status_code == 204
    updated = api.get(f"solutions({row['solutionid']})?$select=uniquename,ismanaged,version").json()
    assert (updated["uniquename"], updated["ismanaged"], updated["version"]) == (
        "crmmigration",
        False,
        "1.0.0.1",
    )


def test_components_must_name_an_existing_unmanaged_solution(api: httpx.Client) -> None:
    attributes = "EntityDefinitions(LogicalName='contact')/Attributes"
    unknown = api.post(
        attributes, json=_STRING_COLUMN, headers={"MSCRM.SolutionUniqueName": "nosuchsolution"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "code": "0x80040217",
        "message": "The given solution unique name (nosuchsolution) is not valid",
    }
    by_parameter = api.post(
        "EntityDefinitions",
        params={"SolutionUniqueName": "nosuchsolution"},
        json={
            "SchemaName": "mig_Thing",
            "Attributes": [
                {
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "SchemaName": "mig_Name",
                    "IsPrimaryName": True,
                }
            ],
        },
    )
    assert by_parameter.status_code == 404
    managed = api.post(
        attributes, json=_STRING_COLUMN, headers={"MSCRM.SolutionUniqueName": "System"}
    )
    assert managed.status_code == 400
    listed = api.get(attributes, params={"$select": "LogicalName"}).json()["value"]
    names = {a["LogicalName"] for a in listed}
    assert "mig_code" not in names, "a refused component writes nothing"
    assert api.get("EntityDefinitions(LogicalName='mig_thing')").status_code == 404
    publisher_id = _publisher(api).json()["publisherid"]
    assert _solution(api, publisher_id).status_code == 204
    created = api.post(
        attributes, json=_STRING_COLUMN, headers={"MSCRM.SolutionUniqueName": "CrmMigration"}
    )
    assert created.status_code == 204, created.text
    default = api.post(
        attributes,
        json={**_STRING_COLUMN, "SchemaName": "mig_Other"},
        headers={"MSCRM.SolutionUniqueName": "Default"},
    )
    assert default.status_code == 204, default.text
    assert (
        api.post(attributes, json={**_STRING_COLUMN, "SchemaName": "mig_Third"}).status_code == 204
    )


def _publish_lines(server: RunningServer) -> list[dict]:
    lines = [json.loads(line) for line in server.dump_lines()]
    return [line for line in lines if line["table"] == "$publishlog"]


def test_publish_xml_is_validated_and_logged(
    api: httpx.Client, fresh_dataverse: RunningServer
) -> None:
    assert _publish_lines(fresh_dataverse) == []
    xml = (
        "<importexportxml><entities><entity>contact</entity><entity>account</entity>"
        "</entities></importexportxml>"
    )
    assert api.post("PublishXml", json={"ParameterXml": xml}).status_code == 204
    assert api.post("PublishAllXml").status_code == 204
    for body in (
        {"ParameterXml": "<importexportxml><entities><entity>contact</entities>"},
        {"ParameterXml": "not xml at all"},
        {"ParameterXml": ""},
        {},
        {"ParameterXml": "<other/>"},
    ):
        refused = api.post("PublishXml", json=body)
        assert refused.status_code == 400, body
        assert refused.json()["error"]["code"] == "0x80040203"
    unknown = api.post(
        "PublishXml",
        json={
            "ParameterXml": "<importexportxml><entities><entity>nosuch</entity></entities>"
            "</importexportxml>"
        },
    )
    assert unknown.status_code == 404
    lines = _publish_lines(fresh_dataverse)
    assert [(line["id"], line["data"]["message"], line["data"]["entities"]) for line in lines] == [
        ("0000000001", "PublishXml", ["contact", "account"]),
        ("0000000002", "PublishAllXml", None),
    ]
    assert lines[0]["data"]["parameterxml"] == xml and lines[0]["data"]["publishedon"]
    dump = fresh_dataverse.dump_lines()
    keys = [(json.loads(line)["table"], json.loads(line)["id"]) for line in dump]
    assert keys == sorted(keys)
    fresh_dataverse.reset()
    assert _publish_lines(fresh_dataverse) == []
