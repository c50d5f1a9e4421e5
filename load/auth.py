"""Client-credentials tokens from msal, attached to httpx requests as an `httpx.Auth` flow."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal
import requests

from load.config import DataverseSettings

__all__ = ["AuthError", "DataverseAuth", "build_msal_app"]

# Authorities msal can resolve through Microsoft's instance discovery; any other host must skip it.
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)
REFRESH_MARGIN = 300.0


class AuthError(Exception):
    """No access token could be obtained for Dataverse."""


def build_msal_app(settings: DataverseSettings) -> msal.ConfidentialClientApplication:
    """The msal app; it reads the authority's OpenID configuration right away."""
    host = urlsplit(settings.authority).hostname or ""
    try:
        return msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=_credential(settings),
            authority=settings.authority,
            instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
            http_client=_http_client(settings.ca_bundle),
        )
    except (requests.RequestException, ValueError) as exc:
        raise AuthError(f"cannot use authority {settings.authority}: {exc}") from exc


def _credential(settings: DataverseSettings) -> str | dict[str, Any]:
    if settings.client_secret:
        return settings.client_secret
    assert settings.client_cert is not None
    cert = settings.client_cert
    if cert.suffix.lower() in {".pfx", ".p12"}:
        return {"private_key_pfx_path": str(cert)}
    pem = cert.read_text()
    return {"private_key": pem, "thumbprint": settings.client_cert_thumbprint or _thumbprint(cert)}


def _thumbprint(cert: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError as exc:
        raise AuthError(
            f"{cert} holds no certificate: set DATAVERSE_CLIENT_CERT_THUMBPRINT"
        ) from exc
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S324 - Entra's thumbprint


def _http_client(ca_bundle: Path | None) -> requests.Session | None:
    if ca_bundle is None:
        return None
    # requests lets REQUESTS_CA_BUNDLE override a session's `verify`; trust_env=False stops that.
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_bundle)
    return session


class DataverseAuth(httpx.Auth):
    """Adds `Authorization: Bearer …`, renews the token before it expires, retries once on 401."""

    def __init__(self, app: msal.ConfidentialClientApplication, scope: str) -> None:
        self._app = app
        self._scopes = [scope]
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    @classmethod
    def from_settings(cls, settings: DataverseSettings) -> DataverseAuth:
        return cls(build_msal_app(settings), settings.scope)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
            yield request

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew:
                self._app.remove_tokens_for_client()
                self._token = None
            if self._token is None or time.monotonic() >= self._expires_at - REFRESH_MARGIN:
                self._acquire()
            assert self._token is not None
            return self._token

    def _acquire(self) -> None:
        try:
            result = self._app.acquire_token_for_client(scopes=self._scopes)
        except (requests.RequestException, ValueError) as exc:
            raise AuthError(
                f"token request to {self._app.authority.token_endpoint} failed: {exc}"
            ) from exc
        if "access_token" not in result:
            description = (result.get("error_description") or "").strip().splitlines()[:1]
            raise AuthError(f"no token for {self._scopes[0]}: {result.get('error')} {description}")
        self._token = result["access_token"]
        self._expires_at = time.monotonic() + float(result.get("expires_in", 3600))
