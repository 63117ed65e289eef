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
 * The gateway's side of the agent bus. One port, two adapters: Redis
 * (streams, consumer group, per-user pub/sub; any number of gateways and
 * workers) and memory (the reference agent runs in-process; one gateway).
 */
export interface AgentBus {
  submit(request: AgentRequest): Promise<void>;
  cancel(runId: string): Promise<void>;
  runInfo(runId: string): Promise<RunInfo | null>;
  /** The run's retained events with event_id > afterEventId, in order. */
  replay(runId: string, afterEventId: number): Promise<AgentEvent[]>;
  /** Live events of the user's runs; returns the unsubscribe function. */
  subscribeUser(userId: string, listener: AgentEventListener): Promise<() => Promise<void>>;
  /** Called after live delivery was interrupted and resumed (events may have been missed). */
  onResubscribed(listener: () => void): void;
  close(): Promise<void>;
}
export const AGENT_BUS = Symbol('AGENT_BUS');
