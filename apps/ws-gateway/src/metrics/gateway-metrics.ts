import { Global, Injectable, Module } from '@nestjs/common';
import { CLOSE_CODES } from '@admitone/agent-events';
import { Metrics, MetricsModule, Readiness } from '@admitone/service-runtime';
import { Gauge } from 'prom-client';

/** 1005 ("no status") is what ws reports when a peer closes without a code, as most do. */
const NO_STATUS = 1005;
const KNOWN_CLOSE_CODES = new Set<string>(
  [...Object.values(CLOSE_CODES).map((c) => c.code), NO_STATUS].map(String),
);

/**
 * The `code` label of ws_closes_total: a close code of the contract (or
 * 1005), else `other`. A peer chooses its own close code (any of about 2,000
 * values), and a label must never be a value a client picks.
 */
export function closeCodeLabel(code: string | number): string {
  const text = String(code);
  return KNOWN_CLOSE_CODES.has(text) ? text : 'other';
}

/** Labels are contract codes and close codes: bounded, never a credential. */
@Injectable()
export class GatewayMetrics {
  readonly upgrades;
  readonly exchangeDuration;
  /** Counts a close under its bounded label (see closeCodeLabel). */
  readonly closes: { inc(labels: { code: string }): void };
  readonly messages;
  readonly sessionRecheckFailures;
  readonly droppedEvents;
  readonly activeConnections: Gauge;
  readonly draining: Gauge;
  readonly breakerState: Gauge;
  private breaker?: { opened: boolean; halfOpen: boolean };
  readonly pendingUpgrades: Gauge;

  constructor(metrics: Metrics, readiness: Readiness) {
    this.upgrades = metrics.counter({
      name: 'ws_upgrades_total',
      help: 'Upgrade attempts by result (accepted or the refusal code) and reason',
      labelNames: ['result', 'reason'],
    });
    this.exchangeDuration = metrics.histogram({
      name: 'ws_ticket_exchange_duration_seconds',
      help: 'Latency of the ticket exchange call to auth-service',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    });
    const closes = metrics.counter({
      name: 'ws_closes_total',
      help: 'Closed connections by close code (the contract codes, or other)',
      labelNames: ['code'],
    });
    this.closes = { inc: ({ code }) => closes.inc({ code: closeCodeLabel(code) }) };
    this.messages = metrics.counter({
      name: 'ws_messages_total',
      help: 'Inbound messages by type (or invalid)',
      labelNames: ['type'],
    });
    this.sessionRecheckFailures = metrics.counter({
      name: 'ws_session_recheck_failures_total',
      help: 'Calls of the periodic session re-check that auth-service did not answer (the sessions stay open)',
    });
    this.droppedEvents = metrics.counter({
      name: 'ws_relay_dropped_events_total',
      help: 'Agent events not delivered because they did not belong to the socket user',
      labelNames: ['reason'],
    });
    this.activeConnections = new Gauge({
      name: 'ws_active_connections',
      help: 'Open WebSocket connections',
      registers: [metrics.registry],
    });
    this.pendingUpgrades = new Gauge({
      name: 'ws_pending_upgrades',
      help: 'Upgrades being checked (between the upgrade request and its 101 or refusal)',
      registers: [metrics.registry],
    });
    // Read at scrape time, so neither needs a call site of its own.
    this.draining = new Gauge({
      name: 'ws_draining',
      help: '1 while this replica drains (SIGTERM: refuses upgrades, closes sockets with 1012)',
      registers: [metrics.registry],
      collect() {
        this.set(readiness.draining ? 1 : 0);
      },
    });
    const breakerOf = () => this.breaker;
    this.breakerState = new Gauge({
      name: 'ws_exchange_breaker_state',
      help: 'Circuit breaker on the ticket exchange: 0 closed, 1 half-open, 2 open (shedding upgrades with 503)',
      registers: [metrics.registry],
      collect() {
        const breaker = breakerOf();
        this.set(breaker?.opened ? 2 : breaker?.halfOpen ? 1 : 0);
      },
    });
  }

  /** The exchange's circuit breaker, reported as ws_exchange_breaker_state. */
  watchBreaker(breaker: { opened: boolean; halfOpen: boolean }): void {
    this.breaker = breaker;
  }
}

@Global()
@Module({
  imports: [MetricsModule.forService('ws-gateway')],
  providers: [GatewayMetrics],
  exports: [GatewayMetrics],
})
export class GatewayMetricsModule {}
