import { Inject, Injectable } from '@nestjs/common';
import {
  isWellFormedTicket,
  TicketExchangeRequest,
  TicketExchangeResponse,
  TicketInvalidReason,
  TicketResponse,
} from '@admitone/auth-contracts';
import {
  ContractError,
  normalizeOrigin,
  RateLimiter,
  randomToken,
  sha256Hex,
} from '@admitone/service-runtime';
import { PinoLogger } from 'nestjs-pino';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { AuthMetrics } from '../metrics/auth-metrics';
import { TICKETS_BY_USER } from '../rate-limits/rate-limits.module';
import { SessionsService } from '../sessions/sessions.service';
import { Principal } from '../sessions/principal';
import { toUser } from '../users/users.service';
import { TICKET_STORE, TicketStore } from './ticket-store';

/**
 * The ticket lifecycle: issue (bound to a session and, when the request had
 * one, an Origin), then exchange exactly once. Every step writes an audit
 * line naming the user and a short hash of the ticket, never the ticket.
 */
@Injectable()
export class TicketsService {
  constructor(
    @Inject(TICKET_STORE) private readonly store: TicketStore,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(TICKETS_BY_USER) private readonly limiter: RateLimiter,
    private readonly sessions: SessionsService,
    private readonly metrics: AuthMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TicketsService');
  }

  async issue(principal: Principal, origin: string | undefined): Promise<TicketResponse> {
    const ticket = randomToken();
    const hash = sha256Hex(ticket);
    const ttl = this.config.TICKET_TTL_SECONDS;
    const issuedAt = new Date();
    const boundOrigin = origin ? canonicalOrigin(origin) : undefined;
    // The rate limit and the write go out together (one round trip, not
    // two). A refused request's ticket was never shown to anyone; it is
    // deleted before the refusal is answered.
    const [decision] = await Promise.all([
      this.limiter.consume(principal.user_id),
      this.store.save(
        hash,
        {
          user_id: principal.user_id,
          session_id: principal.session_id,
          ...(boundOrigin ? { origin: boundOrigin } : {}),
          issued_at: issuedAt.toISOString(),
          auth_expires_at: new Date(principal.exp * 1000).toISOString(),
        },
        ttl,
      ),
    ]);
    if (!decision.allowed) {
      await this.store.discard(hash);
      this.logger.warn(
        { audit: 'ticket_rate_limited', user_id: principal.user_id },
        'ticket issuance rate limited',
      );
      throw new ContractError('rate_limited', undefined, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
    this.metrics.ticketsIssued.inc();
    this.logger.info(
      {
        audit: 'ticket_issued',
        user_id: principal.user_id,
        session_id: principal.session_id,
        ticket_hash: logTag(hash),
        origin: boundOrigin,
      },
      'ticket issued',
    );
    return {
      ticket,
      expires_in: ttl,
      expires_at: new Date(issuedAt.getTime() + ttl * 1000).toISOString(),
    };
  }

  async exchange(request: TicketExchangeRequest): Promise<TicketExchangeResponse> {
    const end = this.metrics.exchangeDuration.startTimer();
    // Hashed once: the store key, and its first characters for the audit line.
    const hash = isWellFormedTicket(request.ticket) ? sha256Hex(request.ticket) : undefined;
    const ticketHash = hash ? logTag(hash) : 'malformed';
    const refuse = (reason: TicketInvalidReason, fields: Record<string, unknown> = {}): never => {
      this.metrics.exchanges.inc({ result: reason });
      end({ result: reason });
      const replay = reason === 'already_used';
      this.logger[replay ? 'warn' : 'info'](
        {
          audit: replay ? 'ticket_replayed' : 'ticket_refused',
          security_event: replay || undefined,
          reason,
          ticket_hash: ticketHash,
          ...fields,
        },
        replay ? 'ticket replayed' : 'ticket refused',
      );
      throw new ContractError('ticket_invalid', `The ticket is not valid (${reason}).`, { reason });
    };

    if (!hash) return refuse('unknown_or_expired');
    const result = await this.store.consume(hash, this.config.USED_TICKET_MEMORY_SECONDS);
    if (result.status === 'unknown') return refuse('unknown_or_expired');
    const { record } = result;
    const who = { user_id: record.user_id, session_id: record.session_id };
    if (result.status === 'already_used') return refuse('already_used', who);
    if (record.origin && (!request.origin || canonicalOrigin(request.origin) !== record.origin)) {
      return refuse('origin_mismatch', who);
    }
    if (Date.parse(record.auth_expires_at) <= Date.now()) return refuse('unknown_or_expired', who);
    const user = await this.sessions.activeUser(record.session_id, record.user_id);
    if (!user) return refuse('session_revoked', who);

    this.metrics.exchanges.inc({ result: 'ok' });
    end({ result: 'ok' });
    this.logger.info(
      { audit: 'ticket_exchanged', ...who, ticket_hash: ticketHash },
      'ticket exchanged',
    );
    return {
      user: toUser(user),
      session_id: record.session_id,
      auth_expires_at: record.auth_expires_at,
      ticket_issued_at: record.issued_at,
    };
  }
}

/** `shortHash(ticket)` from the ticket's SHA-256 already computed, rather than hashing again. */
function logTag(sha256: string): string {
  return sha256.slice(0, 12);
}

function canonicalOrigin(origin: string): string {
  try {
    return normalizeOrigin(origin);
  } catch {
    return origin;
  }
}
