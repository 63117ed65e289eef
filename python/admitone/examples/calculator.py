"""The reference calculator agent in Python: a port of libs/agent-runtime's reference agent.

"What is 6 * 7?" uses the calculator and completes with 42; any other text goes
to a text-statistics tool. Run it with ``REDIS_URL=redis://127.0.0.1:6379
python -m admitone.examples.calculator`` (AGENT_STEP_DELAY_MS sets the pause
between steps).
"""

from __future__ import annotations

import asyncio
import os

from admitone import AgentRequest, Emitter, serve
from admitone.calculator import evaluate, find_expression, js_number
from admitone.types import JsonValue
from admitone.worker import AgentFunction



def make_calculator_agent(step_delay_s: float) -> AgentFunction:
    """The agent with a pause of ``step_delay_s`` after each step (the TS worker's AGENT_STEP_DELAY_MS)."""

    async def calculator_agent(request: AgentRequest, emit: Emitter) -> None:
        await _run(request, emit, step_delay_s)

    return calculator_agent


async def _run(request: AgentRequest, emit: Emitter, step_delay_s: float) -> None:
    async def pause_or_cancelled() -> bool:
        if step_delay_s > 0:
            await asyncio.sleep(step_delay_s)
        if await emit.is_cancelled():
            await emit.failed("cancelled")
            return True
        return False

    await emit.started()
    content = request["content"]
    expression = find_expression(content)
    tool = "calculator" if expression else "text_stats"
    if await emit.is_cancelled():
        return await emit.failed("cancelled")
    await emit.thinking(
        f"The question contains arithmetic ({expression}); I will compute it with the calculator."
        if expression
        else "There is no arithmetic here; I will look at the text with text_stats."
    )
    if await pause_or_cancelled():
        return
    call_id = f"{request['run_id']}:1"
    tool_input: JsonValue = {"expression": expression} if expression else {"text": content[:2000]}
    await emit.tool_executing(tool, call_id, tool_input)
    if await pause_or_cancelled():
        return
    try:
        if expression:
            output: JsonValue = {"value": js_number(evaluate(expression))}
        else:
            output = {"characters": len(content), "words": len(content.split())}
    except Exception as error:  # noqa: BLE001 - a tool error is reported, not raised
        await emit.tool_completed(tool, call_id, error=str(error))
        if await pause_or_cancelled():
            return
        return await emit.failed(f"{tool} failed: {error}")
    await emit.tool_completed(tool, call_id, output=output)
    if await pause_or_cancelled():
        return
    if expression:
        await emit.completed(f"{expression} = {output['value']}")
    else:
        await emit.completed(f"Your message has {output['words']} words and {output['characters']} characters.")


def main() -> None:
    serve(make_calculator_agent(int(os.environ.get("AGENT_STEP_DELAY_MS", "150")) / 1000))


if __name__ == "__main__":
    main()
