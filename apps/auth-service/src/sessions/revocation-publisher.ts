import { SESSION_REVOKED_CHANNEL, SessionRevokedMessage } from '@admitone/auth-contracts';
import type Redis from 'ioredis';

/**
 * Tells every gateway replica that a session is revoked so it closes that
 * session's sockets with 4403. Redis pub/sub when there is Redis; with
 * in-memory stores there is no channel to other processes, and gateways rely
 * on their periodic re-check of live sessions instead.
 */
export interface RevocationPublisher {
  publish(message: SessionRevokedMessage): Promise<void>;
}
export const REVOCATION_PUBLISHER = Symbol('REVOCATION_PUBLISHER');

export class RedisRevocationPublisher implements RevocationPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async publish(message: SessionRevokedMessage): Promise<void> {
    await this.redis.publish(`${this.prefix}${SESSION_REVOKED_CHANNEL}`, JSON.stringify(message));
  }
}

export class NoChannelRevocationPublisher implements RevocationPublisher {
  async publish(): Promise<void> {
    // No other process to tell; gateways re-check sessions periodically.
  }
}
