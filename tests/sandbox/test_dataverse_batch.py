"""$batch replayed from execute-batch-operations-using-web-api.md: plain parts, atomic change sets,
Content-ID references, errors with and without odata.continue-on-error."""

from __future__ import annotations

import json
import re

import httpx

API = "/api/data/v9.2"


def _part(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += ["", ""]
    return "\r\n".join(lines)


def _batch(parts: list[str], boundary: str = "batch_AAA") -> tuple[str, str]:
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return body, f'multipart/mixed; boundary="{boundary}"'


def _changeset(parts: list[str], boundary: str = "changeset_BBB") -> str:
    inner = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--"
    return f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n{inner}'


def _post(api: httpx.Client, parts: list[str], prefer: str | None = None) -> httpx.Response:
    body, content_type = _batch(parts)
    headers = {"Content-Type": content_type}
    if prefer:
        headers["Prefer"] = prefer
    return api.post("$batch", content=body.encode(), headers=headers)


def _statuses(response: httpx.Response) -> list[int]:
    return [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3})", response.text)]


def test_batch_without_changeset(api: httpx.Client) -> None:
    account = api.post("accounts", json={"name": "Batch parent"}).headers["OData-EntityId"]
    account_id = account.rsplit("(", 1)[1].rstrip(")")
    parts = [
        _part(
            "POST",
            f"{API}/tasks",
            {
                "subject": f"Task {n} in batch",
                "regardingobjectid_account_task@odata.bind": f"accounts({account_id})",
            },
        )
        for n in (1, 2, 3)
    ]
    parts.append(_part("GET", f"{API}/accounts({account_id})/Account_Tasks?$select=subject"))
    response = _post(api, parts)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert _statuses(response) == [204, 204, 204, 200]
    assert response.text.count("OData-EntityId:") == 3
    assert sorted(re.findall(r'"subject":"(Task \d in batch)"', response.text)) == [
        "Task 1 in batch",
        "Task 2 in batch",
        "Task 3 in batch",
    ]


def test_changeset_with_content_id_references(api: httpx.Client) -> None:
    changeset = _changeset(
        [
            _part("POST", f"{API}/accounts", {"name": "Account"}, "1"),
            _part(
                "POST",
                f"{API}/contacts",
                {
                    "firstname": "Contact",
                    "lastname": "Two",
                    "parentcustomerid_account@odata.bind": "$1",
                },
                "2",
            ),
            _part("PATCH", "$1", {"primarycontactid@odata.bind": "$2"}, "3"),
            _part("PUT", "$2/lastname", {"value": "Renamed"}, "4"),
        ]
    )
    response = _post(api, [changeset])
    assert response.status_code == 200, response.text
    assert "changesetresponse_" in response.text
    assert re.findall(r"Content-ID: (\d)", response.text) == ["1", "2", "3", "4"]
    contact = api.get("contacts?$select=lastname,_parentcustomerid_value").json()["value"][0]
    account = api.get("accounts?$select=_primarycontactid_value").json()["value"][0]
    assert contact["lastname"] == "Renamed"
    assert contact["_parentcustomerid_value"] == account["accountid"]
    assert account["_primarycontactid_value"] == contact["contactid"]


def test_failed_changeset_rolls_back_everything(api: httpx.Client) -> None:
    changeset = _changeset(
        [
            _part("POST", f"{API}/accounts", {"name": "ok"}, "1"),
            _part("POST", f"{API}/tasks", {"subject": "s" * 201}, "2"),
        ]
    )
    response = _post(api, [changeset])
    assert response.status_code == 400
    assert "0x80044331" in response.text
    assert api.get("accounts/$count").text == "0"


def test_undeclared_content_id_is_400(api: httpx.Client) -> None:
    changeset = _changeset(
        [
            _part(
                "POST",
                f"{API}/contacts",
                {"lastname": "x", "originatingleadid@odata.bind": "$1"},
                "2",
            )
        ]
    )
    response = _post(api, [changeset])
    assert response.status_code == 400
    assert "Content-ID Reference: '$1' does not exist in the batch context." in response.text


def test_error_stops_the_batch_without_continue_on_error(api: httpx.Client) -> None:
    parts = [
        _part("POST", f"{API}/tasks", {"subject": "s" * 201}),
        _part("POST", f"{API}/tasks", {"subject": "Task 2"}),
        _part("POST", f"{API}/tasks", {"subject": "Task 3"}),
    ]
    response = _post(api, parts)
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert '"code":"0x80044331"' in response.text
    assert api.get("tasks/$count").text == "0"


def test_continue_on_error_runs_every_part(api: httpx.Client) -> None:
    parts = [
        _part("POST", f"{API}/tasks", {"subject": "s" * 201}),
        _part("POST", f"{API}/tasks", {"subject": "Task 2"}),
        _part("POST", f"{API}/tasks", {"subject": "Task 3"}),
    ]
    response = _post(api, parts, prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert _statuses(response) == [400, 204, 204]
    assert api.get("tasks/$count").text == "2"


def test_malformed_multipart_is_400(api: httpx.Client) -> None:
    response = api.post(
        "$batch", content=b"not multipart", headers={"Content-Type": "multipart/mixed; boundary=x"}
    )
    assert response.status_code == 400
    assert "error" in response.json()
    assert api.get("WhoAmI").status_code == 200
