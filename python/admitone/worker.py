"""The agent side of the bus: a worker that runs an async agent function per request.

It follows the contract of libs/agent-events (BUS_KEYS) exactly as the
TypeScript worker (libs/agent-runtime RedisRequestConsumer and
redisRunContext) does:

- requests are read from ``agent:requests`` with XREADGROUP in the group
  ``agent-workers``; while a request is in hand its idle time is reset every
  ``claim_idle_ms / 3`` (XCLAIM JUSTID), so only the request of a dead worker
  goes idle long enough to be taken over with XAUTOCLAIM by a live one;
- every event goes out through the shared idempotent Lua script
  (emit-agent-event.lua): a worker that re-runs an abandoned request emits
  only the events not yet emitted, each exactly once;
- ``cancel`` is the key ``run:<run_id>:cancel``;
- an entry is XACKed and XDELed once handled. A malformed entry (not JSON, or
  not an AgentRequest) is never run: it is logged ("dropping a malformed agent
  request") and XACKed and XDELed like the TypeScript worker does, because it
  can never become valid and the stream's length is the admission backlog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, cast

import redis.asyncio as aioredis

from . import contract
from .types import AgentRequest, JsonValue

log = logging.getLogger("admitone.worker")

AgentFunction = Callable[[AgentRequest, "Emitter"], Awaitable[None]]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Emitter:
    """Emits the events of one run, in call order, with event_id 1, 2, 3...

    The worker adds run_id, thread_id, event_id and ts. Never build events for
    another run or user, and never pick event ids yourself.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, request: AgentRequest, retention_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._request = request
        self._retention = retention_seconds
        self._next_id = 0
        self._script = redis.register_script(contract.lua("emit-agent-event"))
        self.ended = False

    async def started(self) -> None:
        await self.emit({"type": "agent_started"})

    async def thinking(self, text: str) -> None:
        await self.emit({"type": "agent_thinking", "text": text})

    async def tool_executing(self, tool: str, call_id: str, input: JsonValue) -> None:
        await self.emit({"type": "tool_executing", "tool": tool, "call_id": call_id, "input": input})

    async def tool_completed(
        self, tool: str, call_id: str, *, output: JsonValue = None, error: str | None = None
    ) -> None:
        step: dict[str, Any] = {"type": "tool_completed", "tool": tool, "call_id": call_id}
        if error is not None:
            step["error"] = error
        else:
            step["output"] = output
        await self.emit(step)

    async def completed(self, result: str) -> None:
        await self.emit({"type": "agent_completed", "result": result})

    async def failed(self, error: str) -> None:
        await self.emit({"type": "agent_failed", "error": error})

    async def is_cancelled(self) -> bool:
        """True once the user sent ``cancel``: end the run with ``failed("cancelled")``."""
        key = self._prefix + contract.key("run_cancel", run_id=self._request["run_id"])
        return int(await self._redis.exists(key)) == 1

    async def emit(self, step: dict[str, Any]) -> None:
        """Emits one event (a dict with ``type`` and the type's fields)."""
        kind = step["type"]
        terminal = kind in contract.TERMINAL_EVENT_TYPES
        status = ("completed" if kind == "agent_completed" else "failed") if terminal else "running"
        request = self._request
        self._next_id += 1
        # 1: emitted; 0: the run has ended; -n: skipped, n is the run's last event_id.
        for _ in range(5):
            event = {
                **step,
                "run_id": request["run_id"],
                "thread_id": request["thread_id"],
                "event_id": self._next_id,
                "ts": _now(),
            }
            if not contract.is_valid("agent-event", event):
                raise ValueError(f"not a valid {kind} event: {sorted(step)}")
            bus_event = {"user_id": request["user_id"], "event": event}
            outcome = int(
                await self._script(
                    keys=[
                        self._prefix + contract.key("run", run_id=request["run_id"]),
                        self._prefix + contract.key("run_events", run_id=request["run_id"]),
                    ],
                    args=[
                        self._next_id,
                        json.dumps(event, separators=(",", ":")),
                        self._prefix + contract.key("user_events", user_id=request["user_id"]),
                        json.dumps(bus_event, separators=(",", ":")),
                        self._retention,
                        status,
                    ],
                )
            )
            if terminal and outcome >= 0:
                self.ended = True
            if outcome >= 0 or not terminal:
                return
            # A terminal event skipped although the run has not ended: emit it at the next free id.
            self._next_id = -outcome + 1


class Worker:
    """Runs ``agent`` for each request of the bus; see the module docstring for the contract."""

    def __init__(
        self,
        agent: AgentFunction,
        *,
        redis_url: str,
        prefix: str = "",
        name: str | None = None,
        concurrency: int = 4,
        claim_idle_ms: int = 30_000,
        block_ms: int = 1000,
        retention_seconds: int = contract.DEFAULT_RUN_RETENTION_SECONDS,
    ) -> None:
        self.agent = agent
        self.prefix = prefix
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.concurrency = concurrency
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self.retention_seconds = retention_seconds
        self.stream = prefix + contract.REQUESTS
        self.redis: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
        # Blocking reads get connections of their own.
        self._reader: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
        self._in_flight: set[str] = set()
        self._claim_cursor = "0-0"
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, contract.WORKERS_GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def run(self) -> None:
        """Serves until cancelled or ``stop()``."""
        await self._ensure_group()
        self._running = True
        loops = [asyncio.create_task(self._read_loop()) for _ in range(self.concurrency)]
        loops.append(asyncio.create_task(self._every(max(0.2, self.claim_idle_ms / 2000), self._claim_abandoned)))
        loops.append(asyncio.create_task(self._every(max(0.1, self.claim_idle_ms / 3000), self._heartbeat)))
        try:
            await asyncio.gather(*loops)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    def stop(self) -> None:
        self._running = False

    async def close(self) -> None:
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        await self.redis.aclose()
        await self._reader.aclose()

    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while self._running:
            await asyncio.sleep(seconds)
            try:
                await action()
            except Exception as error:  # noqa: BLE001 - a timer must survive a Redis hiccup
                log.warning("bus housekeeping failed", extra={"err": str(error)})

    async def _read_loop(self) -> None:
        while self._running:
            try:
                reply: Any = await self._reader.xreadgroup(
                    contract.WORKERS_GROUP,
                    self.name,
                    {self.stream: ">"},
                    count=1,
                    block=self.block_ms,
                )
                for _, entries in reply or []:
                    for entry_id, fields in entries:
                        await self._process(entry_id, fields)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                if not self._running:
                    return
                if "NOGROUP" in str(error):
                    await self._ensure_group()
                else:
                    log.warning("reading requests failed; retrying", extra={"err": str(error)})
                await asyncio.sleep(0.5)

    async def _claim_abandoned(self) -> None:
        if len(self._in_flight) >= self.concurrency:
            return
        reply: Any = await self.redis.xautoclaim(
            self.stream,
            contract.WORKERS_GROUP,
            self.name,
            self.claim_idle_ms,
            start_id=self._claim_cursor,
            count=1,
        )
        # The cursor moves on through the pending entries, so a long run in hand never hides those behind it.
        self._claim_cursor = str(reply[0])
        for entry_id, fields in reply[1]:
            if not fields:
                continue
            log.warning("claimed a request abandoned by another worker", extra={"entry_id": entry_id})
            task = asyncio.create_task(self._process(entry_id, fields))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _heartbeat(self) -> None:
        if self._in_flight:
            await self.redis.xclaim(
                self.stream, contract.WORKERS_GROUP, self.name, 0, list(self._in_flight), justid=True
            )

    async def _ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, contract.WORKERS_GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    def _parse(self, fields: dict[str, str]) -> AgentRequest | None:
        try:
            value = json.loads(fields.get("request", ""))
        except ValueError:
            return None
        return cast(AgentRequest, value) if contract.is_valid("agent-request", value) else None

    async def _process(self, entry_id: str, fields: dict[str, str]) -> None:
        if entry_id in self._in_flight:
            return
        request = self._parse(fields)
        if request is None:
            log.error("dropping a malformed agent request", extra={"entry_id": entry_id})
            await self._ack(entry_id)
            return
        self._in_flight.add(entry_id)
        try:
            emitter = Emitter(self.redis, self.prefix, request, self.retention_seconds)
            log.info("run started", extra={"run_id": request["run_id"], "user_id": request["user_id"]})
            await self.agent(request, emitter)
            if not emitter.ended:
                await emitter.failed("the agent ended without a result")
            await self._ack(entry_id)
            log.info("run finished", extra={"run_id": request["run_id"]})
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            # Left pending: another worker (or this one) claims it after claim_idle_ms.
            log.error(
                "agent run failed; leaving it to be claimed again",
                extra={"run_id": request["run_id"], "err": str(error)},
            )
        finally:
            self._in_flight.discard(entry_id)


def agent(
    *, redis_url: str | None = None, prefix: str | None = None, **options: Any
) -> Callable[[AgentFunction], AgentFunction]:
    """Decorator: ``@agent()`` on ``async def my_agent(request, emit)`` registers it; ``serve()`` runs it."""

    def register(fn: AgentFunction) -> AgentFunction:
        _registered.append((fn, redis_url, prefix, options))
        return fn

    return register


_registered: list[tuple[AgentFunction, str | None, str | None, dict[str, Any]]] = []


def worker_from_env(fn: AgentFunction, **options: Any) -> Worker:
    """A Worker configured like the TypeScript agent-worker: REDIS_URL, REDIS_PREFIX, WORKER_NAME,
    WORKER_CONCURRENCY, CLAIM_IDLE_MS, RUN_RETENTION_SECONDS."""
    env = os.environ
    redis_url = options.pop("redis_url", None) or env.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("REDIS_URL is required: a redis:// or rediss:// URL")
    settings: dict[str, Any] = {
        "prefix": env.get("REDIS_PREFIX", ""),
        "name": env.get("WORKER_NAME") or None,
        "concurrency": int(env.get("WORKER_CONCURRENCY", "4")),
        "claim_idle_ms": int(env.get("CLAIM_IDLE_MS", "30000")),
        "retention_seconds": int(env.get("RUN_RETENTION_SECONDS", str(contract.DEFAULT_RUN_RETENTION_SECONDS))),
    }
    settings.update({k: v for k, v in options.items() if v is not None})
    return Worker(fn, redis_url=redis_url, **settings)


def serve(fn: AgentFunction | None = None, **options: Any) -> None:
    """Runs an agent (or the one registered with ``@agent``) until SIGINT/SIGTERM, configured from the environment."""
    if fn is None:
        if not _registered:
            raise SystemExit("no agent: pass one to serve() or decorate it with @agent()")
        fn, redis_url, prefix, extra = _registered[-1]
        options = {"redis_url": redis_url, "prefix": prefix, **extra, **options}
    _setup_logging()
    asyncio.run(_serve(worker_from_env(fn, **options)))


async def _serve(worker: Worker) -> None:
    import signal

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: main.cancel() if main else None)
    server = await _health_server(worker)
    log.info("agent worker started", extra={"worker": worker.name, "stream": worker.stream})
    try:
        await worker.run()
    except asyncio.CancelledError:
        log.info("agent worker stopping")
    finally:
        if server is not None:
            server.close()
        await worker.close()


async def _health_server(worker: Worker) -> asyncio.Server | None:
    """With PORT set, answers GET /health/live and /health/ready (200 while Redis answers), like agent-worker."""
    port = os.environ.get("PORT")
    if not port:
        return None

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("latin-1").split(" ")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            path = line[1] if len(line) > 1 else ""
            status, body = 404, {"error": "not_found"}
            if path == "/health/live":
                status, body = 200, {"status": "ok"}
            elif path == "/health/ready":
                try:
                    await worker.redis.ping()
                    status, body = 200, {"status": "ok"}
                except Exception:  # noqa: BLE001 - not ready is an answer
                    status, body = 503, {"status": "unavailable"}
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, os.environ.get("HOST", "0.0.0.0"), int(port))
    log.info(f"health endpoint listening on port {port}", extra={"port": int(port)})
    return server


class _JsonFormatter(logging.Formatter):
    _skip = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname.lower(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "name": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self._skip})
        return json.dumps(line, default=str)


def _setup_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "info").upper())
