import { AgentEvent, AgentRequest, TERMINAL_EVENT_TYPES } from '@admitone/agent-events';
import type { Logger } from 'pino';
import { AgentStep, RunContext, runReferenceAgent } from '../reference-agent/reference-agent';
import { Admission, AdmissionLimits, AgentBus, AgentEventListener, RunInfo } from './agent-bus';

interface MemoryRun extends RunInfo {
  events: AgentEvent[];
  cancelled: boolean;
}

export interface MemoryAgentBusOptions extends AdmissionLimits {
  stepDelayMs: number;
  retentionSeconds: number;
  /** The agent run for each request; the reference agent by default. */
  runAgent?: (request: AgentRequest, ctx: RunContext) => Promise<void>;
}

const inFlight = (run: MemoryRun) => run.status === 'queued' || run.status === 'running';

/**
 * In-memory mode (no REDIS_URL): the reference agent runs in-process behind
 * the same port, so `npm start` works on a machine without Redis. One
 * gateway instance only. Runs are forgotten after the retention window.
 * Admission follows the Redis bus: a run counts while queued or running.
 */
export class MemoryAgentBus implements AgentBus {
  private readonly runs = new Map<string, MemoryRun>();
  private readonly listeners = new Map<string, Set<AgentEventListener>>();
  private closed = false;

  constructor(
    private readonly options: MemoryAgentBusOptions,
    private readonly logger?: Logger,
  ) {}

  /** Counts and admits synchronously: nothing can interleave in one event loop turn. */
  async submit(request: AgentRequest): Promise<Admission> {
    let mine = 0;
    let pending = 0;
    for (const run of this.runs.values()) {
      if (!inFlight(run)) continue;
      pending += 1;
      if (run.user_id === request.user_id) mine += 1;
    }
    if (mine >= this.options.maxRunsPerUser) return 'too_many_runs';
    if (pending >= this.options.maxPendingRuns) return 'busy';
    const run: MemoryRun = {
      user_id: request.user_id,
      thread_id: request.thread_id,
      status: 'queued',
      created_at: request.requested_at,
      events: [],
      cancelled: false,
    };
    this.runs.set(request.run_id, run);
    setTimeout(
      () => this.runs.delete(request.run_id),
      this.options.retentionSeconds * 1000,
    ).unref();
    const runAgent =
      this.options.runAgent ??
      ((req: AgentRequest, ctx: RunContext) =>
        runReferenceAgent(req, ctx, this.options.stepDelayMs));
    const emit = async (step: AgentStep) => {
      if (this.closed) return;
      const event = {
        ...step,
        run_id: request.run_id,
        thread_id: request.thread_id,
        event_id: run.events.length + 1,
        ts: new Date().toISOString(),
      } as AgentEvent;
      run.events.push(event);
      run.status = TERMINAL_EVENT_TYPES.includes(event.type)
        ? event.type === 'agent_completed'
          ? 'completed'
          : 'failed'
        : 'running';
      for (const listener of this.listeners.get(request.user_id) ?? [])
        listener(event, request.user_id);
    };
    setImmediate(() => {
      runAgent(request, {
        emit,
        isCancelled: async () => run.cancelled,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      }).catch((error: Error) => {
        this.logger?.error(
          { err: error.message, run_id: request.run_id },
          'in-process agent failed',
        );
        // The run ends (and stops counting against the user) rather than hanging.
        if (inFlight(run)) void emit({ type: 'agent_failed', error: 'the agent failed' });
      });
    });
    return 'accepted';
  }

  async threadRuns(userId: string, threadId: string): Promise<string[]> {
    return [...this.runs]
      .filter(([, run]) => run.user_id === userId && run.thread_id === threadId)
      .map(([runId]) => runId);
  }

  async cancel(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (run) run.cancelled = true;
  }

  async runInfo(runId: string): Promise<RunInfo | null> {
    const run = this.runs.get(runId);
    if (!run) return null;
    return {
      user_id: run.user_id,
      thread_id: run.thread_id,
      status: run.status,
      created_at: run.created_at,
    };
  }

  async replay(runId: string, afterEventId: number): Promise<AgentEvent[]> {
    return (this.runs.get(runId)?.events ?? []).filter((e) => e.event_id > afterEventId);
  }

  async subscribeUser(userId: string, listener: AgentEventListener): Promise<() => Promise<void>> {
    const set = this.listeners.get(userId) ?? new Set<AgentEventListener>();
    set.add(listener);
    this.listeners.set(userId, set);
    return async () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(userId);
    };
  }

  onResubscribed(): void {
    // In-process delivery is never interrupted.
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}
