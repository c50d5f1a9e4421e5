"""Create, retrieve, update, upsert, delete and lookups, replayed from the Microsoft Learn pages
in research §14 (create-entity, update-delete-entities, conditional operations, associate)."""

from __future__ import annotations

import httpx
import pytest

GUID_1 = "00000000-0000-0000-0000-000000000001"


def _id_from(response: httpx.Response) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _create(api: httpx.Client, entity_set: str, body: dict) -> str:
    response = api.post(entity_set, json=body)
    assert response.status_code == 204, response.text
    return _id_from(response)


def test_basic_create_answers_204_with_odata_entity_id(api: httpx.Client) -> None:
    response = api.post("accounts", json={"name": "Sample Account", "revenue": 5000000})
    assert response.status_code == 204
    assert response.content == b""
    entity_id = response.headers["OData-EntityId"]
    assert entity_id.startswith(str(api.base_url).rstrip("/") + "/accounts(")
    assert api.get(entity_id).json()["name"] == "Sample Account"


def test_create_with_representation_answers_201_with_the_record(api: httpx.Client) -> None:
    response = api.post(
        "accounts?$select=name,creditonhold,address1_latitude,description,revenue,accountcategorycode,createdon",
        json={
            "name": "Sample Account",
            "creditonhold": False,
            "address1_latitude": 47.639583,
            "description": "This is the description of the sample account",
            "revenue": 5000000,
            "accountcategorycode": 1,
        },
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#accounts/$entity")
    assert body["@odata.etag"].startswith('W/"')
    assert body["name"] == "Sample Account"
    assert body["revenue"] == 5000000
    assert body["accountcategorycode"] == 1
    assert body["createdon"].endswith("Z")
    assert "accountid" in body
    assert "telephone1" not in body  # $select limits the representation


def test_retrieve_with_select_and_single_valued_expand(api: httpx.Client) -> None:
    contact_id = _create(api, "contacts", {"firstname": "Yvonne", "lastname": "McKay"})
    account_id = _create(
        api,
        "accounts",
        {"name": "Contoso", "primarycontactid@odata.bind": f"/contacts({contact_id})"},
    )
    response = api.get(
        f"accounts({account_id})?$select=name&$expand=primarycontactid($select=fullname)"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"@odata.context", "@odata.etag", "accountid", "name", "primarycontactid"}
    assert body["primarycontactid"]["fullname"] == "Yvonne McKay"
    assert body["primarycontactid"]["contactid"] == contact_id


def test_missing_record_is_404_with_object_does_not_exist(api: httpx.Client) -> None:
    response = api.get(f"accounts({GUID_1})")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "0x80040217",
        "message": f"account With Id = {GUID_1} Does Not Exist",
    }


def test_update_answers_204_and_with_representation_200(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Before"})
    response = api.patch(
        f"accounts({account_id})",
        json={
            "name": "Updated Sample Account",
            "creditonhold": True,
            "address1_latitude": 47.639583,
        },
        headers={"If-Match": "*"},
    )
    assert response.status_code == 204
    response = api.patch(
        f"accounts({account_id})?$select=name,creditonhold",
        json={"name": "Updated again"},
        headers={"Prefer": "return=representation", "If-Match": "*"},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Updated again"
    assert response.json()["creditonhold"] is True


def test_put_and_delete_a_single_property(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Old", "description": "to be removed"})
    assert api.put(f"accounts({account_id})/name", json={"value": "New name"}).status_code == 204
    assert api.delete(f"accounts({account_id})/description").status_code == 204
    value = api.get(f"accounts({account_id})/name").json()["value"]
    record = api.get(f"accounts({account_id})?$select=name,description").json()
    assert value == "New name"
    assert record["description"] is None


def test_upsert_by_primary_key_creates_then_updates(api: httpx.Client) -> None:
    first = api.patch(
        f"accounts({GUID_1})",
        json={"name": "Created by upsert"},
        headers={"Prefer": "return=representation"},
    )
    second = api.patch(
        f"accounts({GUID_1})",
        json={"name": "Updated by upsert"},
        headers={"Prefer": "return=representation"},
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert api.get(f"accounts({GUID_1})?$select=name").json()["name"] == "Updated by upsert"


def test_if_match_star_prevents_create_with_404(api: httpx.Client) -> None:
    response = api.patch(f"accounts({GUID_1})", json={"name": "x"}, headers={"If-Match": "*"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"account With Id = {GUID_1} Does Not Exist"
    assert api.get("accounts/$count").text == "0"


def test_if_none_match_star_prevents_update_with_412(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Exists"})
    response = api.patch(
        f"accounts({account_id})", json={"name": "x"}, headers={"If-None-Match": "*"}
    )
    assert response.status_code == 412
    assert response.json()["error"] == {
        "code": "",
        "message": "A record with matching key values already exists.",
    }
    assert api.get(f"accounts({account_id})?$select=name").json()["name"] == "Exists"


def test_etag_mismatch_is_412_on_patch_and_delete_and_304_on_get(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Versioned"})
    etag = api.get(f"accounts({account_id})?$select=name").json()["@odata.etag"]
    assert (
        api.get(f"accounts({account_id})?$select=name", headers={"If-None-Match": etag}).status_code
        == 304
    )
    assert (
        api.patch(
            f"accounts({account_id})", json={"name": "v2"}, headers={"If-Match": etag}
        ).status_code
        == 204
    )
    stale = api.patch(f"accounts({account_id})", json={"name": "v3"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert "RowVersion" in stale.json()["error"]["message"]
    assert api.delete(f"accounts({account_id})", headers={"If-Match": etag}).status_code == 412


def test_delete_answers_204_then_404(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Doomed"})
    assert api.delete(f"accounts({account_id})").status_code == 204
    assert api.delete(f"accounts({account_id})").status_code == 404


def test_polymorphic_binds_and_lookup_values_with_annotations(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Parent Co"})
    contact_id = _create(
        api,
        "contacts",
        {"lastname": "Child", "parentcustomerid_account@odata.bind": f"accounts({account_id})"},
    )
    other_id = _create(
        api,
        "contacts",
        {"lastname": "Other", "parentcustomerid_contact@odata.bind": f"/contacts({contact_id})"},
    )
    response = api.get(
        f"contacts({other_id})?$select=_parentcustomerid_value",
        headers={
            "Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname,'
            'Microsoft.Dynamics.CRM.associatednavigationproperty"'
        },
    )
    body = response.json()
    assert body["_parentcustomerid_value"] == contact_id
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert (
        body["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]
        == "parentcustomerid_contact"
    )
    plain = api.get(f"contacts({contact_id})?$select=_parentcustomerid_value").json()
    assert plain["_parentcustomerid_value"] == account_id
    assert not any(key.startswith("_parentcustomerid_value@") for key in plain)


def test_owner_binds_to_systemusers_and_teams(api: httpx.Client) -> None:
    users = api.get("systemusers?$select=systemuserid&$filter=isdisabled eq false").json()["value"]
    teams = api.get("teams?$select=teamid").json()["value"]
    user_owned = _create(
        api,
        "accounts",
        {"name": "U", "ownerid@odata.bind": f"/systemusers({users[0]['systemuserid']})"},
    )
    team_owned = _create(
        api, "accounts", {"name": "T", "ownerid@odata.bind": f"/teams({teams[0]['teamid']})"}
    )
    annotation = {"Prefer": 'odata.include-annotations="*"'}
    user_body = api.get(f"accounts({user_owned})?$select=_ownerid_value", headers=annotation).json()
    team_body = api.get(f"accounts({team_owned})?$select=_ownerid_value", headers=annotation).json()
    assert user_body["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert team_body["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "team"


def test_default_owner_is_the_calling_application_user(api: httpx.Client) -> None:
    me = api.get("WhoAmI").json()["UserId"]
    account_id = _create(api, "accounts", {"name": "Mine"})
    assert api.get(f"accounts({account_id})?$select=_ownerid_value").json()["_ownerid_value"] == me


def test_bind_to_a_missing_record_fails_and_writes_nothing(api: httpx.Client) -> None:
    response = api.post(
        "contacts",
        json={"lastname": "Orphan", "parentcustomerid_account@odata.bind": f"/accounts({GUID_1})"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "0x80040217",
        "message": f"account With Id = {GUID_1} Does Not Exist",
    }
    assert api.get("contacts/$count").text == "0"


@pytest.mark.parametrize("name", ["ParentCustomerId_account", "parentcustomerid", "nosuchnav"])
def test_bind_navigation_names_are_case_sensitive_and_declared(
    api: httpx.Client, name: str
) -> None:
    account_id = _create(api, "accounts", {"name": "P"})
    response = api.post(
        "contacts", json={"lastname": "X", f"{name}@odata.bind": f"/accounts({account_id})"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"An undeclared property '{name}'")


def test_bind_by_alternate_key(api: httpx.Client) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    account_id = _create(api, "accounts", {"name": "Keyed", "accountnumber": "ABC123"})
    contact_id = _create(
        api,
        "contacts",
        {
            "lastname": "K",
            "parentcustomerid_account@odata.bind": "/accounts(accountnumber='ABC123')",
        },
    )
    body = api.get(f"contacts({contact_id})?$select=_parentcustomerid_value").json()
    assert body["_parentcustomerid_value"] == account_id


def _create_key(api: httpx.Client, table: str, name: str, columns: list[str]) -> None:
    import time

    response = api.post(
        f"EntityDefinitions(LogicalName='{table}')/Keys",
        json={
            "SchemaName": name,
            "KeyAttributes": columns,
            "DisplayName": {"LocalizedLabels": [{"Label": name, "LanguageCode": 1033}]},
        },
    )
    assert response.status_code == 204, response.text
    for _ in range(100):
        keys = api.get(f"EntityDefinitions(LogicalName='{table}')/Keys").json()["value"]
        if any(k["SchemaName"] == name and k["EntityKeyIndexStatus"] == "Active" for k in keys):
            return
        time.sleep(0.05)
    raise AssertionError("key never became Active")


def test_upsert_by_alternate_key_uses_key_values_and_key_based_entity_id(api: httpx.Client) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    response = api.patch("accounts(accountnumber='K-1')", json={"name": "Created"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].endswith("/accounts(accountnumber='K-1')")
    again = api.patch(
        "accounts(accountnumber='K-1')",
        json={"name": "Updated"},
        headers={"Prefer": "return=representation"},
    )
    assert again.status_code == 200
    records = api.get("accounts?$select=name,accountnumber").json()["value"]
    assert [(r["name"], r["accountnumber"]) for r in records] == [("Updated", "K-1")]
    missing = api.patch(
        "accounts(accountnumber='K-2')", json={"name": "x"}, headers={"If-Match": "*"}
    )
    assert missing.status_code == 404


def test_duplicate_alternate_key_value_is_refused(api: httpx.Client) -> None:
    _create_key(api, "account", "acct_number_key", ["accountnumber"])
    _create(api, "accounts", {"name": "One", "accountnumber": "DUP"})
    response = api.post("accounts", json={"name": "Two", "accountnumber": "dup"})
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "0x80060892"


def test_key_that_is_not_a_key_is_400(api: httpx.Client) -> None:
    response = api.get("accounts(name='x')")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.account'."
    )


def test_activity_parties_deep_insert_and_expand(api: httpx.Client) -> None:
    contact_id = _create(api, "contacts", {"lastname": "Attendee"})
    me = api.get("WhoAmI").json()["UserId"]
    appointment_id = _create(
        api,
        "appointments",
        {
            "subject": "Kick-off",
            "regardingobjectid_contact_appointment@odata.bind": f"/contacts({contact_id})",
            "appointment_activity_parties": [
                {
                    "partyid_systemuser@odata.bind": f"/systemusers({me})",
                    "participationtypemask": 7,
                },
                {
                    "partyid_contact@odata.bind": f"/contacts({contact_id})",
                    "participationtypemask": 5,
                },
            ],
        },
    )
    body = api.get(
        f"appointments({appointment_id})?$select=subject,_regardingobjectid_value"
        "&$expand=appointment_activity_parties($select=_partyid_value,participationtypemask)"
    ).json()
    assert body["_regardingobjectid_value"] == contact_id
    parties = sorted(
        (p["participationtypemask"], p["_partyid_value"])
        for p in body["appointment_activity_parties"]
    )
    assert parties == [(5, contact_id), (7, me)]


def test_put_activity_parties_replaces_them(api: httpx.Client) -> None:
    first = _create(api, "contacts", {"lastname": "First"})
    second = _create(api, "contacts", {"lastname": "Second"})
    email_id = _create(
        api,
        "emails",
        {
            "subject": "Hello",
            "email_activity_parties": [
                {"partyid_contact@odata.bind": f"contacts({first})", "participationtypemask": 2}
            ],
        },
    )
    response = api.put(
        f"emails({email_id})/email_activity_parties",
        json={
            "value": [
                {"partyid_contact@odata.bind": f"contacts({second})", "participationtypemask": 3},
                {"partyid_contact@odata.bind": f"contacts({first})", "participationtypemask": 2},
            ]
        },
    )
    assert response.status_code == 204
    parties = api.get(f"emails({email_id})/email_activity_parties").json()["value"]
    assert sorted((p["participationtypemask"], p["_partyid_value"]) for p in parties) == [
        (2, first),
        (3, second),
    ]


def test_deep_insert_account_with_contact_opportunity_and_task(api: httpx.Client) -> None:
    response = api.post(
        "accounts",
        json={
            "name": "Sample Account",
            "primarycontactid": {"firstname": "John", "lastname": "Smith"},
            "opportunity_customer_accounts": [
                {
                    "name": "Opportunity associated to Sample Account",
                    "Opportunity_Tasks": [{"subject": "Task associated to opportunity"}],
                }
            ],
        },
    )
    assert response.status_code == 204, response.text
    counts = {
        s: api.get(f"{s}/$count").text for s in ("accounts", "contacts", "opportunities", "tasks")
    }
    assert counts == {"accounts": "1", "contacts": "1", "opportunities": "1", "tasks": "1"}


def test_associate_and_disassociate_with_ref(api: httpx.Client) -> None:
    account_id = _create(api, "accounts", {"name": "Customer"})
    opportunity_id = _create(api, "opportunities", {"name": "Deal"})
    assert (
        api.put(
            f"opportunities({opportunity_id})/customerid_account/$ref",
            json={"@odata.id": f"accounts({account_id})"},
        ).status_code
        == 204
    )
    select = f"opportunities({opportunity_id})?$select=_customerid_value"
    assert api.get(select).json()["_customerid_value"] == account_id
    assert api.delete(f"opportunities({opportunity_id})/customerid_account/$ref").status_code == 204
    assert api.get(select).json()["_customerid_value"] is None
