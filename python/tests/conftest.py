from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis; every key under it is deleted afterwards."""
    value = f"admitone-py-test:{uuid.uuid4().hex[:12]}:"
    yield value
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    keys = [key async for key in client.scan_iter(match=f"{value}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()
