"""The client side: log in, fetch a single-use WebSocket ticket, connect, iterate typed events, resume.

Tickets travel in the subprotocol carrier (``agent.v1``, ``ticket.<t>``),
never in a URL or header; each connection needs a fresh ticket.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import websockets
from websockets.asyncio.client import ClientConnection

from . import contract
from .types import AgentEvent, ServerMessage

RUN_EVENT_TYPES = frozenset(
    {"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed", "agent_failed"}
)


class AdmitOneError(Exception):
    """A refusal from auth-service or the gateway: HTTP status and the contract's error code."""

    def __init__(self, status: int, error: str, message: str, reason: str | None = None) -> None:
        super().__init__(f"{status} {error}{f' ({reason})' if reason else ''}: {message}")
        self.status = status
        self.error = error
        self.reason = reason


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the caller's auth URL
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return int(error.code), json.loads(raw or b"null")
        except ValueError:
            return int(error.code), {"error": "unknown", "message": raw.decode(errors="replace")}


def _refusal(status: int, body: Any) -> AdmitOneError:
    if isinstance(body, dict):
        reason = body.get("reason")
        return AdmitOneError(
            status,
            str(body.get("error", "unknown")),
            str(body.get("message", "")),
            str(reason) if reason is not None else None,
        )
    return AdmitOneError(status, "unknown", "")


@dataclass
class AdmitOneClient:
    """A logged-in user of auth-service (``auth_url``) and ws-gateway (``gateway_url``, ws:// or http://)."""

    auth_url: str
    gateway_url: str
    access_token: str
    refresh_token: str | None = None
    ws_path: str = contract.bus()["default_ws_path"]

    async def ticket(self, origin: str | None = None) -> str:
        """A fresh single-use ticket (POST /websocket/ticket)."""
        headers = {"authorization": f"Bearer {self.access_token}", **({"origin": origin} if origin else {})}
        status, body = await asyncio.to_thread(_post_json, f"{self.auth_url}/websocket/ticket", {}, headers)
        if status != 201 or not isinstance(body, dict) or "ticket" not in body:
            raise _refusal(status, body)
        return str(body["ticket"])

    async def connect(self, gateway_url: str | None = None, ticket: str | None = None) -> AgentConnection:
        """Opens a connection with a fresh ticket (or the given one) and waits for ``connection_established``.

        A refused upgrade raises AdmitOneError with the status, the code and (403) the reason."""
        ticket = ticket or await self.ticket()
        base = (gateway_url or self.gateway_url).rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        try:
            ws = await websockets.connect(
                f"{base}{self.ws_path}",
                subprotocols=[
                    cast(Any, contract.SUBPROTOCOL),
                    cast(Any, f"{contract.TICKET_PROTOCOL_PREFIX}{ticket}"),
                ],
                max_size=None,
            )
        except websockets.InvalidStatus as error:
            response = error.response
            try:
                body = json.loads(response.body or b"null")
            except ValueError:
                body = None
            raise _refusal(response.status_code, body) from None
        connection = AgentConnection(ws)
        await connection._established()
        return connection


async def login(auth_url: str, gateway_url: str, email: str, password: str) -> AdmitOneClient:
    """POST /auth/login; raises AdmitOneError on a refusal."""
    status, body = await asyncio.to_thread(
        _post_json, f"{auth_url.rstrip('/')}/auth/login", {"email": email, "password": password}
    )
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise _refusal(status, body)
    return AdmitOneClient(auth_url.rstrip("/"), gateway_url, str(body["access_token"]), body.get("refresh_token"))


class AgentConnection:
    """One WebSocket connection. Iterate it for server messages (validated against the contract)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.established: ServerMessage = {}
        self._counter = 0

    async def _established(self) -> None:
        message = await self.receive()
        if message.get("type") != "connection_established":
            raise AdmitOneError(0, str(message.get("code", "unexpected")), f"expected connection_established, got {message.get('type')}")
        self.established = message

    async def receive(self, timeout: float | None = None) -> ServerMessage:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(raw)
        if not contract.is_valid("server-message", message):
            raise ValueError(f"a frame outside the contract: {str(raw)[:200]}")
        return cast(ServerMessage, message)

    def __aiter__(self) -> AsyncIterator[ServerMessage]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[ServerMessage]:
        try:
            while True:
                yield await self.receive()
        except websockets.ConnectionClosedOK:
            return

    async def send(self, message: dict[str, Any]) -> None:
        if not contract.is_valid("client-message", message):
            raise ValueError(f"not a client message of the contract: {message.get('type')}")
        await self.ws.send(json.dumps(message))

    def _msg_id(self) -> str:
        self._counter += 1
        return f"py-{self._counter}"

    async def chat(self, content: str, thread_id: str | None = None) -> str:
        """Sends a chat; returns its client_msg_id (the ``error`` ref if it is refused)."""
        msg_id = self._msg_id()
        message: dict[str, Any] = {"type": "chat", "content": content, "client_msg_id": msg_id}
        if thread_id:
            message["thread_id"] = thread_id
        await self.send(message)
        return msg_id

    async def cancel(self, run_id: str) -> None:
        await self.send({"type": "cancel", "run_id": run_id, "client_msg_id": self._msg_id()})

    async def resume(self, run_id: str, after_event_id: int = 0) -> None:
        """Asks for the run's events after ``after_event_id`` (e.g. after a reconnect)."""
        await self.send(
            {"type": "resume", "run_id": run_id, "after_event_id": after_event_id, "client_msg_id": self._msg_id()}
        )

    async def run_events(self, run_id: str | None = None, timeout: float = 60) -> AsyncIterator[AgentEvent]:
        """The events of one run (the first run seen when ``run_id`` is None) until its terminal event.

        Raises AdmitOneError on an ``error`` frame that refers to nothing else."""
        seen: set[int] = set()
        while True:
            message = await self.receive(timeout)
            kind = message.get("type")
            if kind == "error":
                raise AdmitOneError(0, str(message.get("code")), str(message.get("message")))
            if kind not in RUN_EVENT_TYPES:
                continue
            event = cast(AgentEvent, message)
            if run_id is None:
                run_id = event["run_id"]
            if event["run_id"] != run_id or event["event_id"] in seen:
                continue
            seen.add(event["event_id"])
            yield event
            if kind in contract.TERMINAL_EVENT_TYPES:
                return

    async def close(self) -> None:
        await self.ws.close()
