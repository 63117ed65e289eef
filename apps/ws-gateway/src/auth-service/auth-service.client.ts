import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  ErrorBodySchema,
  SessionStatusResponseSchema,
  TicketExchangeResponse,
  TicketExchangeResponseSchema,
  isTicketInvalidReason,
  TicketInvalidReason,
} from '@admitone/auth-contracts';
import CircuitBreaker from 'opossum';
import { PinoLogger } from 'nestjs-pino';
import { Pool } from 'undici';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { IdTokenSource } from './id-token';

export type ExchangeOutcome =
  | { kind: 'ok'; context: TicketExchangeResponse }
  | { kind: 'refused'; reason: TicketInvalidReason }
  | { kind: 'unavailable'; why: string };

class UpstreamFailure extends Error {}

/**
 * The gateway's only line to auth-service. Keep-alive connections from an
 * undici pool, a hard timeout on every call, and a circuit breaker (opossum)
 * that sheds load with 503 while auth-service is failing instead of piling up
 * upgrades behind a dead dependency. A 403 is an answer, not a failure: it
 * does not trip the breaker.
 */
@Injectable()
export class AuthServiceClient implements OnApplicationShutdown {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly idTokens?: IdTokenSource;
  private readonly breaker: CircuitBreaker<
    [string, unknown, string],
    { status: number; body: unknown }
  >;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly logger: PinoLogger,
    private readonly metrics: GatewayMetrics,
  ) {
    logger.setContext('AuthServiceClient');
    const url = new URL(config.AUTH_SERVICE_URL);
    this.basePath = url.pathname.replace(/\/$/, '');
    const t = config.EXCHANGE_TIMEOUT_MS;
    if (config.AUTH_SERVICE_AUDIENCE)
      this.idTokens = new IdTokenSource(config.AUTH_SERVICE_AUDIENCE, config.GCE_METADATA_HOST, t);
    this.pool = new Pool(url.origin, {
      connections: 64,
      keepAliveTimeout: 30_000,
      connectTimeout: t,
      headersTimeout: t,
      bodyTimeout: t,
    });
    this.breaker = new CircuitBreaker(
      (path: string, body: unknown, requestId: string) => this.post(path, body, requestId),
      {
        timeout: false,
        errorThresholdPercentage: 50,
        volumeThreshold: 5,
        rollingCountTimeout: 10_000,
        resetTimeout: 3_000,
        // Latency percentiles are never read (exchangeDuration is the histogram): not computed per call.
        rollingPercentilesEnabled: false,
      },
    );
    this.breaker.on('open', () =>
      this.logger.error('auth-service failing: circuit open, shedding upgrades with 503'),
    );
    this.breaker.on('halfOpen', () => this.logger.warn('circuit half-open: probing auth-service'));
    this.breaker.on('close', () => this.logger.info('auth-service healthy again: circuit closed'));
    metrics.watchBreaker(this.breaker);
  }

  get circuitOpen(): boolean {
    return this.breaker.opened;
  }

  private async post(
    path: string,
    body: unknown,
    requestId: string,
  ): Promise<{ status: number; body: unknown }> {
    const res = await this.pool.request({
      path: `${this.basePath}${path}`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${this.config.EXCHANGE_CLIENT_KEY}`,
        'x-request-id': requestId,
        ...(await this.idTokens?.header()),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.config.EXCHANGE_TIMEOUT_MS),
    });
    const text = await res.body.text();
    if (res.statusCode >= 500) throw new UpstreamFailure(`auth-service answered ${res.statusCode}`);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new UpstreamFailure('auth-service answered a body that is not JSON');
    }
    return { status: res.statusCode, body: parsed };
  }

  /** Consumes a ticket. Never throws: every failure is an outcome. */
  async exchange(
    ticket: string,
    origin: string | undefined,
    requestId: string,
  ): Promise<ExchangeOutcome> {
    const stopTimer = this.metrics.exchangeDuration.startTimer();
    const outcome = await this.exchangeOnce(ticket, origin, requestId);
    stopTimer({ result: outcome.kind });
    return outcome;
  }

  private async exchangeOnce(
    ticket: string,
    origin: string | undefined,
    requestId: string,
  ): Promise<ExchangeOutcome> {
    let answer: { status: number; body: unknown };
    try {
      answer = await this.breaker.fire(
        '/internal/tickets/exchange',
        { ticket, ...(origin ? { origin } : {}) },
        requestId,
      );
    } catch (error) {
      return {
        kind: 'unavailable',
        why: this.breaker.opened ? 'circuit open' : (error as Error).message,
      };
    }
    if (answer.status === 200) {
      const context = TicketExchangeResponseSchema.safeParse(answer.body);
      return context.success
        ? { kind: 'ok', context: context.data }
        : { kind: 'unavailable', why: 'unexpected exchange response' };
    }
    const error = ErrorBodySchema.safeParse(answer.body);
    if (answer.status === 403 && error.success && isTicketInvalidReason(error.data.reason ?? ''))
      return { kind: 'refused', reason: error.data.reason as TicketInvalidReason };
    if (answer.status === 401) {
      this.logger.error(
        'auth-service refused our EXCHANGE_CLIENT_KEY (invalid_client): check the key rotation',
      );
      return { kind: 'unavailable', why: 'exchange credential refused' };
    }
    if (answer.status === 400) return { kind: 'refused', reason: 'unknown_or_expired' };
    return { kind: 'unavailable', why: `unexpected status ${answer.status}` };
  }

  /**
   * Which of these sessions are no longer active. Throws when auth-service
   * cannot say (unreachable, circuit open, or a refusal), with a message an
   * operator can act on; the caller must never treat that as "all active".
   */
  async inactiveSessions(sessionIds: string[], requestId: string): Promise<string[]> {
    let answer: { status: number; body: unknown };
    try {
      answer = await this.breaker.fire(
        '/internal/sessions/status',
        { session_ids: sessionIds },
        requestId,
      );
    } catch (error) {
      throw new UpstreamFailure(this.breaker.opened ? 'circuit open' : (error as Error).message);
    }
    const parsed = SessionStatusResponseSchema.safeParse(answer.body);
    if (answer.status === 200 && parsed.success) return parsed.data.inactive;
    const error = ErrorBodySchema.safeParse(answer.body);
    throw new UpstreamFailure(
      `auth-service answered ${answer.status}${error.success ? ` ${error.data.error}` : ''}`,
    );
  }

  async isReachable(): Promise<boolean> {
    try {
      const res = await this.pool.request({
        path: `${this.basePath}/health/live`,
        method: 'GET',
        headers: await this.idTokens?.header(),
        signal: AbortSignal.timeout(1000),
      });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close().catch(() => undefined);
  }
}
