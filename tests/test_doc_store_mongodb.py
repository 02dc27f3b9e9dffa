"""What only the MongoDB back end has: its indexes and layout (through mongomock), URL parsing
(a replica set), client timeouts, and an unreachable server (real pymongo, no server)."""
from __future__ import annotations

import time

import mongomock
import pymongo
import pytest
from bson.binary import Binary

from maus_online.doc_store import StoredSpill
from maus_online.doc_store.mongodb import MongoDBDocumentStore, database_name
from maus_online.errors import DocumentStoreError
from tests.conftest import skeleton

REPLICA_SET_URL = ("mongodb://127.0.0.1:1,127.0.0.1:2/maus_rs?replicaSet=rs0"
                   "&serverSelectionTimeoutMS=300")


@pytest.fixture
def store():
    with MongoDBDocumentStore("mongodb://127.0.0.1:27017/maus_layout",
                              client=mongomock.MongoClient()) as opened:
        yield opened


def test_the_indexes_exist_once_the_store_is_used(store):
    store.put(StoredSpill.encode(1, skeleton(7, 1)))
    indexes = store.spills.index_information()
    assert indexes["_id_"]["key"] == [("_id", 1)]  # cursor reads: ranges of _id = seq
    assert indexes["put_time"]["key"] == [("put_time", 1)]


def test_a_spill_is_keyed_by_seq_with_its_json_bytes_as_binary(store):
    document = StoredSpill.encode(5, skeleton(7, 3))
    store.put(document)
    store.save_consumer(store.register_consumer("histograms"))
    raw = store.spills.find_one({"_id": 5})
    assert isinstance(raw["body"], Binary) and bytes(raw["body"]) == document.body
    assert (raw["run_number"], raw["spill_number"]) == (7, 3)
    assert store.state.find_one({"_id": "consumer:histograms"})["cursor"] == 0
    assert store.spills.count_documents({}) == 1  # consumers live beside the spills


@pytest.mark.parametrize("url, name", [
    ("mongodb://h1,h2/maus_rs?replicaSet=rs0", "maus_rs"),
    ("mongodb://user:p%40ss@h1:27017,h2:27018/online?replicaSet=rs0&authSource=admin",
     "online"),
    ("mongodb://h1:27017", "maus"),
    ("mongodb://h1:27017/", "maus"),
    ("mongodb+srv://cluster.example/online_srv", "online_srv"),
], ids=["replica-set", "credentials", "no-path", "bare-slash", "srv"])
def test_the_database_comes_from_the_url_path(url, name):
    assert database_name(url) == name
    if not url.startswith("mongodb+srv"):  # pymongo resolves srv hosts through DNS
        client = pymongo.MongoClient(url, connect=False)
        try:
            assert client.get_default_database("maus").name == name
        finally:
            client.close()


def test_a_replica_set_url_opens_that_database_and_set_without_a_server():
    store = MongoDBDocumentStore(REPLICA_SET_URL)
    try:
        assert store.database.name == "maus_rs"
        assert store.client.options.replica_set_name == "rs0"
        # The URL's timeout wins over the store's default; the others are the defaults.
        assert store.client.options.server_selection_timeout == 0.3
        assert store.client.options.pool_options.connect_timeout == 3.0
    finally:
        store.close()


def test_an_unreachable_server_is_a_quick_error_naming_the_store():
    store = MongoDBDocumentStore(
        "mongodb://maus:hunter2@127.0.0.1:1/maus?serverSelectionTimeoutMS=500")
    began = time.monotonic()
    try:
        with pytest.raises(DocumentStoreError, match=r"MongoDB document store "
                           r"mongodb://maus:\*\*\*@127\.0\.0\.1:1/maus.*127\.0\.0\.1:1") as error:
            store.put(StoredSpill.encode(1, skeleton(7, 1)))
        assert time.monotonic() - began < 3
        assert "hunter2" not in str(error.value)
        with pytest.raises(DocumentStoreError):
            store.stream()
    finally:
        store.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:27017/maus",
                                 "mongodb://maus:secret@127.0.0.1:port/maus"])
def test_an_invalid_url_is_a_document_store_error(url):
    with pytest.raises(DocumentStoreError, match="MongoDB document store mongodb|URI") as error:
        MongoDBDocumentStore(url)
    with pytest.raises(DocumentStoreError):
        database_name(url)
    assert "secret" not in str(error.value)
