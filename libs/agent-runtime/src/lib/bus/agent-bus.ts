import type { AgentEvent, AgentRequest, RunStatus } from '@admitone/agent-events';

export interface RunInfo {
  user_id: string;
  thread_id: string;
  status: RunStatus;
  /** When the run was requested (ISO 8601, the submitting gateway's clock); '' if unknown. */
  created_at: string;
}

/** A live event and the `user_id` its BusEvent carried (for the receiver to check). */
export type AgentEventListener = (event: AgentEvent, userId: string) => void;

/**
 * What became of a submitted request: queued (`accepted`), or refused at
 * admission because the user has too many runs in flight or the backlog is
 * full. Each refusal is the `error` code the client is sent.
 */
export type Admission = 'accepted' | 'too_many_runs' | 'busy';

/** Admission control: runs in flight per user, and requests queued or running in all. */
export interface AdmissionLimits {
  maxRunsPerUser: number;
  maxPendingRuns: number;
}

/**
 * The gateway's side of the agent bus. One port, two adapters: Redis
 * (streams, consumer group, per-user pub/sub; any number of gateways and
 * workers) and memory (the reference agent runs in-process; one gateway).
 */
export interface AgentBus {
  /**
   * Admits and queues the request in one atomic step, or refuses it. An
   * accepted request is never dropped; it stops counting against the limits
   * when its run ends, or when it ages out after the retention window.
   */
  submit(request: AgentRequest): Promise<Admission>;
  cancel(runId: string): Promise<void>;
  runInfo(runId: string): Promise<RunInfo | null>;
  /**
   * The retained runs of one user's thread, oldest first. A thread is scoped
   * to its user: another user's runs with the same thread_id are not in it.
   */
  threadRuns(userId: string, threadId: string): Promise<string[]>;
  /** The run's retained events with event_id > afterEventId, in order. */
  replay(runId: string, afterEventId: number): Promise<AgentEvent[]>;
  /** Live events of the user's runs; returns the unsubscribe function. */
  subscribeUser(userId: string, listener: AgentEventListener): Promise<() => Promise<void>>;
  /** Called after live delivery was interrupted and resumed (events may have been missed). */
  onResubscribed(listener: () => void): void;
  close(): Promise<void>;
}
export const AGENT_BUS = Symbol('AGENT_BUS');
