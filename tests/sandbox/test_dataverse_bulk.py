"""CreateMultiple, UpdateMultiple, UpsertMultiple and the sdkmessagefilters availability query
(bulk-operations.md), all-or-nothing on standard tables.

Run on `lead`, whose reference page lists the bulk messages (the stored account page predates them).
"""

from __future__ import annotations

import httpx

from tests.sandbox.test_dataverse_records import _create_key

LEAD = "Microsoft.Dynamics.CRM.lead"


def _count(api: httpx.Client, entity_set: str) -> int:
    return int(api.get(f"{entity_set}/$count").text)


def test_create_multiple_answers_200_with_ids(api: httpx.Client) -> None:
    targets = [{"subject": f"sample record {n:07}", "@odata.type": LEAD} for n in range(3)]
    response = api.post("leads/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    )
    assert len(body["Ids"]) == 3
    names = {api.get(f"leads({i})?$select=subject").json()["subject"] for i in body["Ids"]}
    assert names == {"sample record 0000000", "sample record 0000001", "sample record 0000002"}


def test_create_multiple_is_all_or_nothing(api: httpx.Client) -> None:
    targets = [{"subject": "ok", "@odata.type": LEAD}, {"subject": "x" * 301, "@odata.type": LEAD}]
    response = api.post("leads/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80044331"
    assert _count(api, "leads") == 0


def test_create_multiple_needs_odata_type(api: httpx.Client) -> None:
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{"subject": "a"}]}
    )
    assert response.status_code == 400
    assert _count(api, "leads") == 0


def test_update_multiple_answers_204_and_ignores_later_duplicates(api: httpx.Client) -> None:
    ids = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple",
        json={
            "Targets": [
                {"subject": "a", "@odata.type": LEAD},
                {"subject": "b", "@odata.type": LEAD},
            ]
        },
    ).json()["Ids"]
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={
            "Targets": [
                {"leadid": ids[0], "subject": "a2", "@odata.type": LEAD},
                {"leadid": ids[1], "subject": "b2", "@odata.type": LEAD},
                {"leadid": ids[0], "subject": "ignored", "@odata.type": LEAD},
            ]
        },
    )
    assert response.status_code == 204
    assert api.get(f"leads({ids[0]})?$select=subject").json()["subject"] == "a2"
    assert api.get(f"leads({ids[1]})?$select=subject").json()["subject"] == "b2"


def test_update_multiple_with_a_missing_record_changes_nothing(api: httpx.Client) -> None:
    ids = api.post(
        "leads/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"subject": "a", "@odata.type": LEAD}]},
    ).json()["Ids"]
    response = api.post(
        "leads/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={
            "Targets": [
                {"leadid": ids[0], "subject": "changed", "@odata.type": LEAD},
                {
                    "leadid": "00000000-0000-0000-0000-000000000009",
                    "subject": "x",
                    "@odata.type": LEAD,
                },
            ]
        },
    )
    assert response.status_code == 404
    assert api.get(f"leads({ids[0]})?$select=subject").json()["subject"] == "a"


def test_upsert_multiple_by_alternate_key_answers_204(api: httpx.Client) -> None:
    _create_key(api, "lead", "lead_email_key", ["emailaddress1"])
    first = [
        {"@odata.type": LEAD, "@odata.id": f"leads(emailaddress1='{n:07}')", "subject": f"r{n}"}
        for n in range(3)
    ]
    assert (
        api.post("leads/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": first}).status_code
        == 204
    )
    second = [
        {"@odata.type": LEAD, "@odata.id": "leads(emailaddress1='0000001')", "subject": "updated"},
        {"@odata.type": LEAD, "@odata.id": "leads(emailaddress1='0000003')", "subject": "new"},
    ]
    response = api.post("leads/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": second})
    assert response.status_code == 204
    assert response.content == b""
    rows = api.get("leads?$select=subject,emailaddress1&$orderby=emailaddress1").json()["value"]
    assert [(r["emailaddress1"], r["subject"]) for r in rows] == [
        ("0000000", "r0"),
        ("0000001", "updated"),
        ("0000002", "r2"),
        ("0000003", "new"),
    ]


def test_upsert_multiple_by_primary_key(api: httpx.Client) -> None:
    guid = "00000000-0000-0000-0000-0000000000aa"
    for name in ("created", "updated"):
        target = {"@odata.type": LEAD, "@odata.id": f"leads({guid})", "subject": name}
        assert (
            api.post(
                "leads/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [target]}
            ).status_code
            == 204
        )
    assert api.get(f"leads({guid})?$select=subject").json()["subject"] == "updated"


def test_upsert_multiple_rejects_duplicate_keys_and_writes_nothing(api: httpx.Client) -> None:
    _create_key(api, "lead", "lead_email_key", ["emailaddress1"])
    targets = [
        {"@odata.type": LEAD, "@odata.id": "leads(emailaddress1='D')", "subject": n} for n in "ab"
    ]
    response = api.post("leads/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert _count(api, "leads") == 0


def _filters(api: httpx.Client, message: str, table: str) -> list:
    response = api.get(
        "sdkmessagefilters",
        params={
            "$select": "sdkmessagefilterid",
            "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
            "@message": f"'{message}'",
            "@table": f"'{table}'",
        },
    )
    assert response.status_code == 200
    return response.json()["value"]


def test_sdkmessagefilters_answers_from_the_tables_messages(api: httpx.Client) -> None:
    assert len(_filters(api, "Create", "account")) == 1
    assert _filters(api, "CreateMultiple", "activityparty") == []
    assert set(_filters(api, "Create", "account")[0]) >= {"sdkmessagefilterid"}


def test_bulk_message_the_table_does_not_support_is_refused(api: httpx.Client) -> None:
    supported = bool(_filters(api, "CreateMultiple", "annotation"))
    response = api.post(
        "annotations/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"subject": "n", "@odata.type": "Microsoft.Dynamics.CRM.annotation"}]},
    )
    assert (response.status_code == 200) == supported


def test_organizations_maxuploadfilesize(api: httpx.Client) -> None:
    body = api.get("organizations?$select=maxuploadfilesize").json()
    assert body["value"][0]["maxuploadfilesize"] == 5242880


ACCOUNT = "Microsoft.Dynamics.CRM.account"


def _upsert(api: httpx.Client, targets: list[dict]) -> httpx.Response:
    return api.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})


def test_upsert_multiple_target_finds_a_record_an_earlier_target_created(
    api: httpx.Client,
) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    guid = "00000000-0000-0000-0000-0000000000b1"
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts({guid})", "accountnumber": "N-1"},
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts({guid.upper()[:-1]}2)", "name": "P"},
        # found by the key value the first target gave the record it created
        {
            "@odata.type": ACCOUNT,
            "@odata.id": "accounts(accountnumber='n-1')",
            "name": "A2",
            "parentaccountid@odata.bind": "/accounts(00000000-0000-0000-0000-0000000000b2)",
        },
        {
            "@odata.type": ACCOUNT,
            "@odata.id": "accounts(accountnumber='C-1')",
            "name": "Child",
            "parentaccountid@odata.bind": "/accounts(accountnumber='N-1')",
        },
    ]
    assert _upsert(api, targets).status_code == 204
    rows = api.get("accounts?$select=name,accountnumber,_parentaccountid_value&$orderby=name")
    by_name = {r["name"]: r for r in rows.json()["value"]}
    assert set(by_name) == {"A2", "Child", "P"}
    assert by_name["A2"]["accountid"] == guid
    assert by_name["A2"]["accountnumber"] == "N-1"
    assert by_name["A2"]["_parentaccountid_value"] == guid[:-1] + "2"
    assert by_name["Child"]["_parentaccountid_value"] == guid
    # the key index was written: single requests find the records by key
    assert api.get("accounts(accountnumber='c-1')?$select=name").json()["name"] == "Child"


def test_upsert_multiple_key_value_claimed_twice_is_412_and_writes_nothing(
    api: httpx.Client,
) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    targets = [
        {
            "@odata.type": ACCOUNT,
            "@odata.id": f"accounts({n:08}-0000-0000-0000-000000000000)",
            "name": f"a{n}",
            "accountnumber": "SAME",
        }
        for n in range(2)
    ]
    response = _upsert(api, targets)
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "0x80060892"
    assert _count(api, "accounts") == 0


def test_upsert_multiple_moving_a_key_value_frees_it(api: httpx.Client) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    first = "accounts(00000000-0000-0000-0000-0000000000c0)"
    created = _upsert(
        api, [{"@odata.type": ACCOUNT, "@odata.id": first, "name": "a", "accountnumber": "OLD"}]
    )
    assert created.status_code == 204
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": first, "accountnumber": "NEW"},
        {
            "@odata.type": ACCOUNT,
            "@odata.id": "accounts(00000000-0000-0000-0000-0000000000c1)",
            "name": "b",
            "accountnumber": "old",
        },
    ]
    assert _upsert(api, targets).status_code == 204
    rows = api.get("accounts?$select=name,accountnumber&$orderby=name").json()["value"]
    assert [(r["name"], r["accountnumber"]) for r in rows] == [("a", "NEW"), ("b", "old")]


def test_bulk_bind_to_a_missing_record_is_404_and_writes_nothing(api: httpx.Client) -> None:
    targets = [
        {"@odata.type": ACCOUNT, "name": "ok"},
        {
            "@odata.type": ACCOUNT,
            "name": "orphan",
            "parentaccountid@odata.bind": "/accounts(00000000-0000-0000-0000-00000000dead)",
        },
    ]
    response = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 404
    assert _count(api, "accounts") == 0
