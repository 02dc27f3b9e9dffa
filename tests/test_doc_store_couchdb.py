"""What only the CouchDB back end has: revisions and conflicts, its document layout, several
processes creating one database, credentials, and a server that goes away and comes back.

All against a real pouchdb-server (tests/couchdb_server.py).
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from maus_online import codec
from maus_online.doc_store import Retrying, StoredSpill
from maus_online.doc_store import couchdb
from maus_online.doc_store.couchdb import MAX_SEQ, CouchDBDocumentStore
from maus_online.errors import DocumentStoreError
from tests.conftest import REPO_ROOT, skeleton


def database_url(server) -> str:
    return f"{server.url}/maus_test_{uuid.uuid4().hex[:10]}"


def stored(seq, **fields):
    spill = skeleton(7, seq)
    spill.update(fields)
    return StoredSpill.encode(seq, spill)


@pytest.fixture
def store(couchdb_server):
    with CouchDBDocumentStore(database_url(couchdb_server)) as opened:
        yield opened


def raw(store, doc_id):
    """The document as the server holds it."""
    response = requests.get(f"{store.url}/{doc_id}", timeout=10)
    response.raise_for_status()
    return response.json()


def test_a_spill_is_stored_as_a_json_attachment_under_its_zero_padded_seq(store):
    spill = stored(123, tof_events={"x": [1, 2.5]})
    store.put(spill)
    doc = raw(store, "s:000000000123")
    assert (doc["seq"], doc["run_number"], doc["spill_number"]) == (123, 7, 123)
    assert doc["_attachments"]["body"]["content_type"] == "application/json"
    assert "body" not in doc
    attachment = requests.get(f"{store.url}/s:000000000123/body", timeout=10)
    assert attachment.content == spill.body  # byte for byte
    assert codec.loads(attachment.content) == codec.loads(spill.body)


def test_a_body_that_is_not_json_is_kept_byte_for_byte(store):
    store.put(StoredSpill(4, None, None, b"\xff not json {", time.time()))
    assert store.get(4).body == b"\xff not json {"
    assert store.read(3, 4)[0].body == b"\xff not json {"


def test_spills_stored_before_attachments_are_still_read(store):
    # The layout before attachments: the body as JSON, or in base64 when it was not JSON.
    for seq, field, value in ((1, "body", {"maus_event_type": "Spill", "x": 2}),
                              (2, "body_b64", "/w==")):
        requests.put(f"{store.url}/s:00000000000{seq}", timeout=10, json={
            "seq": seq, "run_number": 7, "spill_number": seq, "put_time": 1.0, field: value}
                     ).raise_for_status()
    assert [(d.seq, d.body) for d in store.read(0, 2)] == [
        (1, b'{"maus_event_type":"Spill","x":2}'), (2, b"\xff")]


def test_a_spill_deleted_after_it_was_listed_is_left_out(store):
    store.put(stored(1))
    store.put(stored(2))
    rows = store._all_docs(couchdb.spill_id(1), couchdb.spill_id(2), include_docs=True)
    store.mark_reduced("only", cursor=1, reduced=1)
    assert store.delete_reduced() == 1
    assert [document.seq for document in store._spills(rows)] == [2]


def test_reads_and_counts_see_spills_only(store):
    # Consumer names that look like spill ids must not leak into spill ranges.
    for name in ("s:000000000002", "zzz", "histograms"):
        store.register_consumer(name)
    store.save_stream(store.stream())
    store.put(stored(2))
    store.put(stored(MAX_SEQ))
    assert [document.seq for document in store.read(0, MAX_SEQ)] == [2, MAX_SEQ]
    assert store.count() == 2
    assert store.last_seq() == MAX_SEQ
    assert set(store.consumers()) == {"s:000000000002", "zzz", "histograms"}


def test_reads_and_deletions_page_through_many_documents(store, monkeypatch):
    monkeypatch.setattr(couchdb, "PAGE", 3)  # deletions: pages of 3 instead of 500
    for seq in [*range(1, 24), 30, 31]:
        store.put(stored(seq))
    assert [d.seq for d in store.read(0, 100, limit=22)] == list(range(1, 23))  # 3 pages
    assert [d.seq for d in store.read(20, 100)] == [21, 22, 23, 30, 31]
    store.mark_reduced("only", cursor=23, reduced=23)
    assert store.delete_reduced() == 23
    body = store.get(30).body
    for seq in range(40, 45):  # five spills past their retention: two pages of _find
        store.put(StoredSpill(seq, 7, seq, body, time.time() - 7200))
    assert store.delete_reduced(retention=3600) == 5
    assert [d.seq for d in store.read(0, 100)] == [30, 31]


def test_seq_outside_the_id_range_is_refused(store):
    with pytest.raises(DocumentStoreError, match="outside the CouchDB store's range"):
        store.put(stored(MAX_SEQ + 1))
    assert store.get(MAX_SEQ + 1) is None


def test_concurrent_puts_of_one_spill_from_two_stores_all_land(couchdb_server):
    url = database_url(couchdb_server)
    stores = [CouchDBDocumentStore(url), CouchDBDocumentStore(url)]
    puts = 15
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def redeliver(store, writer):
        start.wait()
        try:
            for attempt in range(puts):
                store.put(stored(1, writer=writer, attempt=attempt))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=redeliver, args=(store, writer))
               for writer, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert stores[0].count() == 1
        assert stores[1].get(1).decode()["attempt"] == puts - 1
        # Every put made one revision: none was lost to a conflict.
        assert raw(stores[0], "s:000000000001")["_rev"].startswith(f"{2 * puts}-")
    finally:
        for store in stores:
            store.close()


OPEN_AND_PUT = """
import sys
from maus_online.doc_store import StoredSpill
from maus_online.doc_store.couchdb import CouchDBDocumentStore
url, seq = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # all processes start together
with CouchDBDocumentStore(url) as store:
    store.put(StoredSpill.encode(seq, {"maus_event_type": "Spill", "run_number": 1,
                                       "spill_number": seq}))
print("stored", flush=True)
"""


def test_processes_that_create_the_database_at_once_all_succeed(couchdb_server):
    url = database_url(couchdb_server)
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AND_PUT, url, str(seq)],
                                  cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seq in (1, 2, 3)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], results
    with CouchDBDocumentStore(url) as store:
        assert [document.seq for document in store.read(0, 10)] == [1, 2, 3]
    indexes = requests.get(f"{url}/_index", timeout=10).json()["indexes"]
    assert [index["name"] for index in indexes].count("put-time") == 1


def test_credentials_come_from_the_environment_and_are_never_shown(couchdb_server,
                                                                   monkeypatch):
    monkeypatch.setenv("MAUS_COUCHDB_USER", "maus")
    monkeypatch.setenv("MAUS_COUCHDB_PASSWORD", "s3cret-from-env")
    # The server has no such user (admin party): it refuses the credentials it was sent.
    with pytest.raises(DocumentStoreError, match="401") as refused:
        CouchDBDocumentStore(database_url(couchdb_server))
    assert "s3cret" not in str(refused.value)
    with pytest.raises(DocumentStoreError, match="401") as refused:
        CouchDBDocumentStore(database_url(couchdb_server).replace(
            "http://", "http://maus:s3cret-in-url@"))
    assert "s3cret" not in str(refused.value)
    assert "maus:" not in str(refused.value)


def test_a_url_that_is_not_couchdb_is_refused():
    with pytest.raises(DocumentStoreError, match="http://host:5984/database"):
        CouchDBDocumentStore("couchdb://127.0.0.1:5984/maus")
    with pytest.raises(DocumentStoreError, match="http://host:5984/database"):
        CouchDBDocumentStore("http://127.0.0.1:5984/")
    with pytest.raises(DocumentStoreError, match="http://127.0.0.1:port/maus'.*form"):
        CouchDBDocumentStore("http://user:pw@127.0.0.1:port/maus")


def test_an_outage_is_an_error_naming_the_store_and_the_data_survive(couchdb_disk_server):
    server = couchdb_disk_server
    with CouchDBDocumentStore(f"{server.url}/maus") as store:
        for seq in (1, 2, 3):
            store.put(stored(seq))
        store.mark_reduced("histograms", cursor=2, reduced=1)
        server.pause()
        with pytest.raises(DocumentStoreError, match=f"{server.url}/maus.*(refused|Connection)"):
            store.read(0, 10)
        notes: list[str] = []
        # The retry's first back-off brings the server back: no time-based waiting.
        retrying = Retrying(30, notes.append, sleep=lambda seconds: server.resume())
        assert retrying.call("read spills", store.read, 0, 10)[2].seq == 3
        assert "document store unavailable" in notes[0]
        assert notes[-1].startswith("MAUS-111 document store back")
        assert store.consumers()["histograms"].cursor == 2
        store.put(stored(4))
        assert store.count() == 4


def test_a_frozen_server_times_out_instead_of_hanging(couchdb_disk_server):
    server = couchdb_disk_server
    with CouchDBDocumentStore(f"{server.url}/maus", timeout=1.0) as store:
        store.put(stored(1))
        server.freeze()
        began = time.monotonic()
        try:
            with pytest.raises(DocumentStoreError, match="timed out"):
                store.get(1)
            assert time.monotonic() - began < 5
        finally:
            server.thaw()
        assert store.get(1).seq == 1
