import { AgentEvent, TERMINAL_EVENT_TYPES } from '@admitone/agent-events';

/**
 * Exactly-once delivery of agent events across reconnects. The gateway
 * sends every event of a run once per socket, but a new socket may replay
 * a run from its start (it joins mid-run) and again from `after_event_id`
 * (our `resume`), so the app-facing stream drops any event whose event_id
 * is not above the last one delivered for its run. Runs that have started
 * and not finished are "in flight": after a reconnect each is resumed from
 * its last event. Finished runs keep their cursor (bounded) so a late
 * replay of them is still dropped.
 */
export interface RunCursor {
  runId: string;
  lastEventId: number;
}

export const MAX_REMEMBERED_RUNS = 1000;

export class RunTracker {
  /** run_id -> last delivered event_id; insertion order = age, for eviction. */
  private readonly last = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  /** Runs whose terminal event was delivered (pruned with `last`). */
  private readonly finished = new Set<string>();

  /** True when the event is new and must reach the app; false for a duplicate. */
  accept(event: AgentEvent): boolean {
    const last = this.last.get(event.run_id) ?? 0;
    if (event.event_id <= last) return false;
    this.last.delete(event.run_id);
    this.last.set(event.run_id, event.event_id);
    if (TERMINAL_EVENT_TYPES.includes(event.type)) {
      this.inFlight.delete(event.run_id);
      this.finished.add(event.run_id);
    } else {
      this.inFlight.add(event.run_id);
    }
    this.evict();
    return true;
  }

  /** Unfinished runs and where each stands: what to `resume` after a reconnect. */
  inFlightRuns(): RunCursor[] {
    return [...this.inFlight].map((runId) => ({ runId, lastEventId: this.last.get(runId) ?? 0 }));
  }

  lastEventId(runId: string): number {
    return this.last.get(runId) ?? 0;
  }

  /**
   * An explicit resume from `afterEventId`. An earlier point than the last
   * delivered event means the app asked to see those events again, so they
   * are delivered again (once each); the run counts as in flight until its
   * terminal event arrives, unless it is already known to have finished
   * and nothing is to be replayed.
   */
  rewind(runId: string, afterEventId: number): void {
    const last = this.lastEventId(runId);
    if (afterEventId >= last && this.finished.has(runId)) return;
    this.last.delete(runId);
    this.last.set(runId, afterEventId);
    if (afterEventId < last) this.finished.delete(runId);
    this.inFlight.add(runId);
    this.evict();
  }

  /** The server does not know the run (aged out, not ours): stop resuming it. */
  forget(runId: string): void {
    this.inFlight.delete(runId);
  }

  private evict(): void {
    for (const runId of this.last.keys()) {
      if (this.last.size <= MAX_REMEMBERED_RUNS) return;
      if (this.inFlight.has(runId)) continue;
      this.last.delete(runId);
      this.finished.delete(runId);
    }
  }
}
