import type { AgentEvent, AgentRequest, JsonValue } from '@admitone/agent-events';
import { evaluate, findExpression } from './calculator';

type Distribute<T> = T extends unknown
  ? Omit<T, 'run_id' | 'thread_id' | 'event_id' | 'ts'>
  : never;
/** An event as an agent writes it; the emitter adds run_id, thread_id, event_id and ts. */
export type AgentStep = Distribute<AgentEvent>;

export interface RunContext {
  /** Emits the next event of the run; event ids follow the order of calls. */
  emit(step: AgentStep): Promise<void>;
  isCancelled(): Promise<boolean>;
  sleep(ms: number): Promise<void>;
}

/**
 * The reference agent: it thinks out loud, picks a tool, runs it and
 * answers. "What is 6 * 7?" uses the calculator and completes with 42; any
 * other text goes to a text-statistics tool. A tool error is reported in
 * tool_completed and ends the run with agent_failed; cancel ends it with
 * agent_failed "cancelled". Given the same request it emits the same steps,
 * which is what lets a worker that claims an abandoned run skip the events
 * already emitted.
 */
export async function runReferenceAgent(
  request: AgentRequest,
  ctx: RunContext,
  stepDelayMs = 100,
): Promise<void> {
  const step = async (event: AgentStep): Promise<boolean> => {
    if (await ctx.isCancelled()) {
      await ctx.emit({ type: 'agent_failed', error: 'cancelled' });
      return false;
    }
    await ctx.emit(event);
    if (stepDelayMs > 0) await ctx.sleep(stepDelayMs);
    return true;
  };

  await ctx.emit({ type: 'agent_started' });
  const expression = findExpression(request.content);
  const tool = expression ? 'calculator' : 'text_stats';
  const thought = expression
    ? `The question contains arithmetic (${expression}); I will compute it with the calculator.`
    : 'There is no arithmetic here; I will look at the text with text_stats.';
  if (!(await step({ type: 'agent_thinking', text: thought }))) return;

  const callId = `${request.run_id}:1`;
  const input: JsonValue = expression ? { expression } : { text: request.content.slice(0, 2000) };
  if (!(await step({ type: 'tool_executing', tool, call_id: callId, input }))) return;

  let output: JsonValue | undefined;
  let toolError: string | undefined;
  try {
    if (expression) {
      output = { value: evaluate(expression) };
    } else {
      const words = request.content.trim().split(/\s+/).filter(Boolean).length;
      output = { characters: request.content.length, words };
    }
  } catch (error) {
    toolError = error instanceof Error ? error.message : String(error);
  }
  if (
    !(await step({
      type: 'tool_completed',
      tool,
      call_id: callId,
      ...(toolError ? { error: toolError } : { output: output ?? null }),
    }))
  )
    return;

  if (toolError) {
    await ctx.emit({ type: 'agent_failed', error: `${tool} failed: ${toolError}` });
    return;
  }
  if (await ctx.isCancelled()) {
    await ctx.emit({ type: 'agent_failed', error: 'cancelled' });
    return;
  }
  const result = expression
    ? `${expression} = ${(output as { value: number }).value}`
    : `Your message has ${(output as { words: number }).words} words and ${(output as { characters: number }).characters} characters.`;
  await ctx.emit({ type: 'agent_completed', result });
}
