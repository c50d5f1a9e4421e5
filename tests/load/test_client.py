"""The client's HTTP behaviour against httpx.MockTransport; the real server: test_integration."""

import json

import httpx
import pytest

from load.batch import BatchRequest
from load.client import (
    DataverseClient,
    RecordError,
    RetryPolicy,
    ThrottledError,
    TransientError,
    odata_string,
)
from load.config import DataverseSettings

SETTINGS = DataverseSettings(
    url="https://org.example", authority="https://login.example/t", client_id="c", client_secret="s"
)


class Bearer(httpx.Auth):
    def auth_flow(self, request):
        request.headers["Authorization"] = "Bearer test"
        yield request


def client_for(handler, sleeps=None, attempts=4) -> DataverseClient:
    return DataverseClient(
        SETTINGS,
        auth=Bearer(),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=attempts, backoff=0.5, max_backoff=4),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_every_request_carries_the_recommended_headers():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"UserId": "u"}, headers={"x-ms-dop-hint": "8"})

    client = client_for(handler)
    assert client.whoami() == {"UserId": "u"}

    request = seen[0]
    assert request.url == "https://org.example/api/data/v9.2/WhoAmI"
    assert (
        request.headers["OData-MaxVersion"] == "4.0" and request.headers["OData-Version"] == "4.0"
    )
    assert request.headers["Accept"] == "application/json"
    assert request.headers["If-None-Match"] == "null"
    assert request.headers["Authorization"] == "Bearer test"
    assert client.dop_hint == 8


def test_429_waits_retry_after_then_succeeds():
    sleeps, calls = [], []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={
                    "error": {
                        "code": "0x80072322",
                        "message": "Number of requests exceeded the limit of 6000.",
                    }
                },
            )
        return httpx.Response(204)

    client_for(handler, sleeps).upsert("accounts", "a1", {"name": "x"})

    assert sleeps == [7.0, 7.0]
    assert len(calls) == 3


def test_throttling_that_never_ends_is_raised_with_its_retry_after():
    def handler(request):
        return httpx.Response(
            429,
            headers={"Retry-After": "2"},
            json={"error": {"code": "0x80072321", "message": "time"}},
        )

    with pytest.raises(ThrottledError) as info:
        client_for(handler, [], attempts=3).upsert("accounts", "a1", {})

    assert info.value.retry_after == 2.0 and info.value.code == "0x80072321"


def test_server_errors_and_dropped_connections_back_off_exponentially():
    sleeps, calls = [], []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("server disconnected")
        if len(calls) < 4:
            return httpx.Response(503, text="busy")
        return httpx.Response(204)

    client_for(handler, sleeps, attempts=5).upsert("accounts", "a1", {"name": "x"})

    assert len(calls) == 4
    assert [
        round(s / b, 2) >= 0.75 and s / b <= 1.25
        for s, b in zip(sleeps, [0.5, 1.0, 2.0], strict=True)
    ] == [True] * 3


def test_transient_errors_give_up_after_the_attempts():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(502, text="bad gateway")

    with pytest.raises(TransientError):
        client_for(handler, [], attempts=3).delete("accounts", "a1")
    assert len(calls) == 3


def test_record_errors_are_not_retried_and_carry_dataverse_code():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(
            400, json={"error": {"code": "0x80044331", "message": "A validation error occurred."}}
        )

    with pytest.raises(RecordError) as info:
        client_for(handler, []).upsert("accounts", "a1", {"name": "x" * 300})

    assert len(calls) == 1
    assert (info.value.status, info.value.code, info.value.message) == (
        400,
        "0x80044331",
        "A validation error occurred.",
    )


def test_no_cookie_is_kept_between_requests():
    seen = []

    def handler(request):
        seen.append(request.headers.get("Cookie"))
        return httpx.Response(
            200, json={}, headers={"Set-Cookie": "ARRAffinity=abc; Path=/; Secure"}
        )

    client = client_for(handler)
    client.whoami()
    client.whoami()

    assert seen == [None, None]


def test_pages_follow_next_link():
    def handler(request):
        if "$skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [{"n": 3}]})
        assert request.url.params["$select"] == "fullname,isdisabled"
        assert request.url.params["$filter"] == "isdisabled eq false"
        assert request.headers["Prefer"] == "odata.maxpagesize=2"
        return httpx.Response(
            200,
            json={
                "value": [{"n": 1}, {"n": 2}],
                "@odata.nextLink": "https://org.example/api/data/v9.2/systemusers?$select=fullname&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E",
            },
        )

    pages = list(
        client_for(handler).get_pages(
            "systemusers", ["fullname", "isdisabled"], filter="isdisabled eq false", page_size=2
        )
    )

    assert pages == [[{"n": 1}, {"n": 2}], [{"n": 3}]]


def test_supports_message_asks_sdkmessagefilters_once():
    calls = []

    def handler(request):
        calls.append(request)
        params = request.url.params
        assert request.url.path == "/api/data/v9.2/sdkmessagefilters"
        assert (
            params["$filter"] == "sdkmessageid/name eq @message and primaryobjecttypecode eq @table"
        )
        supported = params["@table"] == "'account'" and params["@message"] == "'UpsertMultiple'"
        return httpx.Response(
            200, json={"value": [{"sdkmessagefilterid": "f"}] if supported else []}
        )

    client = client_for(handler)

    assert client.supports_message("account", "UpsertMultiple") is True
    assert client.supports_message("account", "UpsertMultiple") is True
    assert client.supports_message("annotation", "UpsertMultiple") is False
    assert len(calls) == 2


def test_upsert_multiple_addresses_targets_by_primary_key():
    bodies = []

    def handler(request):
        bodies.append((request.url.path, json.loads(request.content)))
        return httpx.Response(204)

    client_for(handler).upsert_multiple("accounts", "account", [("a1", {"name": "x"})])

    path, body = bodies[0]
    assert path == "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple"
    assert body == {
        "Targets": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.account",
                "@odata.id": "accounts(a1)",
                "name": "x",
            }
        ]
    }


def test_a_stopped_batch_returns_the_failed_part():
    def handler(request):
        assert request.headers["Prefer"] == "odata.continue-on-error"
        body = (
            "--batchresponse_1\r\nContent-Type: application/http\r\n"
            "Content-Transfer-Encoding: binary\r\n\r\n"
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n"
            '{"error":{"code":"0x1","message":"bad"}}\r\n'
            "--batchresponse_1--\r\n"
        )
        return httpx.Response(
            400,
            content=body.encode(),
            headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
        )

    responses = client_for(handler).batch([BatchRequest("PATCH", "accounts(a1)", {"name": "x"})])

    assert [(r.status, r.body["error"]["code"]) for r in responses] == [(400, "0x1")]


def test_odata_string_doubles_quotes():
    assert odata_string("O'Brien") == "'O''Brien'"


def test_last_attempt_seconds_leaves_out_the_retry_after_wait():
    """The pacer judges the server's speed by the answered attempt alone: a long wait for the
    service protection window is not a slow answer (it used to shrink the batch to 1)."""
    waited = []
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(
                429,
                headers={"Retry-After": "280"},
                json={"error": {"code": "0x80072321", "message": "Combined execution time"}},
            )
        return httpx.Response(204)

    client = client_for(handler, waited)
    client.upsert("accounts", "a1", {"name": "x"})

    assert waited == [280.0]
    assert 0 <= client.last_attempt_seconds() < 5
