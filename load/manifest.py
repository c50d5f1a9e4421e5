"""The Dataverse marts as dbt's `target/manifest.json` describes them (`config.meta.dataverse`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ManifestError",
    "Lookup",
    "ActivityParty",
    "CustomColumn",
    "TableSpec",
    "load_manifest",
    "parse_manifest",
]


class ManifestError(Exception):
    """The manifest is missing or a mart's `meta.dataverse` is incomplete."""


@dataclass(frozen=True)
class Lookup:
    column: str
    navigation_property: str
    target: str
    target_entity_set: str


@dataclass(frozen=True)
class ActivityParty:
    column: str
    participationtypemask: int
    target: str
    target_entity_set: str


@dataclass(frozen=True)
class CustomColumn:
    name: str
    type: str
    max_length: int | None = None
    label: str | None = None
    format: str | None = None  # e.g. DateOnly for a DateTime column
    options: tuple[tuple[int, str], ...] = ()  # (value, label) of a Picklist


@dataclass(frozen=True)
class TableSpec:
    model: str
    relation: str  # schema-qualified, without the database: the loader opens the file itself
    table: str
    entity_set: str
    primary_key: str
    source_key: str | None
    root: bool
    lookups: tuple[Lookup, ...] = ()
    activity_parties: tuple[ActivityParty, ...] = ()
    state_columns: tuple[str, ...] = ()
    create_only_columns: tuple[str, ...] = ()
    custom_columns: tuple[CustomColumn, ...] = ()

    @property
    def references(self) -> tuple[tuple[str, str], ...]:
        """(column, target table) of every lookup and activity party."""
        return tuple((lk.column, lk.target) for lk in self.lookups) + tuple(
            (party.column, party.target) for party in self.activity_parties
        )


def load_manifest(path: Path) -> list[TableSpec]:
    if not path.is_file():
        raise ManifestError(f"{path} not found: run `dbt build` (or `dbt parse`) first")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
    return parse_manifest(data)


def parse_manifest(manifest: Mapping[str, Any]) -> list[TableSpec]:
    """One spec per enabled model with `meta.dataverse`, sorted by table name."""
    specs = [
        _spec(node)
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and _dataverse_meta(node) is not None
    ]
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.table in seen:
            raise ManifestError(
                f"models {seen[spec.table]} and {spec.model} both load {spec.table}"
            )
        seen[spec.table] = spec.model
    return sorted(specs, key=lambda spec: spec.table)


def _dataverse_meta(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = node.get("config") or {}
    if config.get("enabled") is False:
        return None
    meta = (config.get("meta") or {}).get("dataverse") or (node.get("meta") or {}).get("dataverse")
    return meta or None


def _spec(node: Mapping[str, Any]) -> TableSpec:
    meta = _dataverse_meta(node)
    assert meta is not None
    model = node.get("name", node.get("unique_id", "?"))
    return TableSpec(
        model=model,
        relation=_relation(node),
        table=_required(meta, "table", model),
        entity_set=_required(meta, "entity_set", model),
        primary_key=_required(meta, "primary_key", model),
        source_key=meta.get("source_key"),
        root=bool(meta.get("root", False)),
        lookups=tuple(_lookup(item, model) for item in meta.get("lookups") or ()),
        activity_parties=tuple(_party(item, model) for item in meta.get("activity_parties") or ()),
        state_columns=tuple(meta.get("state_columns") or ()),
        create_only_columns=tuple(meta.get("create_only_columns") or ()),
        custom_columns=tuple(_custom(item, model) for item in meta.get("custom_columns") or ()),
    )


def _relation(node: Mapping[str, Any]) -> str:
    schema, identifier = node.get("schema"), node.get("alias") or node.get("name")
    if not schema or not identifier:
        raise ManifestError(f"model {node.get('unique_id')} has no schema/alias in the manifest")
    return f'"{schema}"."{identifier}"'


def _required(meta: Mapping[str, Any], key: str, model: str) -> str:
    value = meta.get(key)
    if not value or not isinstance(value, str):
        raise ManifestError(f"model {model}: meta.dataverse.{key} is missing")
    return value


def _lookup(item: Mapping[str, Any], model: str) -> Lookup:
    column = _required(item, "column", model)
    return Lookup(
        column=column,
        navigation_property=item.get("navigation_property") or column,
        target=_required(item, "target", model),
        target_entity_set=_required(item, "target_entity_set", model),
    )


def _party(item: Mapping[str, Any], model: str) -> ActivityParty:
    mask = item.get("participationtypemask")
    if not isinstance(mask, int):
        raise ManifestError(f"model {model}: activity party {item} has no participationtypemask")
    return ActivityParty(
        column=_required(item, "column", model),
        participationtypemask=mask,
        target=_required(item, "target", model),
        target_entity_set=_required(item, "target_entity_set", model),
    )


def _custom(item: Mapping[str, Any], model: str) -> CustomColumn:
    max_length = item.get("max_length")
    return CustomColumn(
        name=_required(item, "name", model),
        type=_required(item, "type", model),
        max_length=int(max_length) if max_length is not None else None,
        label=item.get("label"),
        format=item.get("format"),
        options=tuple((int(o["value"]), str(o["label"])) for o in item.get("options") or ()),
    )


def migration_source(manifest_path: Path, default: str = "opencrm") -> str:
    """The source this build migrates. dbt enables exactly one source's `reconciliation_<source>`
    model (dbt var `migration_source`), so the manifest says which; `default` when it cannot."""
    try:
        nodes = json.loads(manifest_path.read_text(encoding="utf-8")).get("nodes", {})
    except (OSError, ValueError):
        return default
    sources = {
        node["name"].removeprefix("reconciliation_")
        for node in nodes.values()
        if node.get("resource_type") == "model"
        and node.get("name", "").startswith("reconciliation_")
    }
    return sources.pop() if len(sources) == 1 else default
