"""The OAuth2 authority and the Web API's bearer-token check."""

from __future__ import annotations

import time

import httpx
import jwt
import msal
import pytest
import requests

from sandbox.dataverse.server import RunningServer
from sandbox.dataverse.service import DEFAULT_CLIENT_ID
from tests.sandbox.conftest import API, acquire_token, api_client, ssl_context


def _session(server: RunningServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca_file
    return session


def test_msal_acquires_a_token_for_the_org_audience(dataverse_server: RunningServer) -> None:
    token = acquire_token(dataverse_server)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == dataverse_server.url
    assert claims["appid"] == DEFAULT_CLIENT_ID
    assert 3000 <= claims["exp"] - claims["iat"] <= 3600


def test_discovery_documents_both_paths(dataverse_server: RunningServer) -> None:
    for path in (
        "/local/v2.0/.well-known/openid-configuration",
        "/local/.well-known/openid-configuration",
    ):
        body = httpx.get(dataverse_server.url + path, verify=ssl_context(dataverse_server)).json()
        assert body["token_endpoint"] == f"{dataverse_server.authority}/oauth2/v2.0/token"


def test_wrong_secret_is_refused_as_entra_does(dataverse_server: RunningServer) -> None:
    app = msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential="not-the-secret",
        authority=dataverse_server.authority,
        instance_discovery=False,
        http_client=_session(dataverse_server),
    )
    result = app.acquire_token_for_client([f"{dataverse_server.url}/.default"])
    assert result.get("error") == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_unknown_client_is_refused(dataverse_server: RunningServer) -> None:
    app = msal.ConfidentialClientApplication(
        "00000000-0000-0000-0000-000000000000",
        client_credential="x",
        authority=dataverse_server.authority,
        instance_discovery=False,
        http_client=_session(dataverse_server),
    )
    result = app.acquire_token_for_client([f"{dataverse_server.url}/.default"])
    assert result.get("error") == "unauthorized_client"


def test_scope_for_another_resource_is_refused(dataverse_server: RunningServer) -> None:
    response = httpx.post(
        f"{dataverse_server.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": "local-dataverse-dev-secret",
            "scope": "https://other.crm.dynamics.com/.default",
        },
        verify=ssl_context(dataverse_server),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def _forged(server: RunningServer, **claims: object) -> str:
    key = server.dataverse.authority._signing_key
    now = int(time.time())
    body = {
        "aud": server.url,
        "iss": f"{server.authority}/v2.0",
        "iat": now,
        "exp": now + 600,
        "appid": DEFAULT_CLIENT_ID,
    }
    body.update(claims)
    return jwt.encode(body, key, algorithm="RS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "expired",
        "wrong-audience",
        "bad-signature",
    ],
)
def test_api_answers_401_with_a_bearer_challenge(
    dataverse_server: RunningServer, authorization: str | None
) -> None:
    if authorization == "expired":
        authorization = "Bearer " + _forged(dataverse_server, exp=int(time.time()) - 10)
    elif authorization == "wrong-audience":
        authorization = "Bearer " + _forged(dataverse_server, aud="https://other.crm.dynamics.com")
    elif authorization == "bad-signature":
        good = acquire_token(dataverse_server)
        authorization = (
            "Bearer " + good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
        )
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(
        f"{dataverse_server.url}{API}/WhoAmI", headers=headers, verify=ssl_context(dataverse_server)
    )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=")
    assert dataverse_server.authority in challenge
    assert "error" in response.json()


def test_valid_token_reaches_the_api(dataverse_server: RunningServer, dataverse_token: str) -> None:
    with api_client(dataverse_server, dataverse_token) as client:
        response = client.get("WhoAmI()")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"BusinessUnitId", "UserId", "OrganizationId"}
