"""The MongoDB document store, through pymongo.

``MongoDBDocumentStore("mongodb://host:27017/maus")``; a replica set is named in the URL as
pymongo expects it (``mongodb://h1,h2/maus?replicaSet=rs0``). The database is the URL's path
(``maus`` when it has none). Layout:

* collection ``spills``: one document per spill, ``_id`` = ``seq`` (so a redelivered spill
  replaces its document), the body as BSON binary holding the codec's JSON bytes untouched;
* collection ``state``: one document per consumer (``_id`` ``consumer:NAME``) and the
  producer's stream state (``_id`` ``stream``).

The client is made lazily by pymongo, and the indexes are made on first use, so opening a
store never waits for the server: an unreachable server surfaces as a
:class:`~maus_online.errors.DocumentStoreError` from the first call, within the short
server-selection timeout set here, and the caller retries (retry.py).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import bson
import pymongo
from bson.binary import Binary
from pymongo import uri_parser
from pymongo.errors import PyMongoError

from ..errors import DocumentStoreError
from .base import ConsumerState, DocumentStore, StoredSpill, StreamState

T = TypeVar("T")

DEFAULT_DATABASE = "maus"
#: Client options set unless the URL sets them (case-insensitive, as pymongo reads them).
#: Short server-selection and connect timeouts make an outage an error within seconds, not
#: the 30 s pymongo waits by default; the socket timeout bounds a frozen server.
TIMEOUT_OPTIONS = {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000,
                   "socketTimeoutMS": 20000}
CONSUMER_PREFIX = "consumer:"
STREAM_ID = "stream"


def database_name(url: str) -> str:
    """The database a MongoDB URL names, as ``MongoClient(url).get_default_database("maus")``
    reads it; never resolves DNS (a ``mongodb+srv`` URL is parsed as a plain one)."""
    plain = "mongodb://" + url[len("mongodb+srv://"):] if url.startswith("mongodb+srv://") \
        else url
    try:
        return uri_parser.parse_uri(plain)["database"] or DEFAULT_DATABASE
    except (PyMongoError, ValueError) as exc:  # ValueError: a port that is not a number
        raise DocumentStoreError(f"doc_store_url {_redact(url)!r} is not a MongoDB URL: "
                                 f"{exc}") from exc


def _redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _client_options(url: str) -> dict[str, Any]:
    given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
    return {key: value for key, value in TIMEOUT_OPTIONS.items() if key.lower() not in given}


class MongoDBDocumentStore(DocumentStore):
    """Consumes :class:`StoredSpill` documents and consumer/stream states; produces them back
    from a MongoDB database.

    ``client`` replaces the pymongo client the store would make from ``url`` (tests hand it a
    ``mongomock.MongoClient()``); the database name still comes from ``url``.
    """

    kind = "mongodb"

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = _redact(url)
        self._full_url = url
        self._own_client = client is None
        self._lock = threading.Lock()
        self._indexed = False
        self._pid = os.getpid()
        if client is None:
            self.client = self._make_client()
            self.database = self._call(lambda: self.client.get_default_database(
                DEFAULT_DATABASE))
        else:
            self.client = client
            self.database = client.get_database(database_name(url))

    def _make_client(self) -> Any:
        try:
            return pymongo.MongoClient(self._full_url, **_client_options(self._full_url))
        except (PyMongoError, ValueError) as exc:  # ValueError: a port that is not a number
            raise DocumentStoreError(f"MongoDB document store {self.url}: {exc}") from exc

    @property
    def spills(self) -> Any:
        return self.database["spills"]

    @property
    def state(self) -> Any:
        return self.database["state"]

    def _call(self, operation: Callable[[], T]) -> T:
        """``operation()``, with every pymongo and BSON error made a DocumentStoreError."""
        try:
            return operation()
        except (PyMongoError, bson.errors.BSONError) as exc:
            raise DocumentStoreError(f"MongoDB document store {self.url}: {exc}") from exc

    def _run(self, operation: Callable[[], T]) -> T:
        """``operation()`` on a client fit for this process, once the indexes exist."""
        if self._own_client and os.getpid() != self._pid:
            # pymongo clients are not fork-safe: a forked child makes its own.
            self._pid, self.client = os.getpid(), self._make_client()
            self.database = self.client.get_default_database(DEFAULT_DATABASE)
        if not self._indexed:
            self._call(self._ensure_indexes)
        return self._call(operation)

    def _ensure_indexes(self) -> None:
        with self._lock:
            if self._indexed:
                return
            # Cursor reads are range scans on _id (= seq), which MongoDB always indexes, so
            # read(after, through) walks that index in order and never sorts in memory.
            # put_time is indexed for the retention deletion, which would scan otherwise.
            # create_index is idempotent, so processes that start together do not clash.
            self.spills.create_index("put_time", name="put_time")
            self._indexed = True

    # --- Spills ----------------------------------------------------------------------------

    def put(self, spill: StoredSpill) -> None:
        document = {"_id": spill.seq, "run_number": spill.run_number,
                    "spill_number": spill.spill_number, "put_time": spill.put_time,
                    "body": Binary(spill.body)}
        self._run(lambda: self.spills.replace_one({"_id": spill.seq}, document, upsert=True))

    def get(self, seq: int) -> StoredSpill | None:
        document = self._run(lambda: self.spills.find_one({"_id": seq}))
        return _spill(document) if document is not None else None

    def read(self, after: int, through: int, limit: int = 100) -> list[StoredSpill]:
        if limit <= 0 or through <= after:
            return []
        return self._run(lambda: [
            _spill(document) for document in
            self.spills.find({"_id": {"$gt": after, "$lte": through}})
            .sort("_id", pymongo.ASCENDING).limit(limit)])

    def count(self) -> int:
        return self._run(lambda: self.spills.count_documents({}))

    def last_seq(self) -> int:
        document = self._run(lambda: self.spills.find_one(
            {}, projection={"_id": True}, sort=[("_id", pymongo.DESCENDING)]))
        return int(document["_id"]) if document is not None else 0

    def _delete_through(self, seq: int) -> int:
        return self._run(lambda: self.spills.delete_many({"_id": {"$lte": seq}}).deleted_count)

    def _delete_put_before(self, put_time: float) -> int:
        return self._run(lambda: self.spills.delete_many(
            {"put_time": {"$lt": put_time}}).deleted_count)

    # --- Consumers and the stream ------------------------------------------------------------

    def consumers(self) -> dict[str, ConsumerState]:
        documents = self._run(lambda: list(self.state.find({"kind": "consumer"})))
        return {document["name"]: ConsumerState(document["name"], int(document["cursor"]),
                                                int(document["reduced"]))
                for document in documents}

    def save_consumer(self, state: ConsumerState) -> None:
        key = CONSUMER_PREFIX + state.name
        document = {"_id": key, "kind": "consumer", "name": state.name,
                    "cursor": state.cursor, "reduced": state.reduced}
        self._run(lambda: self.state.replace_one({"_id": key}, document, upsert=True))

    def forget_consumer(self, name: str) -> None:
        self._run(lambda: self.state.delete_one({"_id": CONSUMER_PREFIX + name}))

    def stream(self) -> StreamState:
        document = self._run(lambda: self.state.find_one({"_id": STREAM_ID}))
        if document is None:
            return StreamState()
        return StreamState.from_dict(document)

    def save_stream(self, state: StreamState) -> None:
        document = {"_id": STREAM_ID, "kind": "stream", **state.as_dict()}
        self._run(lambda: self.state.replace_one({"_id": STREAM_ID}, document, upsert=True))

    def close(self) -> None:
        if self._own_client:
            self._call(self.client.close)


def _spill(document: dict[str, Any]) -> StoredSpill:
    return StoredSpill(int(document["_id"]), document.get("run_number"),
                       document.get("spill_number"), bytes(document["body"]),
                       float(document.get("put_time", 0.0)))
