"""Mart rows → Web API JSON bodies, with a stable hash to tell changed rows from unchanged."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from load.manifest import Lookup, TableSpec

__all__ = ["Payload", "PayloadBuilder", "json_value", "payload_hash", "bind"]


@dataclass(frozen=True)
class Payload:
    record_id: str
    source_key: str | None
    body: dict[str, Any]  # sent by upsert
    state: dict[str, Any]  # statecode/statuscode, sent by an update after the upsert
    hash: str
    state_hash: str | None
    body_json: str | None = None  # `body` as canonical JSON (what `hash` hashes), for the ledger


def json_value(value: Any) -> Any:
    """A JSON value as the Web API expects it: UTC `Z` datetimes, ISO dates, numeric decimals."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical_json(content: Mapping[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(content: Mapping[str, Any] | str) -> str:
    canonical = content if isinstance(content, str) else canonical_json(content)
    return hashlib.sha256(canonical.encode()).hexdigest()


def bind(entity_set: str, record_id: Any) -> str:
    return f"/{entity_set}({str(record_id).lower()})"


class PayloadBuilder:
    """Builds the payloads of one table's rows; `skip_lookups` are patched later (deferred)."""

    def __init__(
        self, spec: TableSpec, columns: Sequence[str], skip_lookups: Collection[str] = ()
    ) -> None:
        self.spec = spec
        self._lookups = [lk for lk in spec.lookups if lk.column not in skip_lookups]
        special = {spec.primary_key, *spec.state_columns}
        special |= {lk.column for lk in spec.lookups}
        special |= {party.column for party in spec.activity_parties}
        self._plain = [c for c in columns if c not in special]
        self._state = [c for c in spec.state_columns if c in columns]

    def build(self, row: Mapping[str, Any]) -> Payload:
        spec = self.spec
        record_id = str(row[spec.primary_key]).lower()
        body = {column: json_value(row[column]) for column in self._plain}
        for lookup in self._lookups:
            if row.get(lookup.column) is not None:
                body[f"{lookup.navigation_property}@odata.bind"] = bind(
                    lookup.target_entity_set, row[lookup.column]
                )
        parties = [
            {
                f"partyid_{party.target}@odata.bind": bind(
                    party.target_entity_set, row[party.column]
                ),
                "participationtypemask": party.participationtypemask,
            }
            for party in spec.activity_parties
            if row.get(party.column) is not None
        ]
        if parties:
            body[f"{spec.table}_activity_parties"] = parties
        state = {c: json_value(row[c]) for c in self._state if row[c] is not None}
        source_key = row.get(spec.source_key) if spec.source_key else None
        body_json = canonical_json(body)  # serialised once: hashed here, ledgered twice
        return Payload(
            record_id=record_id,
            source_key=None if source_key is None else str(source_key),
            body=body,
            state=state,
            hash=payload_hash(body_json),
            state_hash=payload_hash(state) if state else None,
            body_json=body_json,
        )


def link_body(lookup: Lookup, target_id: Any) -> dict[str, Any]:
    """The PATCH body that sets one deferred lookup."""
    return {f"{lookup.navigation_property}@odata.bind": bind(lookup.target_entity_set, target_id)}
