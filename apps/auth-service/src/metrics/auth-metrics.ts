import { Injectable } from '@nestjs/common';
import { Metrics } from '@admitone/service-runtime';

/** Labels are results and reasons from the contract: bounded, never secret. */
@Injectable()
export class AuthMetrics {
  readonly ticketsIssued;
  readonly exchanges;
  readonly exchangeDuration;
  readonly logins;
  readonly refreshes;
  readonly revocations;
  readonly tokenExchanges;

  constructor(metrics: Metrics) {
    this.ticketsIssued = metrics.counter({
      name: 'auth_tickets_issued_total',
      help: 'WebSocket tickets issued',
    });
    this.exchanges = metrics.counter({
      name: 'auth_ticket_exchanges_total',
      help: 'Ticket exchanges by result (ok or the ticket_invalid reason, invalid_client)',
      labelNames: ['result'],
    });
    this.exchangeDuration = metrics.histogram({
      name: 'auth_ticket_exchange_duration_seconds',
      help: 'Latency of the ticket exchange',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    this.logins = metrics.counter({
      name: 'auth_logins_total',
      help: 'Logins by result',
      labelNames: ['result'],
    });
    this.refreshes = metrics.counter({
      name: 'auth_refreshes_total',
      help: 'Refreshes by result',
      labelNames: ['result'],
    });
    this.revocations = metrics.counter({
      name: 'auth_session_revocations_total',
      help: 'Sessions revoked, by reason',
      labelNames: ['reason'],
    });
    this.tokenExchanges = metrics.counter({
      name: 'auth_token_exchanges_total',
      help: 'Identity provider tokens exchanged for sessions, by result (ok, created, or the refusal)',
      labelNames: ['result'],
    });
  }
}
