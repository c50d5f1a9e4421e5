"""Writes validated against the metadata: one test per Dataverse error, plus the server-side rules
(ignored columns, overriddencreatedon, state/status, annotation files) and bad input."""

from __future__ import annotations

import base64

import httpx

from tests.sandbox.test_dataverse_records import _create, _id_from


def _error(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_unknown_column_is_400_property_does_not_exist(api: httpx.Client) -> None:
    response = api.post("contacts", json={"lastname": "X", "nosuchcolumn": 1})
    assert response.status_code == 400
    assert _error(response) == {
        "code": "0x80060888",
        "message": "The property 'nosuchcolumn' does not exist on type "
        "'Microsoft.Dynamics.CRM.contact'. "
        "Make sure to only use property names that are defined by the type.",
    }


def test_over_long_string_is_0x80044331_with_table_and_limit(api: httpx.Client) -> None:
    response = api.post("tasks", json={"subject": "s" * 201})
    assert response.status_code == 400
    assert _error(response) == {
        "code": "0x80044331",
        "message": "A validation error occurred.  The length of the 'subject' attribute of the "
        "'task' entity exceeded the maximum allowed length of '200'.",
    }
    assert api.post("tasks", json={"subject": "s" * 200}).status_code == 204


def test_invalid_option_value_is_0x8004431a(api: httpx.Client) -> None:
    response = api.post("accounts", json={"name": "A", "accountcategorycode": 99})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "0x8004431A"
    assert "'accountcategorycode'" in error["message"] and "99" in error["message"]


def test_wrong_type_is_400(api: httpx.Client) -> None:
    for body in (
        {"name": 5},
        {"name": "A", "numberofemployees": "many"},
        {"name": "A", "creditonhold": "maybe"},
    ):
        response = api.post("accounts", json=body)
        assert response.status_code == 400, body
        assert _error(response)["code"] == "0x80060888"
    assert api.get("accounts/$count").text == "0"


def test_columns_not_valid_for_the_operation_are_ignored(api: httpx.Client) -> None:
    contact_id = _create(
        api,
        "contacts",
        {
            "lastname": "L",
            "statecode": 1,
            "createdon": "2001-01-01T00:00:00Z",
            "fullname": "Ignored Name",
        },
    )
    body = api.get(f"contacts({contact_id})?$select=statecode,statuscode,createdon,fullname").json()
    assert body["statecode"] == 0 and body["statuscode"] == 1
    assert not body["createdon"].startswith("2001")
    assert body["fullname"] == "L"
    assert (
        api.patch(f"contacts({contact_id})", json={"overriddencreatedon": "2002-02-02"}).status_code
        == 204
    )
    assert (
        api.get(f"contacts({contact_id})?$select=overriddencreatedon").json()["overriddencreatedon"]
        is None
    )


def test_overriddencreatedon_lands_in_createdon(api: httpx.Client) -> None:
    contact_id = _create(
        api, "contacts", {"lastname": "Old", "overriddencreatedon": "2015-03-04T10:00:00Z"}
    )
    body = api.get(f"contacts({contact_id})?$select=createdon,overriddencreatedon").json()
    assert body["createdon"] == "2015-03-04T10:00:00Z"
    assert body["overriddencreatedon"] is not None and not body["overriddencreatedon"].startswith(
        "2015"
    )


def test_statecode_alone_applies_its_default_status(api: httpx.Client) -> None:
    task_id = _create(api, "tasks", {"subject": "Call back"})
    assert api.patch(f"tasks({task_id})", json={"statecode": 1}).status_code == 204
    body = api.get(f"tasks({task_id})?$select=statecode,statuscode").json()
    assert (body["statecode"], body["statuscode"]) == (1, 5)
    assert api.patch(f"tasks({task_id})", json={"statecode": 2, "statuscode": 6}).status_code == 204


def test_statuscode_must_belong_to_the_statecode(api: httpx.Client) -> None:
    task_id = _create(api, "tasks", {"subject": "Call back"})
    response = api.patch(f"tasks({task_id})", json={"statecode": 1, "statuscode": 3})
    assert response.status_code == 400
    assert _error(response)["code"] == "0x8004431A"
    assert "not a valid status code" in _error(response)["message"]
    body = api.get(f"tasks({task_id})?$select=statecode,statuscode").json()
    assert (body["statecode"], body["statuscode"]) == (0, 2)


def test_annotation_document_is_checked_and_derived(api: httpx.Client) -> None:
    document = base64.b64encode(b"hello world").decode()
    note_id = _create(
        api, "annotations", {"subject": "n", "filename": "a.txt", "documentbody": document}
    )
    body = api.get(f"annotations({note_id})?$select=isdocument,filesize").json()
    assert body["isdocument"] is True and body["filesize"] == 11
    plain = _create(api, "annotations", {"subject": "text only", "notetext": "hi"})
    assert api.get(f"annotations({plain})?$select=isdocument").json()["isdocument"] is False


def test_annotation_over_maxuploadfilesize_is_0x80044a02(api: httpx.Client) -> None:
    org = api.get("organizations?$select=maxuploadfilesize").json()["value"][0]
    assert (
        api.patch(
            f"organizations({org['organizationid']})", json={"maxuploadfilesize": 1000}
        ).status_code
        == 204
    )
    response = api.post(
        "annotations", json={"subject": "big", "filename": "b.bin", "documentbody": "A" * 1004}
    )
    assert response.status_code == 400
    assert _error(response) == {"code": "0x80044a02", "message": "Attachment file size is too big."}


def test_malformed_json_is_400_and_the_server_stays_up(api: httpx.Client) -> None:
    response = api.post(
        "accounts", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "0x80060888"
    assert api.get("WhoAmI").status_code == 200


def test_unknown_entity_set_is_404(api: httpx.Client) -> None:
    response = api.get("acounts")
    assert response.status_code == 404
    assert _error(response) == {
        "code": "0x80060888",
        "message": "Resource not found for the segment 'acounts'.",
    }


def test_bad_key_syntax_is_400(api: httpx.Client) -> None:
    response = api.get("accounts(not-a-guid)")
    assert response.status_code == 400
    assert "The key in the request URI is not valid" in _error(response)["message"]


def test_oversized_body_is_413(dataverse_factory, dataverse_token: str) -> None:  # type: ignore[no-untyped-def]
    from tests.sandbox.conftest import acquire_token, api_client

    server = dataverse_factory(max_body_bytes=1000)
    with api_client(server, acquire_token(server)) as client:
        response = client.post("accounts", json={"name": "x", "description": "d" * 2000})
        assert response.status_code == 413
        assert "error" in response.json()
        assert client.post("accounts", json={"name": "small"}).status_code == 204


def test_select_of_an_unknown_column_is_400(api: httpx.Client) -> None:
    response = api.get("accounts?$select=nosuch")
    assert response.status_code == 400
    assert (
        _error(response)["message"]
        == "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.account'."
    )


def test_create_with_given_primary_key_and_duplicate(api: httpx.Client) -> None:
    guid = "00000000-0000-0000-0000-0000000000bb"
    response = api.post("accounts", json={"accountid": guid, "name": "given"})
    assert _id_from(response) == guid
    duplicate = api.post("accounts", json={"accountid": guid, "name": "again"})
    assert duplicate.status_code == 412
    assert _error(duplicate)["code"] == "0x80040237"
