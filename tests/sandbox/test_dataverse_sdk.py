"""Microsoft's own Python SDK (PowerPlatform-Dataverse-Client 1.1.0) against the local Dataverse
over HTTPS: create, upsert, query, batch and create a table."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import msal
import pytest
import requests
from azure.core.credentials import AccessToken, TokenCredential

from sandbox.dataverse.server import RunningServer
from sandbox.dataverse.service import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

DataverseClient = pytest.importorskip("PowerPlatform.Dataverse.client").DataverseClient


class LocalAuthorityCredential(TokenCredential):
    """An azure-core TokenCredential that gets tokens from the local authority through msal."""

    def __init__(self, server: RunningServer) -> None:
        session = requests.Session()
        session.trust_env = False
        session.verify = server.ca_file
        self._app = msal.ConfidentialClientApplication(
            DEFAULT_CLIENT_ID,
            client_credential=DEFAULT_CLIENT_SECRET,
            authority=server.authority,
            instance_discovery=False,
            http_client=session,
        )

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        result = self._app.acquire_token_for_client(list(scopes))
        if "access_token" not in result:
            raise RuntimeError(result)
        return AccessToken(result["access_token"], int(time.time()) + int(result["expires_in"]))


@pytest.fixture
def sdk(
    fresh_dataverse: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(
        Path(certifi.where()).read_text() + "\n" + Path(fresh_dataverse.ca_file).read_text()
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = DataverseClient(fresh_dataverse.url, LocalAuthorityCredential(fresh_dataverse))
    yield client


def test_sdk_creates_and_reads_records(sdk) -> None:  # type: ignore[no-untyped-def]
    account_id = sdk.records.create("account", {"name": "SDK Account", "telephone1": "555-0100"})
    record = sdk.records.get("account", account_id, select=["name", "telephone1"])
    assert record["name"] == "SDK Account" and record["telephone1"] == "555-0100"
    sdk.records.update("account", account_id, {"telephone1": "555-0199"})
    assert sdk.records.get("account", account_id, select=["telephone1"])["telephone1"] == "555-0199"
    contact_id = sdk.records.create(
        "contact",
        {"lastname": "Lookup", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"},
    )
    assert (
        sdk.records.get("contact", contact_id, select=["_parentcustomerid_value"])[
            "_parentcustomerid_value"
        ]
        == account_id
    )


def test_sdk_bulk_create_and_query(sdk) -> None:  # type: ignore[no-untyped-def]
    ids = sdk.records.create(
        "lead", [{"subject": f"Lead {n}", "lastname": f"L{n}"} for n in range(5)]
    )
    assert len(ids) == 5
    pages = list(
        sdk.records.get(
            "lead",
            select=["subject"],
            filter="startswith(subject,'Lead')",
            orderby=["subject desc"],
            page_size=2,
        )
    )
    subjects = [row["subject"] for page in pages for row in page]
    assert subjects == [f"Lead {n}" for n in range(4, -1, -1)]


def test_sdk_upserts_by_alternate_key(sdk, fresh_dataverse: RunningServer) -> None:  # type: ignore[no-untyped-def]
    from PowerPlatform.Dataverse.models.upsert import UpsertItem

    sdk.tables.create_alternate_key("lead", "lead_email_key", ["emailaddress1"])
    deadline = time.time() + 5
    while time.time() < deadline:
        keys = sdk.tables.get_alternate_keys("lead")
        if all(
            str(
                getattr(k, "status", None) or k["EntityKeyIndexStatus"]
                if isinstance(k, dict)
                else k.status
            )
            == "Active"
            for k in keys
        ):
            break
        time.sleep(0.1)
    sdk.records.upsert(
        "lead",
        [UpsertItem(alternate_key={"emailaddress1": "a@example.com"}, record={"subject": "one"})],
    )
    sdk.records.upsert(
        "lead",
        [
            UpsertItem(
                alternate_key={"emailaddress1": "a@example.com"}, record={"subject": "one updated"}
            ),
            UpsertItem(alternate_key={"emailaddress1": "b@example.com"}, record={"subject": "two"}),
        ],
    )
    rows = [
        row for page in sdk.records.get("lead", select=["subject", "emailaddress1"]) for row in page
    ]
    assert sorted((r["emailaddress1"], r["subject"]) for r in rows) == [
        ("a@example.com", "one updated"),
        ("b@example.com", "two"),
    ]


def test_sdk_batch(sdk) -> None:  # type: ignore[no-untyped-def]
    batch = sdk.batch.new()
    batch.records.create("account", {"name": "Batch A"})
    batch.records.create("account", {"name": "Batch B"})
    result = batch.execute()
    assert not getattr(result, "has_errors", False)
    rows = [row for page in sdk.records.get("account", select=["name"]) for row in page]
    assert sorted(r["name"] for r in rows) == ["Batch A", "Batch B"]


def test_sdk_creates_a_table_and_writes_to_it(sdk) -> None:  # type: ignore[no-untyped-def]
    publisher_id = sdk.records.create(
        "publisher",
        {
            "uniquename": "migrationpublisher",
            "friendlyname": "Migration Publisher",
            "customizationprefix": "new",
            "customizationoptionvalueprefix": 10001,
        },
    )
    sdk.records.create(
        "solution",
        {
            "uniquename": "MigrationSolution",
            "friendlyname": "Migration Solution",
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        },
    )
    info = sdk.tables.create(
        "new_Widget",
        {"new_Colour": "string", "new_Weight": "decimal", "new_InStock": "bool"},
        solution="MigrationSolution",
    )
    assert info["entity_set_name"] == "new_widgets"
    record_id = sdk.records.create(
        "new_widget",
        {"new_name": "Sprocket", "new_colour": "Red", "new_weight": 2.5, "new_instock": True},
    )
    row = sdk.records.get(
        "new_widget", record_id, select=["new_name", "new_colour", "new_weight", "new_instock"]
    )
    assert (row["new_name"], row["new_colour"], row["new_weight"], row["new_instock"]) == (
        "Sprocket",
        "Red",
        2.5,
        True,
    )
