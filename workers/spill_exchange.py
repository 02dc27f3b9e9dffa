"""The claim check: spill bodies travel through Redis, only their keys through Celery.

DESIGN §5: moving a 3 MB spill costs more than transforming it, and Celery's Redis result
back end keeps what it fetched and cuts its listener off when MBs are in flight. So go.py
and the workers put spill bodies here, as orjson bytes, under keys derived from the task,
and Celery carries only keys and statuses. Keys expire, so a crashed go.py leaves nothing
behind for long; writes under one key replace, so a redelivered task is written once.
"""
from __future__ import annotations

import redis

from maus_online.catalogue import say
from maus_online.errors import ExecutorError


class SpillExchange:
    """``put``/``get``/``delete`` of encoded spills in one Redis database."""

    def __init__(self, url: str, ttl: int) -> None:
        self.url = url
        self.ttl = ttl
        self._client = redis.Redis.from_url(url)

    def put(self, key: str, body: bytes) -> str:
        self._call("store a spill in", self._client.set, key, body, ex=self.ttl)
        return key

    def get(self, key: str) -> bytes:
        body = self._call("read a spill from", self._client.get, key)
        if body is None:
            raise ExecutorError(say("MAUS-107", key=key, url=self.url, ttl=self.ttl))
        return body

    def delete(self, *keys: str) -> None:
        if keys:
            self._call("delete spills from", self._client.delete, *keys)

    def close(self) -> None:
        self._client.close()

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except redis.RedisError as exc:
            raise ExecutorError(say("MAUS-106", what=what, url=self.url, reason=exc)) from exc


def input_key(ticket: str) -> str:
    return f"maus:spill:{ticket}:in"


def output_key(ticket: str) -> str:
    return f"maus:spill:{ticket}:out"
