import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject } from '@nestjs/common';
import { ClientMessageOf, CLOSE_CODES, ServerMessageOf } from '@admitone/agent-events';
import { Admission, AGENT_BUS, AgentBus, RunInfo } from '@admitone/agent-runtime';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { AgentRelay } from '../agents/agent-relay';
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { Connection } from '../connections/connection';
import { ConnectionRegistry } from '../connections/connection-registry';
import { takeUpgradeContext } from '../upgrade/authenticated-ws.adapter';
import { chatTraceparent } from './chat-tracing';

/**
 * The agent.v1 endpoint. Connections arrive here already authenticated (the
 * adapter ran UpgradeGuard before the 101) and every message has passed the
 * connection's checks; each handler answers with events or an `error`,
 * never silence.
 */
/** How long a chat or resume waits for the user's live event feed. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

/** What a client is told when its chat is not admitted (contract section 4.2). */
const ADMISSION_REFUSALS: Record<Exclude<Admission, 'accepted'>, string> = {
  too_many_runs: 'You have too many runs in progress; retry when one has finished.',
  busy: 'The agents are busy; retry later.',
};

@WebSocketGateway()
export class AgentGateway implements OnGatewayConnection {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly relay: AgentRelay,
    private readonly authService: AuthServiceClient,
    @Inject(AGENT_BUS) private readonly bus: AgentBus,
  ) {}

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const context = takeUpgradeContext(req);
    // Unreachable by construction (no 101 without a context); refuse rather than trust.
    if (!context) return ws.close(CLOSE_CODES.internal_error.code, 'no authenticated context');
    const acceptedAt = Date.now();
    this.relay.accepted(this.registry.open(ws, context), acceptedAt);
  }

  @SubscribeMessage('ping')
  ping(): ServerMessageOf<'pong'> {
    return { type: 'pong', ts: new Date().toISOString() };
  }

  /** A new run: its events (with a new run_id) follow on every socket of the user. */
  @SubscribeMessage('chat')
  async chat(
    @ConnectedSocket() ws: WebSocket,
    @MessageBody() message: ClientMessageOf<'chat'>,
  ): Promise<void> {
    const connection = this.registry.of(ws);
    if (!connection) return;
    const runId = randomUUID();
    let admission: Admission;
    try {
      await this.relay.readyWithin(connection.userId, SUBSCRIBE_TIMEOUT_MS);
      this.relay.expectRun(connection, runId, message.client_msg_id);
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
      connection.logger.warn({ err: (error as Error).message }, 'could not submit chat');
      connection.sendError(
        'unavailable',
        'The agent bus is unavailable; retry.',
        message.client_msg_id,
      );
      return;
    }
    if (admission !== 'accepted') {
      this.relay.forgetRun(connection, runId);
      connection.logger.info({ reason: admission }, 'chat refused at admission');
      connection.sendError(admission, ADMISSION_REFUSALS[admission], message.client_msg_id);
      return;
    }
    connection.logger.info({ run_id: runId }, 'chat submitted');
  }

  /** Every event of the user's own run after `after_event_id`, then live ones. */
  @SubscribeMessage('resume')
  async resume(
    @ConnectedSocket() ws: WebSocket,
    @MessageBody() message: ClientMessageOf<'resume'>,
  ): Promise<void> {
    const connection = this.registry.of(ws);
    const run =
      connection && (await this.ownRun(connection, message.run_id, message.client_msg_id));
    if (!connection || !run) return;
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
    @ConnectedSocket() ws: WebSocket,
    @MessageBody() message: ClientMessageOf<'cancel'>,
  ): Promise<void> {
    const connection = this.registry.of(ws);
    const run =
      connection && (await this.ownRun(connection, message.run_id, message.client_msg_id));
    if (!connection || !run) return;
    if (run.status === 'completed' || run.status === 'failed') {
      connection.sendError('unknown_run', 'That run has already finished.', message.client_msg_id);
      return;
    }
    await this.bus.cancel(message.run_id);
    connection.logger.info({ run_id: message.run_id }, 'run cancelled');
  }

  /** Renews authentication with a fresh ticket of the same user, without reconnecting. */
  @SubscribeMessage('reauth')
  async reauth(
    @ConnectedSocket() ws: WebSocket,
    @MessageBody() message: ClientMessageOf<'reauth'>,
  ): Promise<void> {
    const connection = this.registry.of(ws);
    if (!connection) return;
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
      connection.logger.info({ reason: why }, 'reauth failed');
      connection.sendError(
        'reauth_failed',
        `Reauthentication failed (${why}); the connection keeps its expiry.`,
        message.client_msg_id,
      );
      return;
    }
    const previous = connection.sessionId;
    connection.renew(Date.parse(outcome.context.auth_expires_at), outcome.context.session_id);
    this.registry.rebind(connection, previous);
    connection.logger.info({ auth_expires_at: outcome.context.auth_expires_at }, 'reauthenticated');
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
