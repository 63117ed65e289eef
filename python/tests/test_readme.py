"""The ten-line agent of python/README.md runs on the bus and emits its five events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from admitone import Worker
from test_worker import REDIS_URL, finished, new_request, running, stream_events, submit, until

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_agent() -> tuple[str, Any]:
    source = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    lines = source.strip().splitlines()
    assert lines[-1] == "serve(shout)"
    assert len([line for line in lines if line.strip()]) <= 10
    namespace: dict[str, Any] = {}
    exec("\n".join(lines[:-1]), namespace)  # noqa: S102 - our own README
    return source, namespace["shout"]


async def test_the_readme_agent_emits_five_events(redis: aioredis.Redis, prefix: str) -> None:
    _, shout = readme_agent()
    request = new_request("hello there")
    await submit(redis, prefix, request)
    async with running(Worker(shout, redis_url=REDIS_URL, prefix=prefix, block_ms=100)):
        await until(finished(redis, prefix, request["run_id"]), "the run to finish")
    events = await stream_events(redis, prefix, request["run_id"])
    assert [e["type"] for e in events] == [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ]
    assert events[-1]["result"] == "HELLO THERE"
