"""Where the loader finds Dataverse and its local files, read from the environment.

Dataverse:  DATAVERSE_URL, DATAVERSE_TENANT_ID or DATAVERSE_AUTHORITY, DATAVERSE_CLIENT_ID,
            DATAVERSE_CLIENT_SECRET or DATAVERSE_CLIENT_CERT (+ DATAVERSE_CLIENT_CERT_THUMBPRINT),
            DATAVERSE_CA_BUNDLE (a CA to trust besides the system's, e.g. the local Dataverse's).
Local files: MIGRATE_VAR (default `var`), MIGRATE_DUCKDB (default `var/migration.duckdb`),
            MIGRATE_LEDGER (default `var/ledger.duckdb`), the dbt manifest `target/manifest.json`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["ConfigError", "DataverseSettings", "LoadPaths", "API_VERSION", "MICROSOFT_LOGIN"]

API_VERSION = "v9.2"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """The environment does not say enough to reach Dataverse."""


@dataclass(frozen=True)
class DataverseSettings:
    url: str
    authority: str
    client_id: str
    client_secret: str | None = None
    client_cert: Path | None = None
    client_cert_thumbprint: str | None = None
    ca_bundle: Path | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/data/{API_VERSION}/"

    @property
    def scope(self) -> str:
        return f"{self.url}/.default"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DataverseSettings:
        env = os.environ if env is None else env
        url = _required(
            env, "DATAVERSE_URL", "the environment URL, e.g. https://contoso.crm.dynamics.com"
        )
        return cls(
            url=_org_url(url),
            authority=_authority(env),
            client_id=_required(
                env, "DATAVERSE_CLIENT_ID", "the app registration's application id"
            ),
            client_secret=env.get("DATAVERSE_CLIENT_SECRET") or None,
            client_cert=_optional_path(env, "DATAVERSE_CLIENT_CERT"),
            client_cert_thumbprint=env.get("DATAVERSE_CLIENT_CERT_THUMBPRINT") or None,
            ca_bundle=_optional_path(env, "DATAVERSE_CA_BUNDLE"),
        )._checked()

    def _checked(self) -> DataverseSettings:
        if not self.client_secret and not self.client_cert:
            raise ConfigError(
                "set DATAVERSE_CLIENT_SECRET (a client secret of the app registration) or "
                "DATAVERSE_CLIENT_CERT (a PEM or PFX file with its certificate and private key)"
            )
        for name, path in (
            ("DATAVERSE_CLIENT_CERT", self.client_cert),
            ("DATAVERSE_CA_BUNDLE", self.ca_bundle),
        ):
            if path is not None and not path.is_file():
                raise ConfigError(f"{name} points at {path}, which is not a file")
        return self


@dataclass(frozen=True)
class LoadPaths:
    duckdb: Path
    ledger: Path
    manifest: Path
    reports: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, root: Path | None = None) -> LoadPaths:
        env = os.environ if env is None else env
        root = PROJECT_ROOT if root is None else root
        var = Path(env.get("MIGRATE_VAR") or root / "var")
        return cls(
            duckdb=Path(env.get("MIGRATE_DUCKDB") or var / "migration.duckdb"),
            ledger=Path(env.get("MIGRATE_LEDGER") or var / "ledger.duckdb"),
            manifest=root / "target" / "manifest.json",
            reports=var / "reports",
        )


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}")
    return value


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    value = (env.get(name) or "").strip()
    return Path(value) if value else None


def _org_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"DATAVERSE_URL must be an https URL, got {url!r}")
    return f"https://{parts.netloc}"


def _authority(env: Mapping[str, str]) -> str:
    authority = (env.get("DATAVERSE_AUTHORITY") or "").strip().rstrip("/")
    if authority:
        parts = urlsplit(authority)
        if parts.scheme != "https" or parts.path.strip("/") == "":
            raise ConfigError(
                f"DATAVERSE_AUTHORITY must be an https URL ending in the tenant, got {authority!r}"
            )
        return authority
    tenant = (env.get("DATAVERSE_TENANT_ID") or "").strip()
    if not tenant:
        raise ConfigError(
            "DATAVERSE_TENANT_ID is not set: set it to the Entra tenant id (or set "
            "DATAVERSE_AUTHORITY to the full authority URL)"
        )
    return f"{MICROSOFT_LOGIN}/{tenant}"
