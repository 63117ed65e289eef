"""The bus contract, loaded from files generated from libs/agent-events.

Nothing here is written by hand: the Lua scripts, the JSON Schemas (from the
zod schemas) and the key layout come from ``_generated/``, which
``node tools/scripts/generate-bus-artifacts.mjs`` writes and a test in
libs/agent-events checks for drift.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker

_GENERATED = files("admitone") / "_generated"


def _read(path: str) -> str:
    node = _GENERATED
    for part in path.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


@cache
def bus() -> dict[str, Any]:
    """Key templates and constants of the bus (BUS_KEYS and friends)."""
    return cast(dict[str, Any], json.loads(_read("bus.json")))


@cache
def lua(name: str) -> str:
    """A bus Lua script by file name without extension, e.g. ``emit-agent-event``."""
    return _read(f"lua/{name}.lua")


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for a generated schema: agent-request, agent-event, bus-event, server-message, client-message."""
    schema = json.loads(_read(f"schemas/{name}.json"))
    schema.pop("$comment", None)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def is_valid(name: str, value: object) -> bool:
    return bool(validator(name).is_valid(value))


def key(name: str, **params: str) -> str:
    """A bus key without the deployment prefix, e.g. ``key("run", run_id="r1")`` is ``run:r1``."""
    template: str = bus()["keys"][name]
    return template.format(**params)


SUBPROTOCOL: str = bus()["subprotocol"]
TICKET_PROTOCOL_PREFIX: str = bus()["ticket_protocol_prefix"]
WORKERS_GROUP: str = bus()["keys"]["workers_group"]
REQUESTS: str = bus()["keys"]["requests"]
TERMINAL_EVENT_TYPES: tuple[str, ...] = tuple(bus()["terminal_event_types"])
DEFAULT_RUN_RETENTION_SECONDS: int = bus()["default_run_retention_seconds"]
