"""Clients for the local Dataverse tests: a token from its authority via msal, and an httpx client
on the Web API root."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import msal
import pytest
import requests

from sandbox.dataverse.server import RunningServer
from sandbox.dataverse.service import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

API = "/api/data/v9.2"


def acquire_token(server: RunningServer) -> str:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca_file
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=DEFAULT_CLIENT_SECRET,
        authority=server.authority,
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client([f"{server.url}/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


def ssl_context(server: RunningServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_file)


def api_client(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}{API}/",
        verify=ssl_context(server),
        trust_env=False,
        timeout=30,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
        },
    )


@pytest.fixture(scope="session")
def dataverse_token(dataverse_server: RunningServer) -> str:
    return acquire_token(dataverse_server)


@pytest.fixture
def api(fresh_dataverse: RunningServer, dataverse_token: str) -> Iterator[httpx.Client]:
    """An authenticated client on a freshly reset local Dataverse."""
    with api_client(fresh_dataverse, dataverse_token) as client:
        yield client
