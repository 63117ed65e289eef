import { Global, Injectable, Module } from '@nestjs/common';
import { CLOSE_CODES } from '@admitone/agent-events';
import { Metrics, MetricsModule } from '@admitone/service-runtime';
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
  readonly activeConnections: Gauge;
  readonly pendingUpgrades: Gauge;

  constructor(metrics: Metrics) {
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
  }
}

@Global()
@Module({
  imports: [MetricsModule.forService('ws-gateway')],
  providers: [GatewayMetrics],
  exports: [GatewayMetrics],
})
export class GatewayMetricsModule {}
