"""Typed views of the wire messages. Validation is against the generated JSON Schemas (contract.py)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JsonValue = Any


class AgentRequest(TypedDict):
    run_id: str
    thread_id: str
    user_id: str
    session_id: str
    content: str
    request_id: str
    requested_at: str


class AgentEvent(TypedDict):
    """One event of a run; the fields beyond the common ones depend on ``type``."""

    type: Literal[
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
        "agent_failed",
    ]
    run_id: str
    thread_id: str
    event_id: int
    ts: str
    text: NotRequired[str]
    tool: NotRequired[str]
    call_id: NotRequired[str]
    input: NotRequired[JsonValue]
    output: NotRequired[JsonValue]
    error: NotRequired[str]
    result: NotRequired[str]


ServerMessage = dict[str, Any]
