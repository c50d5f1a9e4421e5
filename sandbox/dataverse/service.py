"""One local Dataverse organisation: configuration, storage, catalog, seed data and the Web API,
independent of the HTTP transport (see app.py) so tests and the CLI can inspect it directly."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth import Authority, ClientRegistration, load_signing_key
from .catalog import DEFAULT_METADATA_DIR, Catalog, load_catalog
from .metadata_api import MetadataApi
from .protection import CostModel, FaultConfig, FaultInjector, ProtectionConfig, ServiceProtection
from .records import LOOKUP_TYPE, Caller, RecordEngine, lookup_column, utc_now_text
from .solutions import add_solution_tables
from .store import Store
from .tls import TlsFiles, ensure_tls_files
from .webapi import WebApi

DEFAULT_TENANT = "local"
DEFAULT_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
DEFAULT_CLIENT_SECRET = "local-dataverse-dev-secret"  # public development value (contracts.md)
DEFAULT_SEED_FILE = Path(__file__).parent / "seed.json"
DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024
SEEDED_SETTING = "seeded"


class ServiceError(Exception):
    """The local Dataverse cannot start with this configuration."""


@dataclass
class ServerConfig:
    data_dir: Path = Path("var/dataverse")
    host: str = "127.0.0.1"
    port: int = 8443
    tenant: str = DEFAULT_TENANT
    reset: bool = False
    seed_file: Path = DEFAULT_SEED_FILE
    metadata_dir: Path = DEFAULT_METADATA_DIR
    protection: ProtectionConfig = field(default_factory=ProtectionConfig)
    cost_model: CostModel = field(default_factory=CostModel)
    faults: FaultConfig = field(default_factory=FaultConfig)
    client_secrets: dict[str, str] = field(
        default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
    )
    client_certificates: dict[str, bytes] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # delay before a newly created alternate key becomes Active
    key_activation_seconds: float = 1.0


def read_seed(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ServiceError(f"cannot read seed file {path}: {error}") from error


class Dataverse:
    """The organisation behind the HTTP server."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if config.reset and config.data_dir.exists():
            for name in ("dataverse.sqlite", "dataverse.sqlite-wal", "dataverse.sqlite-shm"):
                (config.data_dir / name).unlink(missing_ok=True)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls: TlsFiles = ensure_tls_files(config.data_dir)
        self.seed_data = read_seed(config.seed_file)
        self.organization_id: str = self.seed_data["organization"]["organizationid"]
        self.store = Store(config.data_dir)
        self.catalog: Catalog = load_catalog(config.metadata_dir)
        add_solution_tables(self.catalog)
        self.engine = RecordEngine(self.catalog, self.store)
        self.metadata_api = MetadataApi(self.engine, config.key_activation_seconds)
        self.metadata_api.replay()
        self.webapi = WebApi(self.engine, self.organization_id, self.metadata_api)
        self.authority = Authority(
            config.tenant, load_signing_key(config.data_dir), self._clients()
        )
        self.protection = ServiceProtection(config.protection)
        self.faults = FaultInjector(config.faults)
        self._callers: dict[str, Caller] = {}
        if self.store.get_setting(SEEDED_SETTING) is None:
            self.seed()

    def set_org_url(self, url: str) -> None:
        self.authority.set_org_url(url)
        self.engine.org_url = url.rstrip("/")

    def _clients(self) -> list[ClientRegistration]:
        object_ids = {
            str(user.get("applicationid", "")).lower(): user.get("azureactivedirectoryobjectid")
            for user in self.seed_data.get("systemusers", [])
            if user.get("applicationid")
        }
        client_ids = set(self.config.client_secrets) | set(self.config.client_certificates)
        clients = []
        for client_id in sorted(client_ids):
            registration = ClientRegistration(
                client_id=client_id,
                secret=self.config.client_secrets.get(client_id),
                certificate_pem=self.config.client_certificates.get(client_id),
            )
            object_id = object_ids.get(client_id.lower())
            if object_id:
                registration = ClientRegistration(
                    client_id, registration.secret, registration.certificate_pem, object_id
                )
            clients.append(registration)
        return clients

    # -- seed and reset ------------------------------------------------------------------------

    def seed(self) -> None:
        """Write the organisation, business unit, users, teams and currency of the seed file."""
        data = self.seed_data
        business_unit = (data.get("businessunits") or [{}])[0].get("businessunitid")
        with self.store.atomic():
            organization = data["organization"]
            self.store.set_setting(
                "maxuploadfilesize", str(organization.get("maxuploadfilesize", 5_242_880))
            )
            self.store.set_setting("organization_name", organization.get("name", "Local Dataverse"))
            self._seed_rows("organization", [organization], {})
            self._seed_rows("businessunit", data.get("businessunits", []), {})
            self._seed_rows(
                "systemuser", data.get("systemusers", []), {"businessunitid": business_unit}
            )
            self._seed_rows("team", data.get("teams", []), {"businessunitid": business_unit})
            self._seed_rows("transactioncurrency", data.get("transactioncurrencies", []), {})
            self._seed_rows("publisher", data.get("publishers", []), {})
            self._seed_rows("solution", data.get("solutions", []), {})
            self.store.set_setting(SEEDED_SETTING, utc_now_text())
        self._callers.clear()

    def _seed_rows(self, entity: str, rows: list[dict[str, Any]], lookups: dict[str, Any]) -> None:
        table = self.catalog.get(entity)
        if table is None or not rows:
            return
        now = utc_now_text()
        prepared = []
        for row in rows:
            record = {k: v for k, v in row.items() if not k.startswith("_")}
            for name, value in list(record.items()):  # a lookup given by id in the seed file
                meta = table.attributes.get(name)
                if meta is not None and meta.is_lookup and meta.targets:
                    del record[name]
                    record[lookup_column(name)] = value
                    record[lookup_column(name) + LOOKUP_TYPE] = meta.targets[0]
            for attribute, value in lookups.items():
                if value and attribute in table.attributes:
                    target = self.catalog.require(entity).attributes[attribute].targets
                    record[lookup_column(attribute)] = value
                    record[
                        lookup_column(attribute) + "@Microsoft.Dynamics.CRM.lookuplogicalname"
                    ] = target[0] if target else "businessunit"
            if "fullname" in table.attributes and ("firstname" in row or "lastname" in row):
                record["fullname"] = " ".join(
                    p for p in (row.get("firstname"), row.get("lastname")) if p
                )
            for column in ("createdon", "modifiedon"):
                if column in table.attributes:
                    record[column] = now
            if "statecode" in table.attributes:
                record.setdefault("statecode", 0)
            record["versionnumber"] = self.store.next_version()
            prepared.append((record[table.primary_id], record["versionnumber"], record))
        self.store.replace_many(entity, prepared)

    def reset(self) -> None:
        """Empty storage (records and created metadata) and write the seed again."""
        self.store.reset()
        self.catalog = load_catalog(self.config.metadata_dir)
        add_solution_tables(self.catalog)
        self.engine.catalog = self.catalog
        self.webapi.catalog = self.catalog
        self.metadata_api.replay()
        self.seed()

    # -- callers -------------------------------------------------------------------------------

    def caller_for(self, client_id: str) -> Caller | None:
        """The application user (systemuser with this applicationid), or None if there is none."""
        key = client_id.lower()
        cached = self._callers.get(key)
        if cached is not None:
            return cached
        for user in self.store.find_by_column("systemuser", "applicationid", client_id):
            caller = Caller(user["systemuserid"], user.get(lookup_column("businessunitid")))
            self._callers[key] = caller
            return caller
        for user in self.store.scan("systemuser"):
            if str(user.get("applicationid", "")).lower() == key:
                caller = Caller(user["systemuserid"], user.get(lookup_column("businessunitid")))
                self._callers[key] = caller
                return caller
        return None

    # -- inspection ----------------------------------------------------------------------------

    def dump_lines(self) -> list[str]:
        return list(self.store.dump_lines())

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def close(self) -> None:
        self.store.close()


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
