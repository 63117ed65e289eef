"""AdmitOne for Python: write agents on the AdmitOne bus, and talk to the gateway as a client."""

from .client import AdmitOneClient, AgentConnection, login
from .types import AgentEvent, AgentRequest
from .worker import Emitter, Worker, agent, serve

__all__ = [
    "AdmitOneClient",
    "AgentConnection",
    "AgentEvent",
    "AgentRequest",
    "Emitter",
    "Worker",
    "agent",
    "login",
    "serve",
]
