"""The answer cache: Redis when REDIS_URL is set, else a small in-process LRU."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as aioredis

from app.config import Settings, Tuning


class AnswerCache(Protocol):
    backend: str

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    """Per-process cache for a laptop: bounded, with expiry. Not shared between tasks."""

    backend = "memory"

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    """ElastiCache in AWS: REDIS_URL (rediss://, no credentials) plus REDIS_AUTH_TOKEN."""

    backend = "redis"

    def __init__(self, url: str, password: str | None, timeout_seconds: float) -> None:
        self._client = aioredis.Redis.from_url(
            url,
            password=password,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            health_check_interval=30,
            decode_responses=True,
        )

    async def get(self, key: str) -> str | None:
        value = await self._client.get(key)
        return value if isinstance(value, str) else None

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._client.set(key, value, ex=ttl_seconds)

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()


def create_cache(settings: Settings, tuning: Tuning) -> AnswerCache:
    if settings.redis_url is None:
        return MemoryCache()
    token = settings.redis_auth_token
    return RedisCache(
        settings.redis_url,
        token.get_secret_value() if token is not None else None,
        tuning.redis_timeout_seconds,
    )
