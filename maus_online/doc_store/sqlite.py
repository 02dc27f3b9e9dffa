"""The SQLite document store: the embedded default when the two halves are separate processes.

Safe with several processes on one machine (go.py, its Celery workers, merge-output): the
database runs in WAL mode, so readers never block the writer, and every connection waits
(``busy_timeout``) instead of failing when another process holds the write lock.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..errors import DocumentStoreError
import orjson

from .base import (ConsumerState, DocumentStore, StoredSpill, StreamContents, StreamPosition,
                   StreamState)

SCHEMA = """
CREATE TABLE IF NOT EXISTS spills (
    seq INTEGER PRIMARY KEY, run_number INTEGER, spill_number INTEGER,
    put_time REAL NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS spills_put_time ON spills (put_time);
CREATE TABLE IF NOT EXISTS consumers (
    name TEXT PRIMARY KEY, cursor INTEGER NOT NULL, reduced INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stream (
    id INTEGER PRIMARY KEY CHECK (id = 1), watermark INTEGER NOT NULL,
    reserved INTEGER NOT NULL, finished INTEGER NOT NULL, producer TEXT NOT NULL,
    contents TEXT, position TEXT);
"""
#: Columns added since the first version, added to an older file when it is opened.
ADDED_COLUMNS = {"stream": {"contents": "TEXT", "position": "TEXT"}}
#: Milliseconds a connection waits for another process's write lock before it gives up.
BUSY_TIMEOUT_MS = 30_000


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///path/store.db`` (three slashes: relative, four: absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise DocumentStoreError(f"doc_store_url {url!r} is not of the form "
                                 "sqlite:///path/store.db")
    return Path(url[len(prefix):])


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a file written by an older version up to :data:`SCHEMA` (its data stays)."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


class SQLiteDocumentStore(DocumentStore):
    """Spills in one table keyed by ``seq``; consumers and the stream state beside them."""

    kind = "sqlite"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._lock = threading.Lock()  # one connection, shared by this process's threads
        self._pid = os.getpid()
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL keeps this crash-safe
            db.executescript(SCHEMA)
            _add_missing_columns(db)
            return db
        except (sqlite3.Error, OSError) as exc:
            raise DocumentStoreError(f"cannot open the SQLite document store {self.path}: "
                                     f"{exc}") from exc

    def _run(self, sql: str, parameters: Any = ()) -> list[tuple]:
        if os.getpid() != self._pid:  # a forked child must not share the parent's connection
            self._pid, self._db = os.getpid(), self._connect()
        try:
            with self._lock:
                return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise DocumentStoreError(f"SQLite document store {self.path}: {exc}") from exc

    def put(self, spill: StoredSpill) -> None:
        self._run("INSERT OR REPLACE INTO spills VALUES (?, ?, ?, ?, ?)",
                  (spill.seq, spill.run_number, spill.spill_number, spill.put_time, spill.body))

    def get(self, seq: int) -> StoredSpill | None:
        rows = self._run("SELECT seq, run_number, spill_number, body, put_time FROM spills "
                         "WHERE seq = ?", (seq,))
        return StoredSpill(*rows[0]) if rows else None

    def read(self, after: int, through: int, limit: int = 100) -> list[StoredSpill]:
        rows = self._run("SELECT seq, run_number, spill_number, body, put_time FROM spills "
                         "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                         (after, through, limit))
        return [StoredSpill(*row) for row in rows]

    def count(self) -> int:
        return self._run("SELECT COUNT(*) FROM spills")[0][0]

    def last_seq(self) -> int:
        return self._run("SELECT COALESCE(MAX(seq), 0) FROM spills")[0][0]

    def _delete_through(self, seq: int) -> int:
        return len(self._run("DELETE FROM spills WHERE seq <= ? RETURNING seq", (seq,)))

    def _delete_put_before(self, put_time: float) -> int:
        return len(self._run("DELETE FROM spills WHERE put_time < ? RETURNING seq",
                             (put_time,)))

    def consumers(self) -> dict[str, ConsumerState]:
        return {name: ConsumerState(name, cursor, reduced) for name, cursor, reduced
                in self._run("SELECT name, cursor, reduced FROM consumers")}

    def save_consumer(self, state: ConsumerState) -> None:
        self._run("INSERT OR REPLACE INTO consumers VALUES (?, ?, ?)",
                  (state.name, state.cursor, state.reduced))

    def forget_consumer(self, name: str) -> None:
        self._run("DELETE FROM consumers WHERE name = ?", (name,))

    def stream(self) -> StreamState:
        rows = self._run("SELECT watermark, reserved, finished, producer, contents, position "
                         "FROM stream")
        if not rows:
            return StreamState()
        watermark, reserved, finished, producer, contents, position = rows[0]
        return StreamState(watermark, reserved, bool(finished), producer,
                           StreamContents.from_dict(orjson.loads(contents) if contents else None),
                           StreamPosition.from_dict(orjson.loads(position) if position else None))

    def save_stream(self, state: StreamState) -> None:
        contents = None if state.contents is None else orjson.dumps(state.contents.as_dict())
        position = None if state.position is None else orjson.dumps(state.position.as_dict())
        self._run("INSERT OR REPLACE INTO stream (id, watermark, reserved, finished, producer, "
                  "contents, position) VALUES (1, ?, ?, ?, ?, ?, ?)",
                  (state.watermark, state.reserved, int(state.finished), state.producer,
                   contents, position))

    def close(self) -> None:
        with self._lock:
            self._db.close()
