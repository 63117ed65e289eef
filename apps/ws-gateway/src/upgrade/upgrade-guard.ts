import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { normalizeOrigin, RateLimiter, Readiness } from '@admitone/service-runtime';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import type { ConnectionContext } from '../connections/connection-context';
import { ConnectionRegistry } from '../connections/connection-registry';
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { clientAddress } from './client-address';
import { parseSubprotocolOffer } from './subprotocol';
import { presentTicket } from './ticket-carrier';
import { Refusal, refusal } from './upgrade-refusal';

export const UPGRADE_LIMITER = Symbol('UPGRADE_LIMITER');

/** What the guard hands to the adapter once a ticket is consumed. */
export type UpgradeContext = ConnectionContext;

export type UpgradeDecision =
  | { ok: true; context: UpgradeContext }
  | { ok: false; refusal: Refusal };

const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Authenticates a WebSocket upgrade before any 101 (the model is ws's
 * "client authentication in the upgrade event" and Phoenix's connect/3).
 * The checks run cheapest first, each answering a refusal of contract
 * section 3, so a bad request never burns a ticket or an exchange call.
 * The one exception is the per-address rate, which runs right after the
 * draining check: every attempt counts against it, refused or not, so a
 * client cannot make unbounded cheap refusals (a 401 costs a descriptor and
 * a response too).
 */
@Injectable()
export class UpgradeGuard {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(UPGRADE_LIMITER) private readonly limiter: RateLimiter,
    private readonly authService: AuthServiceClient,
    private readonly readiness: Readiness,
    private readonly connections: ConnectionRegistry,
  ) {}

  async check(req: IncomingMessage, requestId: string): Promise<UpgradeDecision> {
    const refuse = (r: Refusal): UpgradeDecision => ({ ok: false, refusal: r });

    // 1. Draining: new connections go to another replica.
    if (this.readiness.draining)
      return refuse(
        refusal('unavailable', {
          message: 'The gateway is draining; reconnect.',
          retryAfterSeconds: 1,
        }),
      );

    // 2. Per-client upgrade rate: every attempt counts, refused or not.
    const address = clientAddress(req, this.config.TRUST_PROXY_HOPS);
    let decision;
    try {
      decision = await this.limiter.consume(address);
    } catch {
      return refuse(
        refusal('unavailable', {
          message: 'Rate limiter unavailable; retry.',
          retryAfterSeconds: 1,
        }),
      );
    }
    if (!decision.allowed)
      return refuse(refusal('rate_limited', { retryAfterSeconds: decision.retryAfterSeconds }));

    // 3. Path.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://gateway.invalid');
    } catch {
      return refuse(refusal('invalid_request', { message: 'Malformed request target.' }));
    }
    if (url.pathname !== this.config.WS_PATH)
      return refuse(
        refusal('not_found', { message: `WebSocket endpoint is ${this.config.WS_PATH}.` }),
      );

    // 4. A well-formed RFC 6455 opening handshake.
    const h = req.headers;
    if (
      req.method !== 'GET' ||
      (h.upgrade ?? '').toLowerCase() !== 'websocket' ||
      h['sec-websocket-version'] !== '13' ||
      !WS_KEY.test(h['sec-websocket-key'] ?? '')
    ) {
      return refuse(refusal('invalid_request', { message: 'Bad WebSocket upgrade headers.' }));
    }

    // 5. Origin, when present, must be allowed.
    let origin: string | undefined;
    if (h.origin !== undefined) {
      try {
        origin = normalizeOrigin(h.origin);
      } catch {
        origin = undefined;
      }
      const allowed = this.config.ALLOWED_ORIGINS;
      if (!allowed.includes('*') && (!origin || !allowed.includes(origin)))
        return refuse(refusal('origin_forbidden'));
      origin ??= h.origin;
    }

    // 6. Subprotocol offer: none at all is fine; an offer must include agent.v1.
    const offer = parseSubprotocolOffer(h['sec-websocket-protocol']);
    if (offer.kind === 'invalid')
      return refuse(refusal('invalid_request', { message: 'Malformed Sec-WebSocket-Protocol.' }));
    if (offer.kind === 'offered' && !offer.hasAgent)
      return refuse(refusal('unsupported_subprotocol'));

    // 7. Exactly one ticket, well formed.
    const presented = presentTicket(
      url.searchParams,
      offer.kind === 'offered' ? offer.tickets : [],
    );
    if (presented.kind === 'missing') return refuse(refusal('ticket_required'));
    if (presented.kind === 'ambiguous')
      return refuse(refusal('invalid_request', { message: 'Present exactly one ticket.' }));
    if (presented.kind === 'malformed')
      return refuse(refusal('invalid_request', { message: 'Malformed ticket.' }));

    // 8. The exchange: consumes the ticket, exactly once, for a user context.
    const outcome = await this.authService.exchange(presented.ticket, origin, requestId);
    if (outcome.kind === 'refused')
      return refuse(
        refusal('ticket_invalid', {
          reason: outcome.reason,
          message: `The ticket is not valid (${outcome.reason}).`,
        }),
      );
    if (outcome.kind === 'unavailable')
      return refuse(
        refusal('unavailable', {
          message: 'Authentication is unavailable; retry.',
          retryAfterSeconds: 2,
        }),
      );

    // 9. Connections per user on this replica: a place is taken now, not counted.
    const { context } = outcome;
    const slot = this.connections.reserveSlot(context.user.id);
    if (!slot) {
      return refuse(
        refusal('rate_limited', {
          message: 'Too many connections for this user.',
          retryAfterSeconds: 5,
        }),
      );
    }
    return {
      ok: true,
      context: {
        connection_id: randomUUID(),
        request_id: requestId,
        remote_address: address,
        ...(origin ? { origin } : {}),
        user: context.user,
        session_id: context.session_id,
        auth_expires_at: Date.parse(context.auth_expires_at),
        slot,
      },
    };
  }
}
