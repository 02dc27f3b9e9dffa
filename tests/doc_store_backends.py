"""Fixtures that open every document-store back end the contract tests run against.

``memory`` and ``sqlite`` need nothing; ``mongodb`` is mongomock (no MongoDB server can be
installed here) plus a real server whenever ``MAUS_TEST_MONGODB_URL`` is set; ``couchdb`` is a
real ``pouchdb-server`` (tests/couchdb_server.py) started once per test session.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from maus_online.doc_store import DocumentStore, open_doc_store

BACK_ENDS = ["memory", "sqlite", "mongodb-mock", "couchdb"]
if os.environ.get("MAUS_TEST_MONGODB_URL"):
    BACK_ENDS.append("mongodb-real")


def store_config(kind: str, tmp_path, request) -> dict[str, str]:
    """The configuration keys that open a fresh, empty store of back end ``kind``."""
    name = f"maus_test_{uuid.uuid4().hex[:10]}"
    if kind == "memory":
        return {"doc_store_class": "memory", "doc_store_url": ""}
    if kind == "sqlite":
        return {"doc_store_class": "sqlite", "doc_store_url": f"sqlite:///{tmp_path}/store.db"}
    if kind == "mongodb-real":
        base = os.environ["MAUS_TEST_MONGODB_URL"].rstrip("/")
        return {"doc_store_class": "mongodb", "doc_store_url": f"{base}/{name}"}
    if kind == "couchdb":
        server = request.getfixturevalue("couchdb_server")
        return {"doc_store_class": "couchdb", "doc_store_url": f"{server.url}/{name}"}
    raise ValueError(kind)


def open_test_store(kind: str, tmp_path, request) -> DocumentStore:
    """A fresh, empty store of back end ``kind``; mongomock is handed to the MongoDB back end
    as its client, so the product code knows nothing of it."""
    if kind == "mongodb-mock":
        import mongomock

        from maus_online.doc_store.mongodb import MongoDBDocumentStore

        name = f"maus_test_{uuid.uuid4().hex[:10]}"
        return MongoDBDocumentStore(f"mongodb://127.0.0.1:27017/{name}",
                                    client=mongomock.MongoClient())
    return open_doc_store(store_config(kind, tmp_path, request))


@pytest.fixture(params=BACK_ENDS)
def store(request, tmp_path) -> Iterator[DocumentStore]:
    """A fresh, empty document store of each back end in turn."""
    opened = open_test_store(request.param, tmp_path, request)
    yield opened
    opened.close()
