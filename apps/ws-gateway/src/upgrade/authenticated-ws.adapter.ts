import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { MessageMappingProperties } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import { MAX_FRAME_BYTES } from '@admitone/agent-events';
import { pathOnly, requestIdFrom } from '@admitone/service-runtime';
import type { Logger } from 'pino';
import { RawData, WebSocketServer } from 'ws';
import type { GatewayConfig } from '../config/gateway-config';
import { Connection } from '../connections/connection';
import { ConnectionRegistry } from '../connections/connection-registry';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { selectSubprotocol } from './subprotocol';
import { UpgradeGuard } from './upgrade-guard';
import { startUpgradeSpan, traceDecision, traceFields } from './upgrade-tracing';
import { parserRefusal, Refusal, refusal, writeRefusal } from './upgrade-refusal';

/** The request id of an upgrade, for the 101's X-Request-Id header. */
const requestIds = new WeakMap<IncomingMessage, string>();

/**
 * NestJS guards on gateways run on messages, not on the handshake, so this
 * adapter owns the HTTP server's `upgrade` event: `ws` runs with `noServer`,
 * and `handleUpgrade` (the 101) happens only after UpgradeGuard has consumed
 * the ticket. Every refusal is an HTTP status with the contract's JSON body.
 *
 * The adapter owns each connection from guard to close: once the 101 is
 * written it builds and registers the Connection (ConnectionRegistry.open)
 * and hands that object to Nest as the client, the way `ws` documents
 * `wss.emit('connection', ws, req, client)`; handlers receive it with
 * `@ConnectedSocket()`. Inbound frames go through the connection's checks
 * and then straight to the gateway's @SubscribeMessage handlers, keyed by
 * the message `type` (no rxjs pipeline per client or per message).
 *
 * The edge of the HTTP server is answered here too, so that no request on
 * this port gets an answer outside the contract: what Node's parser rejects
 * (`clientError`) and `CONNECT` get the JSON body, upgrades being checked at
 * once are bounded by MAX_PENDING_UPGRADES, and every refused socket is
 * destroyed after REFUSED_SOCKET_GRACE_MS at the latest. A pending upgrade
 * lasts at most the rate limiter's Redis command timeout plus
 * EXCHANGE_TIMEOUT_MS; both are enforced where the calls are made.
 */
export class AuthenticatedWsAdapter extends WsAdapter {
  constructor(
    app: INestApplication,
    private readonly guard: UpgradeGuard,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly config: Pick<
      GatewayConfig,
      'MAX_PENDING_UPGRADES' | 'REFUSED_SOCKET_GRACE_MS'
    >,
  ) {
    super(app);
  }

  private server?: WebSocketServer;
  /** Upgrades between the `upgrade` event and their 101 or refusal. */
  private pending = 0;

  /**
   * Nest calls this once per @WebSocketGateway class; there is one endpoint,
   * so one server and one upgrade listener (never a second exchange per upgrade).
   */
  override create(): WebSocketServer {
    if (this.server) return this.server;
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      handleProtocols: (offered) => selectSubprotocol(offered),
    });
    wss.on('headers', (headers, req) => headers.push(`X-Request-Id: ${requestIds.get(req) ?? ''}`));
    wss.on('error', (error) => this.log.error({ err: error.message }, 'websocket server error'));
    this.httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(wss, req, socket, head),
    );
    this.httpServer.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
      this.onClientError(error, socket),
    );
    this.httpServer.on('connect', (req: IncomingMessage, socket: Duplex) => {
      // Node hands the socket over without its error listener, as for an upgrade.
      socket.on('error', () => socket.destroy());
      this.refuse(
        socket,
        refusal('invalid_request', { message: 'CONNECT is not supported.' }),
        requestIdFrom(req.headers['x-request-id']),
      );
    });
    this.server = wss;
    return wss;
  }

  private onUpgrade(
    wss: WebSocketServer,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): void {
    socket.on('error', () => socket.destroy());
    const requestId = requestIdFrom(req.headers['x-request-id']);
    if (this.pending >= this.config.MAX_PENDING_UPGRADES) {
      this.metrics.upgrades.inc({ result: 'unavailable', reason: 'pending_upgrades' });
      this.refuse(
        socket,
        refusal('unavailable', {
          message: 'Too many upgrades in progress; retry.',
          retryAfterSeconds: 1,
        }),
        requestId,
      );
      return;
    }
    this.pending++;
    this.metrics.pendingUpgrades.set(this.pending);
    const span = startUpgradeSpan(req, requestId);
    const fields = { ...this.upgradeFields(req, requestId), ...traceFields(span) };
    traceDecision(span, () => this.guard.check(req, requestId))
      .finally(() => this.metrics.pendingUpgrades.set(--this.pending))
      .then((decision) => {
        if (!decision.ok) {
          const { code, reason } = decision.refusal;
          this.metrics.upgrades.inc({ result: code, reason: reason ?? '' });
          this.log[code === 'unavailable' ? 'warn' : 'info'](
            { ...fields, result: code, reason },
            'upgrade refused',
          );
          this.refuse(socket, decision.refusal, requestId);
          return;
        }
        const { slot } = decision.context;
        if (socket.destroyed || !socket.writable) {
          slot.release();
          this.metrics.upgrades.inc({ result: 'client_gone', reason: '' });
          this.log.info(
            { ...fields, user_id: decision.context.user.id },
            'client left during the exchange',
          );
          socket.destroy();
          return;
        }
        // ws may still abort the handshake without calling back: the slot then goes with the socket.
        socket.once('close', slot.release);
        requestIds.set(req, requestId);
        wss.handleUpgrade(req, socket, head, (ws) => {
          this.metrics.upgrades.inc({ result: 'accepted', reason: '' });
          if (this.log.isLevelEnabled('info'))
            this.log.info(
              {
                ...fields,
                result: 'accepted',
                user_id: decision.context.user.id,
                connection_id: decision.context.connection_id,
                protocol: ws.protocol || null,
              },
              'upgrade accepted',
            );
          // The connection is the client Nest hands to handleConnection and @ConnectedSocket().
          wss.emit('connection', this.registry.open(ws, decision.context), req);
        });
      })
      .catch((error: unknown) => {
        this.metrics.upgrades.inc({ result: 'internal_error', reason: '' });
        this.log.error(
          {
            ...fields,
            err: error instanceof Error ? error.message : String(error),
          },
          'upgrade failed',
        );
        this.refuse(socket, refusal('internal_error'), requestId);
      });
  }

  /** The ids every upgrade line carries (no child logger per upgrade). */
  private upgradeFields(req: IncomingMessage, requestId: string) {
    return {
      request_id: requestId,
      path: pathOnly(req.url),
      remote_address: req.socket.remoteAddress,
    };
  }

  private refuse(socket: Duplex, refused: Refusal, requestId: string): void {
    writeRefusal(socket, refused, requestId, this.config.REFUSED_SOCKET_GRACE_MS);
  }

  /**
   * Node's parser rejected the bytes (a bad method, version or header, or
   * headers over the size limit): answer with the contract's body instead
   * of Node's bare status line, unless a response is already under way.
   */
  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const refused = parserRefusal(error.code);
    this.log.debug({ err_code: error.code, result: refused.code }, 'unparseable request');
    this.refuse(socket, refused, requestIdFrom(undefined));
  }

  /** Sockets are tracked by ConnectionRegistry (and drained by DrainService), not by ws. */
  override async close(server: WebSocketServer): Promise<void> {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Nest's connection handler calls this with the client it was given: the
   * Connection. Each admitted message goes straight to its handler (Nest's
   * context still applies the gateway's filters); a handler's returned
   * message is sent, and a handler that fails is answered with an `error`.
   */
  override bindMessageHandlers(connection: Connection, handlers: MessageMappingProperties[]): void {
    const byType = new Map(handlers.map((h) => [String(h.message), h.callback]));
    connection.ws.on('message', (data: RawData, isBinary: boolean) => {
      const message = connection.receive(data, isBinary);
      if (!message) return;
      const handler = byType.get(message.type);
      if (!handler) {
        connection.sendError(
          'unavailable',
          `"${message.type}" is not available on this gateway yet.`,
          message.client_msg_id,
        );
        return;
      }
      Promise.resolve(handler(message, message.type)).then(
        (response) => {
          if (response) connection.send(response as never);
        },
        (error: unknown) => {
          connection.log(
            'error',
            { err: error instanceof Error ? error.message : String(error), type: message.type },
            'handler failed',
          );
          connection.sendError(
            'unavailable',
            'The request could not be handled; retry.',
            message.client_msg_id,
          );
        },
      );
    });
  }

  /** Nest's disconnect hook: the Connection's socket closing. */
  override bindClientDisconnect(connection: Connection, callback: () => void): void {
    connection.ws.once('close', callback);
  }
}
