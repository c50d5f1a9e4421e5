"""The CorePlus stand-in: deterministic data with the documented defects, and an API that checks
JwTokens, limits requests to 10/s, pages with the `paging` envelope and filters on updatedSince."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from sandbox.coreplus import apply_delta, generate_dataset
from sandbox.coreplus.api import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CONSUMER_ID,
    DEFAULT_CONSUMER_SECRET,
    ApiConfig,
)
from sandbox.coreplus.server import RunningCorePlus, start_background


def token(url_path: str, method: str = "GET", **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://tests.invalid",
        "aud": "https://coreplus.com.au",
        "nbf": now,
        "exp": now + 60,
        "consumerId": DEFAULT_CONSUMER_ID,
        "accessToken": DEFAULT_ACCESS_TOKEN,
        "url": url_path,
        "httpMethod": method,
    }
    claims.update(overrides)
    secret = str(claims.pop("secret", DEFAULT_CONSUMER_SECRET))
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningCorePlus]:
    running = start_background(generate_dataset(120, seed=5), ApiConfig(rate_limit=1000))
    try:
        yield running
    finally:
        running.stop()


def get(server: RunningCorePlus, path: str, params: dict | None = None, **claims: object):
    url_path = "/" + server.url.split("/", 3)[3] + path
    headers = {
        "Authorization": f"JwToken {token(url_path.split('?')[0], **claims)}",
        "Content-Type": "application/json",
    }
    return httpx.get(server.url + path, params=params, headers=headers)


def test_the_generator_is_deterministic_and_carries_the_defects() -> None:
    data = generate_dataset(400, seed=9)
    assert data == generate_dataset(400, seed=9)
    clients = data["clients"]
    statuses = {c["status"] for c in clients}
    assert {"Deleted", "Deceased", "Current"} <= statuses
    assert any(c["addressResidential"]["state"] == "" for c in clients), "state glued to suburb"
    assert any(c["phoneNumberMobile"].startswith("+61 (0)") for c in clients)
    assert any(c["phoneNumberMobile"].startswith("491") for c in clients), "lost leading zero"
    assert all(c["dateModified"].endswith("+10:00") for c in clients)
    assert all(isinstance(i["amountOwing"], str) for i in data["invoices"])
    deleted = {c["clientId"] for c in clients if c["status"] == "Deleted"}
    assert any(a["clients"][0]["clientId"].lower() in deleted for a in data["appointments"])
    assert not all(p["email"] for p in data["practitioners"]), "a practitioner has no email"
    providers = [r["providerNumber"] for r in data["referrers"] if r["providerNumber"]]
    assert len(providers) > len(set(providers)), "a referrer entered twice"


def test_a_delta_stamps_every_change_after_the_base() -> None:
    data = generate_dataset(300, seed=2)
    before = max(c["dateModified"] for c in data["clients"])
    summary = apply_delta(data, seed=3)
    changed = summary.changed("clients")
    assert summary.new["clients"] and summary.edited["clients"] and summary.deleted["clients"]
    for client in data["clients"]:
        assert (client["dateModified"] > before) == (client["clientId"] in changed)
    assert all(
        c["status"] == "Deleted"
        for c in data["clients"]
        if c["clientId"] in summary.deleted["clients"]
    )


def test_pages_carry_the_paging_envelope_on_mixed_case_paths(server: RunningCorePlus) -> None:
    first = get(server, "/Client/", {"pageSize": 50})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["paging"] == {"totalRows": 120, "pageNumber": 1, "pageSize": 50}
    assert body["statusMessages"] == [] and len(body["clients"]) == 50
    third = get(server, "/client", {"pageSize": 50, "pageNumber": 3}).json()
    assert len(third["clients"]) == 20
    assert get(server, "/Client/", {"pageSize": 101}).status_code == 400


def test_updated_since_filters_on_date_modified(server: RunningCorePlus) -> None:
    clients = server.api.data["clients"]
    cutoff = sorted(c["dateModified"] for c in clients)[100]
    since = cutoff.replace("T", " ").replace("+10:00", "+1000")
    body = get(server, "/Client/", {"updatedSince": since, "pageSize": 100}).json()
    assert body["paging"]["totalRows"] == sum(c["dateModified"] >= cutoff for c in clients)
    assert get(server, "/Client/", {"updatedSince": "yesterday"}).status_code == 400


@pytest.mark.parametrize(
    "claims",
    [
        {"secret": "wrong-secret-wrong-secret-wrong-secret"},
        {"exp": int(time.time()) - 120, "nbf": int(time.time()) - 180},
        {"url": "/API/Core/v2/Invoice/"},
        {"method": "POST"},
        {"consumerId": "someone-else"},
        {"exp": int(time.time()) + 3600},
    ],
    ids=["signature", "stale", "other-url", "other-method", "consumer", "too-long"],
)
def test_wrong_or_stale_tokens_are_rejected(server: RunningCorePlus, claims: dict) -> None:
    response = get(server, "/Client/", **claims)
    assert response.status_code == 401, response.text
    assert "Invalid token" in response.json()["statusMessages"][0]["message"]


def test_a_missing_content_type_is_an_invalid_token(server: RunningCorePlus) -> None:
    url_path = "/" + server.url.split("/", 3)[3] + "/Client/"
    response = httpx.get(
        server.url + "/Client/", headers={"Authorization": f"JwToken {token(url_path)}"}
    )
    assert response.status_code == 401


def test_more_than_ten_requests_a_second_get_429() -> None:
    running = start_background(generate_dataset(5, seed=1))
    try:
        statuses = [get(running, "/Location/").status_code for _ in range(14)]
    finally:
        running.stop()
    assert statuses[:10] == [200] * 10
    assert 429 in statuses[10:]
