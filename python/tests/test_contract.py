from __future__ import annotations

from pathlib import Path

from admitone import contract

REPO = Path(__file__).resolve().parents[2]


def test_the_lua_scripts_are_the_contract_libs_scripts_byte_for_byte() -> None:
    for name in ("emit-agent-event", "admit-agent-request"):
        source = (REPO / "libs/agent-events/src/lua" / f"{name}.lua").read_text(encoding="utf-8")
        assert contract.lua(name) == source


def test_the_keys_follow_bus_keys() -> None:
    assert contract.REQUESTS == "agent:requests"
    assert contract.WORKERS_GROUP == "agent-workers"
    assert contract.key("run_cancel", run_id="r1") == "run:r1:cancel"
    assert contract.key("user_events", user_id="u1") == "user:u1:events"


def test_the_generated_schemas_validate_like_the_zod_ones() -> None:
    event = {"type": "agent_started", "run_id": "r", "thread_id": "t", "event_id": 1, "ts": "2026-01-01T00:00:00.000Z"}
    assert contract.is_valid("agent-event", event)
    assert not contract.is_valid("agent-event", {**event, "event_id": 0})
    assert not contract.is_valid("agent-event", {**event, "ts": "yesterday"})
    assert not contract.is_valid("agent-event", {**event, "type": "agent_dreaming"})
    request = {
        "run_id": "r",
        "thread_id": "t",
        "user_id": "u",
        "session_id": "s",
        "content": "hi",
        "request_id": "q",
        "requested_at": "2026-01-01T00:00:00.000Z",
    }
    assert contract.is_valid("agent-request", request)
    assert not contract.is_valid("agent-request", {**request, "content": ""})
    assert not contract.is_valid("agent-request", {k: v for k, v in request.items() if k != "user_id"})
