"""The document store between input-transform and merge-output (DESIGN §6).

``open_doc_store(config)`` returns the back end named by ``doc_store_class`` — ``memory``,
``sqlite``, ``mongodb``, ``couchdb`` or an import path ``package.module:Class`` — connected
to ``doc_store_url``::

    store = open_doc_store({"doc_store_class": "sqlite",
                            "doc_store_url": "sqlite:///maus_doc_store.sqlite"})

Back ends are imported only when chosen, so pymongo is needed only by those who use MongoDB.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .base import (ConsumerState, DocumentStore, SpillLabel, StoredSpill, StreamContents,
                   StreamPosition, StreamState)
from .retry import Retrying

#: Back ends by configuration name: ``module:Class`` inside this package.
BACK_ENDS: dict[str, str] = {
    "memory": "maus_online.doc_store.memory:MemoryDocumentStore",
    "sqlite": "maus_online.doc_store.sqlite:SQLiteDocumentStore",
    "mongodb": "maus_online.doc_store.mongodb:MongoDBDocumentStore",
    "couchdb": "maus_online.doc_store.couchdb:CouchDBDocumentStore",
}


def store_class(name: str, allow_import_path: bool = True) -> type[DocumentStore]:
    """The back-end class for a ``doc_store_class`` value.

    Workers pass ``allow_import_path=False``: the name reaches them over the network, and
    nothing that arrives from the network is imported unless it is a known back end.
    """
    path = BACK_ENDS.get(name)
    if path is None and allow_import_path and ":" in name:
        path = name
    if path is None:
        raise ConfigurationError(f"doc_store_class {name!r} is not one of "
                                 f"{', '.join(BACK_ENDS)}" +
                                 (" nor a package.module:Class path" if allow_import_path else ""))
    module_name, _, attribute = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load doc_store_class {name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, DocumentStore)):
        raise ConfigurationError(f"doc_store_class {name!r} is not a DocumentStore class")
    return cls


def absolute_store_url(config: Mapping[str, Any]) -> str:
    """``doc_store_url`` with a relative SQLite path made absolute, so that workers started
    in another directory open the same file."""
    url = config["doc_store_url"]
    if config["doc_store_class"] == "sqlite" and url.startswith("sqlite:///") \
            and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(url[len("sqlite:///"):]).resolve())
    return url


def open_doc_store(config: Mapping[str, Any], allow_import_path: bool = True) -> DocumentStore:
    """Connect to the configured document store."""
    cls = store_class(config["doc_store_class"], allow_import_path)
    return cls(absolute_store_url(config))


__all__ = ["BACK_ENDS", "ConsumerState", "DocumentStore", "Retrying", "SpillLabel",
           "StoredSpill", "StreamContents", "StreamPosition", "StreamState",
           "absolute_store_url", "open_doc_store", "store_class"]
