"""The worker against the real Redis at 127.0.0.1:6379, each test under a key prefix of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

import redis.asyncio as aioredis

from admitone import AgentRequest, Emitter, Worker, contract
from admitone.examples.calculator import make_calculator_agent

REDIS_URL = "redis://127.0.0.1:6379"

TYPES = ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]


def new_request(content: str = "What is 6 * 7?", user_id: str = "u1") -> AgentRequest:
    return {
        "run_id": uuid.uuid4().hex,
        "thread_id": "t1",
        "user_id": user_id,
        "session_id": "s1",
        "content": content,
        "request_id": "req-1",
        "requested_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


async def submit(redis: aioredis.Redis, prefix: str, request: AgentRequest) -> str:
    """Queues a request as the gateway does, through the shared admission script."""
    def k(name: str, **params: str) -> str:
        return prefix + contract.key(name, **params)

    outcome = await redis.eval(
        contract.lua("admit-agent-request"),
        4,
        k("user_runs", user_id=request["user_id"]),
        k("thread_runs", user_id=request["user_id"], thread_id=request["thread_id"]),
        k("run", run_id=request["run_id"]),
        prefix + contract.REQUESTS,
        prefix + contract.key("run", run_id=""),
        3600,
        4,
        100,
        request["run_id"],
        request["user_id"],
        request["session_id"],
        request["thread_id"],
        request["requested_at"],
        json.dumps(request),
    )
    return str(outcome)


async def stream_events(redis: aioredis.Redis, prefix: str, run_id: str) -> list[dict[str, Any]]:
    entries: Any = await redis.xrange(prefix + contract.key("run_events", run_id=run_id))
    return [json.loads(fields["event"]) for _, fields in entries]


async def until(predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()


def finished(redis: aioredis.Redis, prefix: str, run_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        status = await redis.hget(prefix + contract.key("run", run_id=run_id), "status")
        return status in ("completed", "failed")

    return check


async def test_runs_a_request_emits_five_events_once_publishes_them_and_acks(
    redis: aioredis.Redis, prefix: str
) -> None:
    request = new_request()
    pubsub = redis.pubsub()
    await pubsub.subscribe(prefix + contract.key("user_events", user_id="u1"))
    assert await submit(redis, prefix, request) == "accepted"
    worker = Worker(make_calculator_agent(0), redis_url=REDIS_URL, prefix=prefix, name="w1", block_ms=100)
    async with running(worker):
        await until(finished(redis, prefix, request["run_id"]), "the run to finish")
    events = await stream_events(redis, prefix, request["run_id"])
    assert [e["type"] for e in events] == TYPES
    assert [e["event_id"] for e in events] == [1, 2, 3, 4, 5]
    assert all(contract.is_valid("agent-event", e) for e in events)
    assert events[3]["output"] == {"value": 42}
    assert events[4]["result"] == "6 * 7 = 42"
    published: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(published) < 5 and asyncio.get_running_loop().time() < deadline:
        # None also stands for the (ignored) subscribe confirmation.
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message is not None:
            published.append(json.loads(message["data"]))
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert [p["user_id"] for p in published] == ["u1"] * 5
    assert [p["event"] for p in published] == events
    # Acked and deleted: no backlog, nothing pending.
    assert await redis.xlen(prefix + contract.REQUESTS) == 0
    assert (await redis.xpending(prefix + contract.REQUESTS, contract.WORKERS_GROUP))["pending"] == 0


async def test_a_second_emitter_of_the_same_run_emits_nothing_twice(redis: aioredis.Redis, prefix: str) -> None:
    request = new_request()
    await submit(redis, prefix, request)
    first = Emitter(redis, prefix, request, 60)
    await first.started()
    await first.thinking("a")
    again = Emitter(redis, prefix, request, 60)
    await again.started()
    await again.thinking("a")
    await again.completed("done")
    await first.failed("too late")  # the run has ended: nothing after its terminal event
    events = await stream_events(redis, prefix, request["run_id"])
    assert [(e["event_id"], e["type"]) for e in events] == [
        (1, "agent_started"),
        (2, "agent_thinking"),
        (3, "agent_completed"),
    ]


async def test_a_terminal_event_skipped_by_a_shorter_rerun_goes_out_at_the_next_id(
    redis: aioredis.Redis, prefix: str
) -> None:
    request = new_request()
    await submit(redis, prefix, request)
    first = Emitter(redis, prefix, request, 60)
    for _ in range(3):
        await first.thinking("x")
    rerun = Emitter(redis, prefix, request, 60)
    await rerun.thinking("x")
    await rerun.failed("cancelled")
    events = await stream_events(redis, prefix, request["run_id"])
    assert [(e["event_id"], e["type"]) for e in events][-1] == (4, "agent_failed")
    assert len(events) == 4


async def test_cancel_ends_the_run_with_agent_failed_cancelled(redis: aioredis.Redis, prefix: str) -> None:
    request = new_request()
    await submit(redis, prefix, request)
    await redis.set(prefix + contract.key("run_cancel", run_id=request["run_id"]), "1", ex=60)
    async with running(Worker(make_calculator_agent(0), redis_url=REDIS_URL, prefix=prefix, block_ms=100)):
        await until(finished(redis, prefix, request["run_id"]), "the run to finish")
    events = await stream_events(redis, prefix, request["run_id"])
    assert [e["type"] for e in events] == ["agent_started", "agent_failed"]
    assert events[-1]["error"] == "cancelled"


async def test_claims_a_request_abandoned_by_a_dead_worker(redis: aioredis.Redis, prefix: str) -> None:
    request = new_request()
    stream = prefix + contract.REQUESTS
    await redis.xgroup_create(stream, contract.WORKERS_GROUP, id="0", mkstream=True)
    await submit(redis, prefix, request)
    # A worker that read the request and died: it stays pending under its name.
    taken: Any = await redis.xreadgroup(contract.WORKERS_GROUP, "dead", {stream: ">"}, count=1)
    assert len(taken[0][1]) == 1
    worker = Worker(make_calculator_agent(0), redis_url=REDIS_URL, prefix=prefix, claim_idle_ms=300, block_ms=100)
    async with running(worker):
        await until(finished(redis, prefix, request["run_id"]), "the abandoned run to finish")
        await until(lambda: _pending(redis, stream, 0), "the claimed entry to be acked")
    assert [e["type"] for e in await stream_events(redis, prefix, request["run_id"])] == TYPES


async def _pending(redis: aioredis.Redis, stream: str, count: int) -> bool:
    return int((await redis.xpending(stream, contract.WORKERS_GROUP))["pending"]) == count


async def test_drops_malformed_requests_without_running_them_and_serves_the_next_one(
    redis: aioredis.Redis, prefix: str
) -> None:
    stream = prefix + contract.REQUESTS
    await redis.xgroup_create(stream, contract.WORKERS_GROUP, id="0", mkstream=True)
    await redis.xadd(stream, {"request": "{not json"})
    await redis.xadd(stream, {"request": json.dumps({"run_id": "r-only"})})
    await redis.xadd(stream, {"something": "else"})
    request = new_request("How long is this sentence?")
    await submit(redis, prefix, request)
    worker = Worker(make_calculator_agent(0), redis_url=REDIS_URL, prefix=prefix, claim_idle_ms=200, block_ms=100)
    async with running(worker):
        await until(finished(redis, prefix, request["run_id"]), "the valid run to finish")
        await until(lambda: _pending(redis, stream, 0), "every entry to be acked")
    assert await redis.xlen(stream) == 0
    assert not await redis.exists(prefix + contract.key("run_events", run_id="r-only"))
    events = await stream_events(redis, prefix, request["run_id"])
    assert [e["type"] for e in events] == TYPES
    assert events[3]["output"] == {"characters": 26, "words": 5}


async def test_an_agent_that_returns_without_a_result_gets_agent_failed(redis: aioredis.Redis, prefix: str) -> None:
    async def lazy(request: AgentRequest, emit: Emitter) -> None:
        await emit.started()

    request = new_request()
    await submit(redis, prefix, request)
    async with running(Worker(lazy, redis_url=REDIS_URL, prefix=prefix, block_ms=100)):
        await until(finished(redis, prefix, request["run_id"]), "the run to finish")
    events = await stream_events(redis, prefix, request["run_id"])
    assert [e["type"] for e in events] == ["agent_started", "agent_failed"]
