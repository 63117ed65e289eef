import { randomUUID } from 'node:crypto';
import { Inject, UseFilters } from '@nestjs/common';
import { ClientMessageOf, ServerMessageOf } from '@admitone/agent-events';
import { Admission, AGENT_BUS, AgentBus, RunInfo } from '@admitone/agent-runtime';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { AgentRelay } from '../agents/agent-relay';
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { Connection } from '../connections/connection';
import { ConnectionRegistry } from '../connections/connection-registry';
import { chatTraceparent } from './chat-tracing';
import { HandlerFailureFilter } from './handler-failure.filter';

/** How long a chat or resume waits for the user's live event feed. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

/** What a client is told when its chat is not admitted (contract section 4.2). */
const ADMISSION_REFUSALS: Record<Exclude<Admission, 'accepted'>, string> = {
  too_many_runs: 'You have too many runs in progress; retry when one has finished.',
  busy: 'The agents are busy; retry later.',
};

/**
 * The agent.v1 endpoint. Connections arrive here already authenticated and
 * registered (the adapter ran UpgradeGuard before the 101 and hands Nest the
 * Connection as the client, so `@ConnectedSocket()` is the Connection), and
 * every message has passed the connection's checks; each handler answers
 * with events or an `error`, never silence (a handler that throws is
 * answered by HandlerFailureFilter).
 */
@WebSocketGateway()
@UseFilters(HandlerFailureFilter)
export class AgentGateway {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly relay: AgentRelay,
    private readonly authService: AuthServiceClient,
    @Inject(AGENT_BUS) private readonly bus: AgentBus,
  ) {}

  @SubscribeMessage('ping')
  ping(): ServerMessageOf<'pong'> {
    return { type: 'pong', ts: new Date().toISOString() };
  }

  /** A new run: its events (with a new run_id) follow on every socket of the user. */
  @SubscribeMessage('chat')
  async chat(
    @ConnectedSocket() connection: Connection,
    @MessageBody() message: ClientMessageOf<'chat'>,
  ): Promise<void> {
    const runId = randomUUID();
    let admission: Admission;
    try {
      await this.relay.readyWithin(connection.userId, SUBSCRIBE_TIMEOUT_MS);
      // The socket closed while this chat waited: nothing is submitted or kept for it.
      if (!this.relay.expectRun(connection, runId, message.client_msg_id)) return;
      admission = await this.bus.submit({
        run_id: runId,
        // Threads are scoped to their user on the bus (BUS_KEYS.threadRuns), whoever chose the id.
        thread_id: message.thread_id ?? randomUUID(),
        user_id: connection.userId,
        session_id: connection.sessionId,
        content: message.content,
        request_id: connection.context.request_id,
        requested_at: new Date().toISOString(),
        ...chatTraceparent(runId, connection.context.request_id),
      });
    } catch (error) {
      this.relay.forgetRun(connection, runId);
      connection.log('warn', { err: (error as Error).message }, 'could not submit chat');
      connection.sendError(
        'unavailable',
        'The agent bus is unavailable; retry.',
        message.client_msg_id,
      );
      return;
    }
    if (admission !== 'accepted') {
      this.relay.forgetRun(connection, runId);
      connection.log('info', { reason: admission }, 'chat refused at admission');
      connection.sendError(admission, ADMISSION_REFUSALS[admission], message.client_msg_id);
      return;
    }
    connection.log('info', { run_id: runId }, 'chat submitted');
  }

  /** Every event of the user's own run after `after_event_id`, then live ones. */
  @SubscribeMessage('resume')
  async resume(
    @ConnectedSocket() connection: Connection,
    @MessageBody() message: ClientMessageOf<'resume'>,
  ): Promise<void> {
    const run = await this.ownRun(connection, message.run_id, message.client_msg_id);
    if (!run) return;
    try {
      await this.relay.readyWithin(connection.userId, SUBSCRIBE_TIMEOUT_MS);
    } catch {
      connection.sendError(
        'unavailable',
        'The agent bus is unavailable; retry.',
        message.client_msg_id,
      );
      return;
    }
    await this.relay.resume(connection, message.run_id, message.after_event_id ?? 0);
  }

  @SubscribeMessage('cancel')
  async cancel(
    @ConnectedSocket() connection: Connection,
    @MessageBody() message: ClientMessageOf<'cancel'>,
  ): Promise<void> {
    const run = await this.ownRun(connection, message.run_id, message.client_msg_id);
    if (!run) return;
    if (run.status === 'completed' || run.status === 'failed') {
      connection.sendError('unknown_run', 'That run has already finished.', message.client_msg_id);
      return;
    }
    await this.bus.cancel(message.run_id);
    connection.log('info', { run_id: message.run_id }, 'run cancelled');
  }

  /** Renews authentication with a fresh ticket of the same user, without reconnecting. */
  @SubscribeMessage('reauth')
  async reauth(
    @ConnectedSocket() connection: Connection,
    @MessageBody() message: ClientMessageOf<'reauth'>,
  ): Promise<void> {
    const outcome = await this.authService.exchange(
      message.ticket,
      connection.context.origin,
      `${connection.context.request_id}:reauth`,
    );
    if (outcome.kind !== 'ok' || outcome.context.user.id !== connection.userId) {
      const why =
        outcome.kind === 'refused'
          ? outcome.reason
          : outcome.kind === 'ok'
            ? 'different user'
            : 'authentication unavailable';
      connection.log('info', { reason: why }, 'reauth failed');
      connection.sendError(
        'reauth_failed',
        `Reauthentication failed (${why}); the connection keeps its expiry.`,
        message.client_msg_id,
      );
      return;
    }
    this.registry.renew(
      connection,
      Date.parse(outcome.context.auth_expires_at),
      outcome.context.session_id,
    );
    connection.log('info', { auth_expires_at: outcome.context.auth_expires_at }, 'reauthenticated');
  }

  /** The run, when it exists and is this user's; otherwise an `unknown_run` error. */
  private async ownRun(
    connection: Connection,
    runId: string,
    ref: string | undefined,
  ): Promise<RunInfo | null> {
    let run: RunInfo | null;
    try {
      run = await this.bus.runInfo(runId);
    } catch {
      connection.sendError('unavailable', 'The agent bus is unavailable; retry.', ref);
      return null;
    }
    if (!run || run.user_id !== connection.userId) {
      connection.sendError('unknown_run', 'No such run (or it has aged out).', ref);
      return null;
    }
    return run;
  }
}
