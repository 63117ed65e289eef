import type { IncomingMessage } from 'node:http';
import { CLOSE_CODES, ClientMessageOf, ServerMessageOf } from '@admitone/agent-events';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { takeUpgradeContext } from '../upgrade/authenticated-ws.adapter';
import { ConnectionRegistry } from './connection-registry';

/**
 * The agent.v1 endpoint. Connections arrive here already authenticated (the
 * adapter ran UpgradeGuard before the 101); this class keeps them.
 */
@WebSocketGateway()
export class AgentGateway implements OnGatewayConnection {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly authService: AuthServiceClient,
  ) {}

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const context = takeUpgradeContext(req);
    // Unreachable by construction (no 101 without a context); refuse rather than trust.
    if (!context) return ws.close(CLOSE_CODES.internal_error.code, 'no authenticated context');
    this.registry.open(ws, context);
  }

  @SubscribeMessage('ping')
  ping(): ServerMessageOf<'pong'> {
    return { type: 'pong', ts: new Date().toISOString() };
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
}
