import type { AgentEvent } from '@admitone/agent-events';
import fc from 'fast-check';
import { MAX_REMEMBERED_RUNS, RunTracker } from './run-tracker';

const TYPES = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed'] as const;

/** Event `id` of a run of `length` events: the last one is agent_completed. */
function event(runId: string, id: number, length = 5): AgentEvent {
  const base = { run_id: runId, thread_id: 't', event_id: id, ts: new Date(0).toISOString() };
  if (id === length) return { ...base, type: 'agent_completed', result: '42' };
  const type = TYPES[Math.min(id - 1, TYPES.length - 1)];
  if (type === 'agent_thinking') return { ...base, type, text: 'hm' };
  if (type === 'tool_executing') return { ...base, type, tool: 'calc', call_id: 'c', input: {} };
  if (type === 'tool_completed') return { ...base, type, tool: 'calc', call_id: 'c', output: 1 };
  return { ...base, type: 'agent_started' };
}

describe('RunTracker', () => {
  it('delivers each event_id of a run once and drops replays', () => {
    const runs = new RunTracker();
    expect([1, 2, 1, 2, 3].map((id) => runs.accept(event('r', id)))).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(runs.lastEventId('r')).toBe(3);
  });

  it('keeps a run in flight from its first event to its terminal one', () => {
    const runs = new RunTracker();
    runs.accept(event('a', 1));
    runs.accept(event('b', 1));
    runs.accept(event('b', 2));
    expect(runs.inFlightRuns()).toEqual([
      { runId: 'a', lastEventId: 1 },
      { runId: 'b', lastEventId: 2 },
    ]);
    for (let id = 2; id <= 5; id++) runs.accept(event('a', id));
    expect(runs.inFlightRuns()).toEqual([{ runId: 'b', lastEventId: 2 }]);
    // A late replay of the finished run is still dropped.
    expect(runs.accept(event('a', 5))).toBe(false);
  });

  it('replays from an earlier point only when asked (rewind)', () => {
    const runs = new RunTracker();
    for (let id = 1; id <= 5; id++) runs.accept(event('r', id));
    runs.rewind('r', 5);
    expect(runs.inFlightRuns()).toEqual([]);
    runs.rewind('r', 2);
    expect(runs.inFlightRuns()).toEqual([{ runId: 'r', lastEventId: 2 }]);
    expect([1, 2, 3, 4, 5].map((id) => runs.accept(event('r', id)))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(runs.inFlightRuns()).toEqual([]);
  });

  it('resumes an unknown run from the start, and stops resuming a forgotten one', () => {
    const runs = new RunTracker();
    runs.rewind('elsewhere', 0);
    expect(runs.inFlightRuns()).toEqual([{ runId: 'elsewhere', lastEventId: 0 }]);
    runs.forget('elsewhere');
    expect(runs.inFlightRuns()).toEqual([]);
  });

  it('remembers a bounded number of finished runs, never evicting one in flight', () => {
    const runs = new RunTracker();
    runs.accept(event('live', 1));
    for (let i = 0; i < MAX_REMEMBERED_RUNS + 50; i++) {
      runs.accept(event(`done-${i}`, 1, 1));
    }
    expect(runs.inFlightRuns()).toEqual([{ runId: 'live', lastEventId: 1 }]);
    expect(runs.lastEventId('done-0')).toBe(0);
    expect(runs.lastEventId(`done-${MAX_REMEMBERED_RUNS + 49}`)).toBe(1);
  });

  it('turns any replaying delivery without gaps into exactly 1..n, in order', () => {
    // A delivery is a series of segments; each starts anywhere up to one past
    // what was already sent (a socket that joins mid-run, a resume from an old
    // cursor), as the gateway guarantees no gaps, only repeats.
    const delivery = fc
      .record({
        length: fc.integer({ min: 1, max: 12 }),
        segments: fc.array(
          fc.record({ back: fc.nat({ max: 12 }), len: fc.integer({ min: 1, max: 12 }) }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
      })
      .map(({ length, segments }) => {
        const ids: number[] = [];
        let sent = 0;
        for (const { back, len } of segments) {
          const start = Math.max(1, sent + 1 - back);
          for (let id = start; id < start + len && id <= length; id++) ids.push(id);
          sent = Math.max(sent, Math.min(length, start + len - 1));
        }
        for (let id = sent + 1; id <= length; id++) ids.push(id);
        return { length, ids };
      });
    fc.assert(
      fc.property(delivery, ({ length, ids }) => {
        const runs = new RunTracker();
        const seen = ids.filter((id) => runs.accept(event('r', id, length)));
        expect(seen).toEqual(Array.from({ length }, (_, i) => i + 1));
        expect(runs.inFlightRuns()).toEqual([]);
      }),
    );
  });
});
