"""The HTTP face of the local Dataverse: a Starlette app with the OAuth2 authority and the Web API,
service protection, the server-cost model and fault injection."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .auth import InvalidBearerToken, TokenRequestError
from .records import API_PATH
from .service import Dataverse
from .webapi import ApiRequest, ApiResponse

log = logging.getLogger(__name__)
API_ROOT = API_PATH.rstrip("/")


class InjectedConnectionDrop(ConnectionAbortedError):
    """Raised by DroppedConnection; the server logs it as one line (see server.py)."""


class DroppedConnection(Response):
    """Fault injection: start a response, then abort, so the client sees the connection drop.

    Raising after the response has started makes uvicorn close the connection mid-response; its
    "Exception in ASGI application" traceback is reduced to one line by server.py's log filter.
    """

    def __init__(self, method: str, path: str) -> None:
        super().__init__()
        self.request_line = f"{method} {path}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"4096"), (b"content-type", b"application/json")],
            }
        )
        raise InjectedConnectionDrop(
            f"fault injection: dropped the connection of {self.request_line}"
        )


def _dataverse_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(
        body,
        status_code=status,
        headers={"OData-Version": "4.0", **(headers or {})},
        media_type="application/json; odata.metadata=minimal",
    )


def create_app(dataverse: Dataverse) -> Starlette:
    request_counter = itertools.count()
    authority = dataverse.authority
    config = dataverse.config

    def check_tenant(request: Request) -> Response | None:
        tenant = request.path_params["tenant"]
        if tenant != authority.tenant:
            error = TokenRequestError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
            return JSONResponse(error.body(), status_code=400)
        return None

    async def openid_configuration(request: Request) -> Response:
        return check_tenant(request) or JSONResponse(authority.openid_configuration())

    async def jwks(request: Request) -> Response:
        return check_tenant(request) or JSONResponse(authority.jwks())

    async def token(request: Request) -> Response:
        refused = check_tenant(request)
        if refused is not None:
            return refused
        # client_credentials requests are application/x-www-form-urlencoded
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            issued = authority.issue_token(form)
        except TokenRequestError as error:
            return JSONResponse(error.body(), status_code=error.status)
        return JSONResponse(issued, headers={"Cache-Control": "no-store"})

    async def web_api(request: Request) -> Response:
        try:
            caller_identity = authority.check_bearer(request.headers.get("authorization"))
        except InvalidBearerToken as error:
            return _dataverse_error(
                401, "", str(error), {"WWW-Authenticate": authority.challenge_header()}
            )
        caller = dataverse.caller_for(caller_identity.client_id)
        if caller is None:
            return _dataverse_error(
                403,
                "0x80072560",
                "The user is not a member of the organization.",
            )
        user_id = caller.systemuserid
        protection = dataverse.protection
        if protection.config.enabled:
            throttle = protection.admit(user_id)
            if throttle is not None:
                return _dataverse_error(
                    429,
                    throttle.code,
                    throttle.message,
                    {
                        "Retry-After": str(throttle.retry_after_seconds),
                        **protection.headers(user_id),
                    },
                )
        return await _handle_admitted(request, caller)

    async def _handle_admitted(request: Request, caller: Any) -> Response:
        user_id = caller.systemuserid
        protection = dataverse.protection
        started = time.monotonic()
        records = 0
        try:
            fault = dataverse.faults.decide(next(request_counter))
            if fault == "slow":
                await asyncio.sleep(dataverse.faults.config.slow_seconds)
            elif fault == "5xx":
                return _dataverse_error(503, "", "Service Unavailable (injected fault).")
            elif fault == "drop":
                return DroppedConnection(request.method, request.url.path)
            declared = request.headers.get("content-length")
            if (
                declared is not None
                and declared.isdigit()
                and int(declared) > config.max_body_bytes
            ):
                return _too_large(config.max_body_bytes)
            body = await request.body()
            if len(body) > config.max_body_bytes:
                return _too_large(config.max_body_bytes)
            api_request = ApiRequest(
                method=request.method,
                path=request.url.path[len(API_ROOT) :].lstrip("/"),
                query=list(request.query_params.multi_items()),
                headers={key.lower(): value for key, value in request.headers.items()},
                body=body,
                caller=caller,
            )
            api_response = dataverse.webapi.handle(api_request)
            records = api_response.records
            cost = dataverse.config.cost_model.seconds(records)
            elapsed = time.monotonic() - started
            if cost > elapsed:
                await asyncio.sleep(cost - elapsed)
            headers = dict(api_response.headers)
            if protection.config.enabled:
                headers.update(protection.headers(user_id))
            return _to_starlette(api_response, headers)
        finally:
            if protection.config.enabled:
                simulated = dataverse.config.cost_model.simulated_seconds(records)
                wall = time.monotonic() - started
                protection.release(user_id, max(simulated, wall * protection.config.time_scale))

    routes = [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", jwks),
        Route("/{tenant}/discovery/keys", jwks),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/token", token, methods=["POST"]),
        Route(API_ROOT, web_api, methods=["GET"]),
        Route(
            API_ROOT + "/{path:path}",
            web_api,
            methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        ),
    ]
    return Starlette(routes=routes)


def _too_large(limit: int) -> Response:
    return _dataverse_error(
        413, "0x8006088a", f"The request body exceeds the maximum allowed size of {limit} bytes."
    )


def _to_starlette(response: ApiResponse, headers: dict[str, str]) -> Response:
    media_type = headers.pop("Content-Type", None)
    return Response(
        response.body, status_code=response.status, headers=headers, media_type=media_type
    )
