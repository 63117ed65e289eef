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
  shortHash,
} from '@admitone/service-runtime';
import { PinoLogger } from 'nestjs-pino';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { AuthMetrics } from '../metrics/auth-metrics';
import { TICKETS_BY_USER } from '../rate-limits/rate-limits.module';
import { SessionsService } from '../sessions/sessions.service';
import { Principal } from '../sessions/principal';
import { toUser, UsersService } from '../users/users.service';
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
    private readonly users: UsersService,
    private readonly metrics: AuthMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TicketsService');
  }

  async issue(principal: Principal, origin: string | undefined): Promise<TicketResponse> {
    const decision = await this.limiter.consume(principal.user_id);
    if (!decision.allowed) {
      this.logger.warn(
        { audit: 'ticket_rate_limited', user_id: principal.user_id },
        'ticket issuance rate limited',
      );
      throw new ContractError('rate_limited', undefined, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
    const ticket = randomToken();
    const ttl = this.config.TICKET_TTL_SECONDS;
    const issuedAt = new Date();
    const boundOrigin = origin ? canonicalOrigin(origin) : undefined;
    await this.store.save(
      sha256Hex(ticket),
      {
        user_id: principal.user_id,
        session_id: principal.session_id,
        ...(boundOrigin ? { origin: boundOrigin } : {}),
        issued_at: issuedAt.toISOString(),
        auth_expires_at: new Date(principal.exp * 1000).toISOString(),
      },
      ttl,
    );
    this.metrics.ticketsIssued.inc();
    this.logger.info(
      {
        audit: 'ticket_issued',
        user_id: principal.user_id,
        session_id: principal.session_id,
        ticket_hash: shortHash(ticket),
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
    const ticketHash = isWellFormedTicket(request.ticket) ? shortHash(request.ticket) : 'malformed';
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

    if (!isWellFormedTicket(request.ticket)) return refuse('unknown_or_expired');
    const result = await this.store.consume(
      sha256Hex(request.ticket),
      this.config.USED_TICKET_MEMORY_SECONDS,
    );
    if (result.status === 'unknown') return refuse('unknown_or_expired');
    const { record } = result;
    const who = { user_id: record.user_id, session_id: record.session_id };
    if (result.status === 'already_used') return refuse('already_used', who);
    if (record.origin && (!request.origin || canonicalOrigin(request.origin) !== record.origin)) {
      return refuse('origin_mismatch', who);
    }
    if (Date.parse(record.auth_expires_at) <= Date.now()) return refuse('unknown_or_expired', who);
    const user = await this.users.findById(record.user_id);
    if (!user || user.disabled || !(await this.sessions.isActive(record.session_id)))
      return refuse('session_revoked', who);

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

function canonicalOrigin(origin: string): string {
  try {
    return normalizeOrigin(origin);
  } catch {
    return origin;
  }
}
