"""Record storage in one SQLite file: rows as JSON per (table, id), an index for alternate keys,
and the metadata created through the Metadata API.

One connection guarded by a re-entrant lock. `atomic()` nests: the outermost call is the transaction
and an error anywhere inside rolls all of it back, so a change set, a bulk request and a single
write are each all-or-nothing.

Bulk requests read every record and key value they need with one query (`get_many`,
`key_lookup_many`: the values go in as one JSON array) and write with one `executemany` per
statement. Records live in a rowid table with a unique (entity, id) index: rows of several hundred
bytes in a WITHOUT ROWID table keyed by random GUIDs made inserts three times slower.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

DATABASE_FILE = "dataverse.sqlite"

_RECORDS_TABLE = """create table if not exists records (
    entity text not null,
    id text not null,
    version integer not null,
    data text not null
)"""
_RECORDS_INDEX = "create unique index if not exists records_by_id on records (entity, id)"
_SCHEMA = f"""
{_RECORDS_TABLE};
{_RECORDS_INDEX};
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
create table if not exists publish_log (
    seq integer primary key autoincrement,
    body text not null
);
"""
# The table name publish_log entries carry in the dump (sorts before every logical name).
PUBLISH_LOG_TABLE = "$publishlog"


class StoreError(Exception):
    """A storage failure."""


class DuplicateKey(StoreError):
    """An insert whose primary key or alternate key value already exists."""

    def __init__(self, key_name: str | None) -> None:
        super().__init__(key_name or "primary key")
        self.key_name = key_name


Record = dict[str, Any]


def _dumps(record: Record) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:  # an integer beyond 64 bits, or a type orjson does not know
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _loads(data: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # NaN or a huge integer, as earlier versions could store
        return json.loads(data)


# `where id in (select value from json_each(?))`: any number of values as one parameter
_JSON_VALUES = "(select value from json_each(?))"


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
        # Checkpoint (the only fsync with synchronous=normal) every ~40 MB of WAL, not every 4 MB.
        self._db.execute("pragma wal_autocheckpoint=10000")
        self._db.execute("pragma cache_size=-65536")
        self._migrate_records_table()
        self._db.executescript(_SCHEMA)
        row = self._db.execute("select max(version) from records").fetchone()
        self._version = int(row[0] or 1000)

    def _migrate_records_table(self) -> None:
        """Move a data file written with the former WITHOUT ROWID records table to the new one."""
        row = self._db.execute(
            "select sql from sqlite_master where type = 'table' and name = 'records'"
        ).fetchone()
        if row is None or "without rowid" not in row[0].lower():
            return
        self._db.execute("begin immediate")
        try:
            self._db.execute("alter table records rename to records_without_rowid")
            self._db.execute(_RECORDS_TABLE)
            self._db.execute(_RECORDS_INDEX)
            self._db.execute(
                "insert into records (entity, id, version, data) "
                "select entity, id, version, data from records_without_rowid"
            )
            self._db.execute("drop table records_without_rowid")
        except BaseException:
            self._db.execute("rollback")
            raise
        self._db.execute("commit")

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
        return _loads(row[0]) if row else None

    def exists(self, entity: str, record_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "select 1 from records where entity = ? and id = ?", (entity, record_id)
            ).fetchone()
        return row is not None

    def existing_ids(self, entity: str, record_ids: Iterable[str]) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                f"select id from records where entity = ? and id in {_JSON_VALUES}",
                (entity, _dumps(list(dict.fromkeys(record_ids)))),
            ).fetchall()
        return {row[0] for row in rows}

    def get_many(self, entity: str, record_ids: Iterable[str]) -> dict[str, Record]:
        """id -> record for those of `record_ids` that exist, in one query."""
        with self._lock:
            rows = self._db.execute(
                f"select id, data from records where entity = ? and id in {_JSON_VALUES}",
                (entity, _dumps(list(dict.fromkeys(record_ids)))),
            ).fetchall()
        return {record_id: _loads(data) for record_id, data in rows}

    def scan(self, entity: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "select data from records where entity = ? order by id", (entity,)
            ).fetchall()
        return [_loads(row[0]) for row in rows]

    def find_by_column(self, entity: str, column: str, value: str) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "select data from records where entity = ? and json_extract(data, ?) = ? "
                "order by id",
                (entity, f'$."{column}"', value),
            ).fetchall()
        return [_loads(row[0]) for row in rows]

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

    def update_many(self, entity: str, records: list[tuple[str, int, Record]]) -> None:
        """Rewrite (id, version, record) rows that exist (one executemany)."""
        with self._lock:
            self._db.executemany(
                "update records set version = ?, data = ? where entity = ? and id = ?",
                [(version, _dumps(record), entity, rid) for rid, version, record in records],
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

    def key_lookup_many(
        self, entity: str, key_name: str, key_values: Iterable[str]
    ) -> dict[str, str]:
        """key value -> record id for those of `key_values` that are indexed, in one query."""
        with self._lock:
            rows = self._db.execute(
                "select key_value, id from key_index where entity = ? and key_name = ? "
                f"and key_value in {_JSON_VALUES}",
                (entity, key_name, _dumps(list(dict.fromkeys(key_values)))),
            ).fetchall()
        return dict(rows)

    def set_keys(self, entity: str, entries: list[tuple[str, str, str]]) -> None:
        """Index (key_name, key_value, id) rows, replacing each record's previous values.

        DuplicateKey(key_name) if another record already holds a value, or two entries claim
        the same value. Run it inside `atomic()`: on DuplicateKey the index is left half-written
        for the rollback to undo.
        """
        by_key: dict[str, list[tuple[str, str, str, str]]] = {}
        for key_name, key_value, record_id in entries:
            by_key.setdefault(key_name, []).append((entity, key_name, key_value, record_id))
        with self._lock:
            for key_name, rows in by_key.items():
                self._db.executemany(
                    "delete from key_index where entity = ? and key_name = ? and id = ?",
                    [(entity, key_name, record_id) for _, _, _, record_id in rows],
                )
            for key_name, rows in by_key.items():
                try:
                    self._db.executemany(
                        "insert into key_index (entity, key_name, key_value, id) "
                        "values (?, ?, ?, ?)",
                        rows,
                    )
                except sqlite3.IntegrityError as error:
                    raise DuplicateKey(key_name) from error

    def clear_keys(self, entity: str, entries: list[tuple[str, str]]) -> None:
        """Remove the (key_name, id) index rows (records whose key columns became null)."""
        with self._lock:
            self._db.executemany(
                "delete from key_index where entity = ? and key_name = ? and id = ?",
                [(entity, key_name, record_id) for key_name, record_id in entries],
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
        return [(kind, entity, _loads(body)) for kind, entity, body in rows]

    def get_setting(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("select value from settings where name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "insert or replace into settings (name, value) values (?, ?)", (name, value)
            )

    # -- publishing ----------------------------------------------------------------------------

    def add_publish(self, entry: dict[str, Any]) -> int:
        """Record one PublishXml/PublishAllXml; returns its sequence number."""
        with self._lock:
            cursor = self._db.execute("insert into publish_log (body) values (?)", (_dumps(entry),))
        return int(cursor.lastrowid or 0)

    def publishes(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("select seq, body from publish_log order by seq").fetchall()
        return [{"seq": seq, **_loads(body)} for seq, body in rows]

    def reset(self) -> None:
        """Empty every table (records, keys, created metadata, settings, publish log)."""
        with self._lock:
            self._db.execute("begin immediate")
            for table in ("records", "key_index", "custom_metadata", "settings", "publish_log"):
                self._db.execute(f"delete from {table}")
            # sequence numbers (the publish log's dump ids) start again at 1
            self._db.execute("delete from sqlite_sequence")
            self._db.execute("commit")
            self._version = 1000

    # -- inspection ----------------------------------------------------------------------------

    def dump_lines(self) -> Iterator[str]:
        """Every record as one JSON line `{"table","id","data"}`, sorted by table then id; the
        publish log first, as table `$publishlog` with the zero-padded sequence number as id."""
        for entry in self.publishes():
            seq = entry.pop("seq")
            yield json.dumps(
                {"table": PUBLISH_LOG_TABLE, "id": f"{seq:010d}", "data": entry},
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
        with self._lock:
            rows = self._db.execute(
                "select entity, id, data from records order by entity, id"
            ).fetchall()
        for entity, record_id, data in rows:
            record = _loads(data)
            yield json.dumps(
                {"table": entity, "id": record_id, "data": record},
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
