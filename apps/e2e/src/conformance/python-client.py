"""Driven by python-client.spec.ts: the admitone client against the real stack.

Logs in, connects to gateway 1 with a ticket in the subprotocol carrier, runs
a chat to its end, starts another, drops the connection after event 2,
reconnects to gateway 2 with a fresh ticket and resumes. Prints one JSON
line with what it saw; refusals print their status and code.
"""

import asyncio
import json
import os

from admitone import login
from admitone.client import AdmitOneError


async def main() -> None:
    auth_url, gateways = os.environ["AUTH_URL"], os.environ["GATEWAY_URLS"].split(",")
    client = await login(auth_url, gateways[0], os.environ["EMAIL"], os.environ["PASSWORD"])
    report: dict[str, object] = {}

    first = await client.connect()
    report["established"] = first.established
    await first.chat("What is 6 * 7?")
    report["golden"] = [event async for event in first.run_events()]

    await first.chat("How long is this sentence?")
    seen = []
    async for event in first.run_events():
        seen.append(event)
        if len(seen) == 2:
            break
    await first.close()
    second = await client.connect(gateways[1])
    run_id = seen[0]["run_id"]
    await second.resume(run_id, after_event_id=seen[-1]["event_id"])
    report["resumed"] = {"before": seen, "after": [e async for e in second.run_events(run_id)]}
    await second.close()

    try:
        await login(auth_url, gateways[0], os.environ["EMAIL"], "wrong-password")
        report["bad_login"] = None
    except AdmitOneError as error:
        report["bad_login"] = {"status": error.status, "error": error.error}
    ticket = await client.ticket()
    await (await client.connect(ticket=ticket)).close()
    try:
        await client.connect(ticket=ticket)
        report["reused_ticket"] = None
    except AdmitOneError as error:
        report["reused_ticket"] = {"status": error.status, "error": error.error, "reason": error.reason}
    print(json.dumps(report), flush=True)


asyncio.run(main())
