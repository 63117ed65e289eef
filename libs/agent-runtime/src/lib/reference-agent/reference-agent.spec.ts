import type { AgentRequest } from '@admitone/agent-events';
import { AgentStep, RunContext, runReferenceAgent } from './reference-agent';

/** A RunContext that only records: the agent's behaviour without any bus. */
function recordingContext(options: { cancelAfterSteps?: number } = {}) {
  const steps: AgentStep[] = [];
  const ctx: RunContext = {
    async emit(step) {
      steps.push(step);
    },
    async isCancelled() {
      return options.cancelAfterSteps !== undefined && steps.length >= options.cancelAfterSteps;
    },
    sleep: async () => undefined,
  };
  return { ctx, steps };
}

function request(content: string, runId = 'run-1'): AgentRequest {
  return {
    run_id: runId,
    thread_id: 'thread-1',
    user_id: 'user-1',
    session_id: 'session-1',
    content,
    request_id: 'req-1',
    requested_at: new Date().toISOString(),
  };
}

describe('runReferenceAgent', () => {
  it('answers arithmetic with the calculator: started, thinking, tool, result, completed with 42', async () => {
    const { ctx, steps } = recordingContext();
    await runReferenceAgent(request('What is 6 * 7?'), ctx, 0);
    expect(steps.map((s) => s.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_completed',
    ]);
    expect(steps[2]).toEqual({
      type: 'tool_executing',
      tool: 'calculator',
      call_id: 'run-1:1',
      input: { expression: '6 * 7' },
    });
    expect(steps[3]).toEqual({
      type: 'tool_completed',
      tool: 'calculator',
      call_id: 'run-1:1',
      output: { value: 42 },
    });
    const last = steps[4];
    expect(last.type === 'agent_completed' && last.result).toContain('42');
  });

  it('looks at any other text with text_stats', async () => {
    const { ctx, steps } = recordingContext();
    await runReferenceAgent(request('Tell me a story about owls'), ctx, 0);
    expect(steps.map((s) => s.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_completed',
    ]);
    expect(steps[2]).toMatchObject({
      tool: 'text_stats',
      input: { text: 'Tell me a story about owls' },
    });
    expect(steps[3]).toMatchObject({ tool: 'text_stats', output: { words: 6, characters: 26 } });
    expect(steps[4]).toMatchObject({
      type: 'agent_completed',
      result: expect.stringContaining('6 words'),
    });
  });

  it('reports a tool error in tool_completed, then fails the run', async () => {
    const { ctx, steps } = recordingContext();
    await runReferenceAgent(request('What is 1/0?'), ctx, 0);
    expect(steps.map((s) => s.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_failed',
    ]);
    expect(steps[3]).toEqual({
      type: 'tool_completed',
      tool: 'calculator',
      call_id: 'run-1:1',
      error: 'division by zero',
    });
    expect(steps[3]).not.toHaveProperty('output');
    expect(steps[4]).toEqual({
      type: 'agent_failed',
      error: 'calculator failed: division by zero',
    });
  });

  it.each([1, 2, 3, 4])(
    'ends a run cancelled after %d step(s) with agent_failed "cancelled" and nothing after',
    async (cancelAfterSteps) => {
      const { ctx, steps } = recordingContext({ cancelAfterSteps });
      await runReferenceAgent(request('What is 6 * 7?'), ctx, 0);
      expect(steps).toHaveLength(cancelAfterSteps + 1);
      expect(steps[cancelAfterSteps]).toEqual({ type: 'agent_failed', error: 'cancelled' });
      expect(steps.filter((s) => s.type === 'agent_completed')).toEqual([]);
    },
  );

  it('paces its steps with the context sleep', async () => {
    const sleeps: number[] = [];
    const { ctx } = recordingContext();
    await runReferenceAgent(
      request('What is 6 * 7?'),
      { ...ctx, sleep: async (ms) => void sleeps.push(ms) },
      25,
    );
    expect(sleeps).toEqual([25, 25, 25]);
  });

  it('emits the same steps for the same request (what makes a claimed re-run idempotent)', async () => {
    for (const content of ['What is 6 * 7?', 'What is 1/0?', 'just words']) {
      const first = recordingContext();
      const second = recordingContext();
      await runReferenceAgent(request(content), first.ctx, 0);
      await runReferenceAgent(request(content), second.ctx, 0);
      expect(second.steps).toEqual(first.steps);
    }
  });
});
