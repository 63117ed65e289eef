import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { CLOSE_CODES } from '@admitone/agent-events';
import { Readiness } from '@admitone/service-runtime';
import type { Logger } from 'pino';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { ConnectionRegistry, GATEWAY_LOGGER } from '../connections/connection-registry';

/**
 * On SIGTERM (deploy, scale-in): stop accepting upgrades (503 `unavailable`,
 * readiness goes down), then close live sockets with 1012 spread over
 * DRAIN_SECONDS so clients do not all reconnect in the same instant, then
 * let Nest close the servers. DRAIN_SECONDS + 2 s must fit the platform's
 * grace period (Cloud Run 10 s, Kubernetes terminationGracePeriodSeconds).
 */
@Injectable()
export class DrainService implements BeforeApplicationShutdown {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
    private readonly readiness: Readiness,
    private readonly registry: ConnectionRegistry,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.readiness.draining = true;
    const connections = this.registry.all();
    const spreadMs = this.config.DRAIN_SECONDS * 1000;
    this.logger.info({ signal, connections: connections.length, drain_ms: spreadMs }, 'draining');
    const step = connections.length > 1 ? spreadMs / connections.length : 0;
    connections.forEach((c, i) => {
      setTimeout(
        () => c.close(CLOSE_CODES.service_restart.code, 'gateway restarting'),
        Math.floor(i * step),
      ).unref();
    });
    const deadline = Date.now() + spreadMs + 2000;
    while (this.registry.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    this.logger.info({ remaining: this.registry.size }, 'drained');
  }
}
