"""Record storage in one SQLite file: rows as JSON per (table, id), an index for alternate keys,
and the metadata created through the Metadata API.

One connection guarded by a re-entrant lock. `atomic()` nests: the outermost call is the transaction
and an error anywhere inside rolls all of it back, so a change set, a bulk request and a single
write are each all-or-nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DATABASE_FILE = "dataverse.sqlite"

_SCHEMA = """
create table if not exists records (
    entity text not null,
    id text not null,
    version integer not null,
    data text not null,
    primary key (entity, id)
) without rowid;
create table if not exists key_index (
    entity text not null,
    key_name text not null,
    key_value text not null,
    id text not null,
    primary key (entity, key_name, key_value)
) without rowid;
create index if not exists key_index_by_record on key_index (entity, id);
create table if not exists custom_metadata (
    seq integer primary key autoincrement,
    kind text not null,
    entity text not null,
    body text not null
);
create table if not exists settings (
    name text primary key,
    value text not null
);
"""


class StoreError(Exception):
    """A storage failure."""


class DuplicateKey(StoreError):
    """An insert whose primary key or alternate key value already exists."""

    def __init__(self, key_name: str | None) -> None:
        super().__init__(key_name or "primary key")
        self.key_name = key_name


Record = dict[str, Any]


def _dumps(record: Record) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE_FILE
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        self._db.execute("pragma foreign_keys=off")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("select max(version) from records").fetchone()
        self._version = int(row[0] or 1000)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._db.execute("begin immediate")
                self._depth = 1
                try:
                    yield
                except BaseException:
                    self._db.execute("rollback")
                    raise
                else:
                    self._db.execute("commit")
                finally:
                    self._depth = 0
                return
            # Nested: every caller lets a failure propagate to the outermost level, which rolls
            # the whole transaction back, so no savepoint is needed.
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1

    def next_version(self) -> int:
        with self._lock:
            self._version += 1
            return self._version

    # -- records -------------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "select data from records where entity = ? and id = ?", (entity, record_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def exists(self, entity: str, record_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "select 1 from records where entity = ? and id = ?", (entity, record_id)
            ).fetchone()
        return row is not None

    def existing_ids(self, entity: str, record_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(record_ids))
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"select id from records where entity = ? and id in ({marks})",
                    (entity, *chunk),
                ).fetchall()
                found.update(row[0] for row in rows)
        return found

    def scan(self, entity: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "select data from records where entity = ? order by id", (entity,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def find_by_column(self, entity: str, column: str, value: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "select data from records where entity = ? and json_extract(data, ?) = ? "
                "order by id",
                (entity, f'$."{column}"', value),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, entity: str) -> int:
        with self._lock:
            row = self._db.execute(
                "select count(*) from records where entity = ?", (entity,)
            ).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "select entity, count(*) from records group by entity order by entity"
            ).fetchall()
        return {entity: int(n) for entity, n in rows}

    def insert_many(self, entity: str, records: list[tuple[str, int, Record]]) -> None:
        """Insert (id, version, record) rows; DuplicateKey if an id exists."""
        with self._lock:
            try:
                self._db.executemany(
                    "insert into records (entity, id, version, data) values (?, ?, ?, ?)",
                    [(entity, rid, version, _dumps(record)) for rid, version, record in records],
                )
            except sqlite3.IntegrityError as error:
                raise DuplicateKey(None) from error

    def replace_many(self, entity: str, records: list[tuple[str, int, Record]]) -> None:
        with self._lock:
            self._db.executemany(
                "insert or replace into records (entity, id, version, data) values (?, ?, ?, ?)",
                [(entity, rid, version, _dumps(record)) for rid, version, record in records],
            )

    def delete(self, entity: str, record_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "delete from records where entity = ? and id = ?", (entity, record_id)
            )
            self._db.execute(
                "delete from key_index where entity = ? and id = ?", (entity, record_id)
            )
        return cursor.rowcount > 0

    def entities(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "select distinct entity from records order by entity"
            ).fetchall()
        return [row[0] for row in rows]

    # -- alternate keys ------------------------------------------------------------------------

    def key_lookup(self, entity: str, key_name: str, key_value: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "select id from key_index where entity = ? and key_name = ? and key_value = ?",
                (entity, key_name, key_value),
            ).fetchone()
        return row[0] if row else None

    def set_keys(self, entity: str, entries: list[tuple[str, str, str]]) -> None:
        """Index (key_name, key_value, id) rows, replacing each record's previous values.

        DuplicateKey(key_name) if another record already holds a value.
        """
        with self._lock:
            for key_name, key_value, record_id in entries:
                holder = self.key_lookup(entity, key_name, key_value)
                if holder is not None and holder != record_id:
                    raise DuplicateKey(key_name)
                self._db.execute(
                    "delete from key_index where entity = ? and key_name = ? and id = ?",
                    (entity, key_name, record_id),
                )
                self._db.execute(
                    "insert into key_index (entity, key_name, key_value, id) values (?, ?, ?, ?)",
                    (entity, key_name, key_value, record_id),
                )

    def clear_key(self, entity: str, key_name: str, record_id: str) -> None:
        with self._lock:
            self._db.execute(
                "delete from key_index where entity = ? and key_name = ? and id = ?",
                (entity, key_name, record_id),
            )

    def drop_key(self, entity: str, key_name: str) -> None:
        with self._lock:
            self._db.execute(
                "delete from key_index where entity = ? and key_name = ?", (entity, key_name)
            )

    # -- custom metadata and settings ----------------------------------------------------------

    def add_custom_metadata(self, kind: str, entity: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "insert into custom_metadata (kind, entity, body) values (?, ?, ?)",
                (kind, entity, _dumps(body)),
            )

    def custom_metadata(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute(
                "select kind, entity, body from custom_metadata order by seq"
            ).fetchall()
        return [(kind, entity, json.loads(body)) for kind, entity, body in rows]

    def get_setting(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("select value from settings where name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "insert or replace into settings (name, value) values (?, ?)", (name, value)
            )

    def reset(self) -> None:
        """Empty every table (records, keys, created metadata, settings)."""
        with self._lock:
            self._db.execute("begin immediate")
            for table in ("records", "key_index", "custom_metadata", "settings"):
                self._db.execute(f"delete from {table}")
            self._db.execute("commit")
            self._version = 1000

    # -- inspection ----------------------------------------------------------------------------

    def dump_lines(self) -> Iterator[str]:
        """Every record as one JSON line `{"table","id","data"}`, sorted by table then id."""
        with self._lock:
            rows = self._db.execute(
                "select entity, id, data from records order by entity, id"
            ).fetchall()
        for entity, record_id, data in rows:
            record = json.loads(data)
            yield json.dumps(
                {"table": entity, "id": record_id, "data": record},
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
