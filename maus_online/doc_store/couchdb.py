"""The CouchDB document store, over CouchDB's plain HTTP API (``requests``).

``CouchDBDocumentStore("http://127.0.0.1:5984/maus")``: the database is the URL's last path
segment, created when missing. Credentials come from the URL (``http://user:pw@host/maus``) or
from the environment (``MAUS_COUCHDB_USER``, ``MAUS_COUCHDB_PASSWORD``); messages name the
URL without its password. Works against CouchDB 2/3 and against ``pouchdb-server`` (the tests'
server), whose numbers differ in places (integer ``update_seq``); nothing here reads them.

Layout, one database:

* ``s:000000000123``: the spill with ``seq`` 123: a small JSON document (``seq``, run and spill
  numbers, ``put_time``) whose attachment ``body`` (``application/json``) holds the encoded
  spill byte for byte. ``_all_docs`` orders ids bytewise, so the zero-padded ids read back in
  ``seq`` order from a key range, without a view;
* ``c:NAME``: consumer NAME's state; ``p:stream``: the producer's stream state;
* ``_design/maus-put-time``: a Mango index on ``put_time``, for the retention deletion.

Every non-spill id sorts before ``s:``, so spill ranges never return them.

Why the body is an attachment (measured on pouchdb-server 4.2, LevelDB on disk, Node 20, a
2-core VM under other load: ms per 3.06 MB spill, every body distinct, best wall time of 3 runs
and the server's CPU time, steadier, as a range):

  layout: put; read                                  put: wall, server   read: wall, server
  body spliced in as JSON (the old layout); _all_docs     194  184-254         222   79-90
  body as one JSON string; _all_docs include_docs         100   89-98           66   46-55
  base64 inline attachment; _all_docs + GET attachment     87   85-100          19   19-21
    read instead by _all_docs attachments=true                                  68   40-59
    read instead by GET doc?attachments=true, multipart                         65   43-61
  multipart/related PUT (raw bytes)                       297  300-326        (as above)
  small document PUT, then PUT /db/docid/body?rev=        284  277-316        (as above)

So one PUT carries the document and its body in base64 (pouchdb-server writes multipart parts
to temporary files, and hashes raw attachments for the revision id as JSON arrays of numbers);
a read lists the small documents with ``_all_docs`` and fetches each body raw, byte for byte,
with ``GET /db/docid/body``. Requests say ``Accept-Encoding: identity``, or pouchdb-server
gzips each answer on the fly (a read then took 68 ms of its CPU, not 19); CouchDB keeps
``application/json`` attachments gzipped and inflates them. The index's updates stay cheap.
"""
from __future__ import annotations

import base64
import os
import threading
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import orjson
import requests

from ..errors import DocumentStoreError
from .base import ConsumerState, DocumentStore, StoredSpill, StreamState

#: Seconds to connect, and to wait for each read from the server: a frozen server surfaces as
#: an error the caller retries (retry.py), never a hang.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
SPILL_PREFIX = "s:"
SEQ_DIGITS = 12
MAX_SEQ = 10 ** SEQ_DIGITS - 1
CONSUMER_PREFIX = "c:"
STREAM_ID = "p:stream"
INDEX_DDOC = "maus-put-time"
BODY = "body"  # the attachment that holds a spill's body
#: Spills per _all_docs request when reading.
READ_PAGE = 10
#: Documents per _all_docs, _find or _bulk_docs request when deleting.
PAGE = 500
#: Attempts at replacing a document that other writers keep replacing first.
CONFLICT_ATTEMPTS = 20


def spill_id(seq: int) -> str:
    """The document id of ``seq``: ``s:`` and 12 digits, so bytewise order is ``seq`` order."""
    if not 0 <= seq <= MAX_SEQ:
        raise DocumentStoreError(f"seq {seq} is outside the CouchDB store's range 0..{MAX_SEQ}")
    return f"{SPILL_PREFIX}{seq:0{SEQ_DIGITS}d}"


def _key(value: str) -> str:
    """A JSON string as a URL query value (startkey, endkey, key)."""
    return orjson.dumps(value).decode()


class CouchDBDocumentStore(DocumentStore):
    """Consumes :class:`StoredSpill` documents and consumer/stream states; produces them back
    from one CouchDB database. ``timeout`` overrides the read timeout (seconds)."""

    kind = "couchdb"

    def __init__(self, url: str, *, timeout: float = READ_TIMEOUT) -> None:
        parts = urlsplit(url)
        path, _, name = parts.path.rstrip("/").rpartition("/")
        try:
            port = parts.port
        except ValueError:  # not a number
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or not name or port == -1:
            raise DocumentStoreError(f"doc_store_url {self._redacted(parts)!r} is not of the "
                                     "form http://host:5984/database")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
        netloc = host if port is None else f"{host}:{port}"
        self.server = urlunsplit((parts.scheme, netloc, path, "", ""))
        self.database = unquote(name)
        #: The database's URL, as messages show it (never with a password).
        self.url = f"{self.server}/{quote(self.database, safe='')}"
        user = unquote(parts.username) if parts.username else os.environ.get("MAUS_COUCHDB_USER")
        password = unquote(parts.password) if parts.password is not None \
            else os.environ.get("MAUS_COUCHDB_PASSWORD")
        self._auth = (user, password or "") if user else None
        self._timeout = (CONNECT_TIMEOUT, timeout)
        # requests.Session is not thread-safe: one per thread, all closed by close().
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._pid = os.getpid()
        self._revs: dict[str, str] = {}  # last known _rev of the state documents we write
        self._create_database()

    @staticmethod
    def _redacted(parts: Any) -> str:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    # --- HTTP --------------------------------------------------------------------------------

    @property
    def _session(self) -> requests.Session:
        if os.getpid() != self._pid:  # a forked child must not share the parent's sockets
            self._pid, self._local, self._sessions = os.getpid(), threading.local(), []
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()  # keep-alive between calls
            session.auth = self._auth
            session.headers["Accept"] = "application/json"
            session.headers["Accept-Encoding"] = "identity"  # see the module docstring
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201),
                 params: dict[str, Any] | None = None, body: bytes | None = None,
                 what: str = "") -> requests.Response:
        """One request to the database (``path`` after its URL); a DocumentStoreError for
        anything but the statuses in ``ok``."""
        url = self.url + path
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            response = self._session.request(method, url, params=params, data=body,
                                             headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DocumentStoreError(f"CouchDB document store {self.url}: cannot "
                                     f"{what or method + ' ' + path}: {exc}") from exc
        if response.status_code not in ok:
            raise self._error(response, what or f"{method} {path}")
        return response

    def _error(self, response: requests.Response, what: str) -> DocumentStoreError:
        try:
            answer = orjson.loads(response.content)
            detail = f"{answer.get('error', '?')}: {answer.get('reason', '')}"
        except (ValueError, AttributeError):
            detail = response.text[:200]
        return DocumentStoreError(f"CouchDB document store {self.url}: cannot {what}: "
                                  f"HTTP {response.status_code} {response.reason}, {detail}")

    def _json(self, response: requests.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except ValueError as exc:
            raise DocumentStoreError(f"CouchDB document store {self.url}: the server's answer "
                                     f"is not JSON: {exc}") from exc

    def _all_docs(self, start: str, end: str, *, include_docs: bool = False,
                  limit: int | None = None, descending: bool = False) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"startkey": _key(start), "endkey": _key(end)}
        if include_docs:
            params["include_docs"] = "true"
        if limit is not None:
            params["limit"] = str(limit)
        if descending:
            params["descending"] = "true"
        return self._json(self._request("GET", "/_all_docs", params=params,
                                        what="read documents"))["rows"]

    def _current_rev(self, doc_id: str) -> str | None:
        """The document's current ``_rev``, None when it does not exist: from ``_all_docs``,
        which sends ids and revs without the document."""
        rows = self._json(self._request("GET", "/_all_docs", params={"key": _key(doc_id)},
                                        what=f"read the revision of {doc_id}"))["rows"]
        for row in rows:
            if row.get("id") == doc_id and not row.get("value", {}).get("deleted"):
                return row["value"]["rev"]
        return None

    def _create_database(self) -> None:
        # 412: another process created it between our look and our PUT; that is fine.
        if self._request("HEAD", "", ok=(200, 404), what="look up the database"
                         ).status_code == 404:
            self._request("PUT", "", ok=(201, 202, 412), what="create the database")
        # Idempotent ("exists" when there); 409: another process is creating it right now.
        self._request("POST", "/_index", ok=(200, 201, 409), what="create the put_time index",
                      body=orjson.dumps({"index": {"fields": ["put_time"]}, "type": "json",
                                         "ddoc": INDEX_DDOC, "name": "put-time"}))

    def _replace(self, doc_id: str, body: bytes, what: str) -> str:
        """PUT ``body`` as document ``doc_id``, replacing whatever revision is current;
        return the new ``_rev``.

        CouchDB refuses (409) a write that does not name the current ``_rev``; the revision
        we last wrote is tried first, and on a conflict the current one is read and the write
        tried again, until it lands (another writer may win the race in between).
        """
        path = "/" + quote(doc_id, safe="")
        rev = self._revs.get(doc_id)
        for _ in range(CONFLICT_ATTEMPTS):
            params = {"rev": rev} if rev else None
            response = self._request("PUT", path, ok=(201, 202, 409), params=params,
                                     body=body, what=what)
            if response.status_code != 409:
                new_rev = self._json(response)["rev"]
                if not doc_id.startswith(SPILL_PREFIX):
                    self._revs[doc_id] = new_rev
                return new_rev
            rev = self._current_rev(doc_id)
        raise DocumentStoreError(f"CouchDB document store {self.url}: cannot {what}: still "
                                 f"in conflict after {CONFLICT_ATTEMPTS} attempts")

    def _delete_rows(self, rows: list[dict[str, str]]) -> int:
        """Delete documents given as ``{"_id", "_rev"}``; return how many went. A conflict
        means another writer replaced the document meanwhile: it stays."""
        if not rows:
            return 0
        body = orjson.dumps({"docs": [{"_id": row["_id"], "_rev": row["_rev"],
                                       "_deleted": True} for row in rows]})
        results = self._json(self._request("POST", "/_bulk_docs", body=body,
                                           what="delete spills"))
        failed = [result for result in results if "error" in result
                  and result["error"] != "conflict"]
        if failed:
            raise DocumentStoreError(f"CouchDB document store {self.url}: cannot delete "
                                     f"{failed[0].get('id')}: {failed[0].get('error')}: "
                                     f"{failed[0].get('reason', '')}")
        return sum(1 for result in results if result.get("ok"))

    # --- Spills ----------------------------------------------------------------------------

    def put(self, spill: StoredSpill) -> None:
        doc_id = spill_id(spill.seq)
        head = orjson.dumps({"_id": doc_id, "seq": spill.seq, "run_number": spill.run_number,
                             "spill_number": spill.spill_number, "put_time": spill.put_time})
        # The body goes in as an inline attachment: any bytes, kept byte for byte (a broken
        # document must still reach the consumer, which reports it), and base64 is JSON-safe
        # as it is, so the 4 MB string is spliced in without being encoded again.
        self._replace(doc_id, head[:-1] + b',"_attachments":{"' + BODY.encode() + b'":'
                      b'{"content_type":"application/json","data":"'
                      + base64.b64encode(spill.body) + b'"}}}', f"store {spill.label}")

    def get(self, seq: int) -> StoredSpill | None:
        if not 0 <= seq <= MAX_SEQ:
            return None
        spills = self._spills(self._all_docs(spill_id(seq), spill_id(seq), include_docs=True))
        return spills[0] if spills else None

    def read(self, after: int, through: int, limit: int = 100) -> list[StoredSpill]:
        first, last = max(after + 1, 0), min(through, MAX_SEQ)
        if limit <= 0 or last < first:
            return []
        spills: list[StoredSpill] = []
        while len(spills) < limit and first <= last:
            page = min(READ_PAGE, limit - len(spills))
            rows = self._all_docs(spill_id(first), spill_id(last), include_docs=True,
                                  limit=page)
            spills.extend(self._spills(rows))
            if len(rows) < page:
                break
            first = int(rows[-1]["id"][len(SPILL_PREFIX):]) + 1
        return spills

    def _spills(self, rows: list[dict[str, Any]]) -> list[StoredSpill]:
        """The spills of ``_all_docs`` rows (with their documents), bodies fetched; a spill
        deleted since it was listed is left out, as if the listing had come after."""
        spills = []
        for row in rows:
            doc = row["doc"]
            if BODY in doc.get("_attachments", {}):
                body = self._body(doc["_id"])
                if body is None:
                    continue
            elif "body_b64" in doc:  # the layout before attachments
                body = base64.b64decode(doc["body_b64"])
            else:  # also before: the body as JSON (equal as JSON, maybe not byte for byte)
                body = orjson.dumps(doc["body"]) if "body" in doc else b""
            spills.append(StoredSpill(int(doc["_id"][len(SPILL_PREFIX):]),
                                      doc.get("run_number"), doc.get("spill_number"), body,
                                      float(doc.get("put_time", 0.0))))
        return spills

    def _body(self, doc_id: str) -> bytes | None:
        """The raw bytes of the spill's body attachment; None when the spill is gone."""
        response = self._request("GET", f"/{quote(doc_id, safe='')}/{BODY}", ok=(200, 404),
                                 what=f"read the body of {doc_id}")
        if response.status_code == 404:
            reason = str(self._json(response).get("reason", ""))
            if "database" in reason.lower():  # the database is gone, not the spill
                raise self._error(response, f"read the body of {doc_id}")
            return None
        return response.content

    def count(self) -> int:
        # doc_count counts every live document; the few that are not spills (consumers, the
        # stream, the index's design document) all sort before "s:" and are subtracted.
        total = self._json(self._request("GET", "", what="count spills"))["doc_count"]
        others = self._json(self._request("GET", "/_all_docs", params={
            "endkey": _key(SPILL_PREFIX)}, what="count spills"))["rows"]
        return int(total) - len(others)

    def last_seq(self) -> int:
        rows = self._all_docs(spill_id(MAX_SEQ), spill_id(0), limit=1, descending=True)
        return int(rows[0]["id"][len(SPILL_PREFIX):]) if rows else 0

    def _delete_through(self, seq: int) -> int:
        if seq < 0:
            return 0
        deleted = 0
        while True:  # page from the start: each page deleted, the next comes first
            rows = self._all_docs(spill_id(0), spill_id(min(seq, MAX_SEQ)), limit=PAGE)
            went = self._delete_rows([{"_id": row["id"], "_rev": row["value"]["rev"]}
                                      for row in rows])
            deleted += went
            if len(rows) < PAGE or went == 0:
                return deleted

    def _delete_put_before(self, put_time: float) -> int:
        # A Mango query on the put_time index. Its cost is the index's update, paid here and
        # not at put time: the server reads every spill document stored since the last query
        # (small: the bodies are attachments, which the index never reads). The selector
        # also pins the id range (pouchdb-server matches a missing put_time, and
        # consumer documents have none) and the ids are checked again below.
        query = {"selector": {"_id": {"$gt": SPILL_PREFIX, "$lt": spill_id(MAX_SEQ) + "~"},
                              "put_time": {"$gte": 0, "$lt": put_time}},
                 "fields": ["_id", "_rev"], "limit": PAGE, "use_index": INDEX_DDOC}
        deleted = 0
        while True:
            found = self._json(self._request("POST", "/_find", body=orjson.dumps(query),
                                             what="find spills past their retention"))
            rows = [doc for doc in found["docs"] if doc["_id"].startswith(SPILL_PREFIX)]
            went = self._delete_rows(rows)
            deleted += went
            if len(found["docs"]) < PAGE or went == 0:
                return deleted

    # --- Consumers and the stream ------------------------------------------------------------

    def consumers(self) -> dict[str, ConsumerState]:
        rows = self._all_docs(CONSUMER_PREFIX, CONSUMER_PREFIX[:-1] + ";", include_docs=True)
        states = {}
        for row in rows:
            doc = row["doc"]
            self._revs[doc["_id"]] = doc["_rev"]
            states[doc["name"]] = ConsumerState(doc["name"], int(doc["cursor"]),
                                                int(doc["reduced"]))
        return states

    def save_consumer(self, state: ConsumerState) -> None:
        doc_id = CONSUMER_PREFIX + state.name
        self._replace(doc_id, orjson.dumps({"_id": doc_id, "name": state.name,
                                            "cursor": state.cursor, "reduced": state.reduced}),
                      f"save consumer {state.name!r}")

    def forget_consumer(self, name: str) -> None:
        doc_id = CONSUMER_PREFIX + name
        for _ in range(CONFLICT_ATTEMPTS):
            rev = self._current_rev(doc_id)
            if rev is None:
                break
            response = self._request("DELETE", "/" + quote(doc_id, safe=""),
                                     ok=(200, 202, 404, 409), params={"rev": rev},
                                     what=f"forget consumer {name!r}")
            if response.status_code != 409:
                break
        self._revs.pop(doc_id, None)

    def stream(self) -> StreamState:
        response = self._request("GET", "/" + quote(STREAM_ID, safe=""), ok=(200, 404),
                                 what="read the stream state")
        if response.status_code == 404:
            return StreamState()
        doc = self._json(response)
        self._revs[STREAM_ID] = doc["_rev"]
        return StreamState.from_dict(doc)

    def save_stream(self, state: StreamState) -> None:
        self._replace(STREAM_ID, orjson.dumps({"_id": STREAM_ID, **state.as_dict()}),
                      "publish the stream state")

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
