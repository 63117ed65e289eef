import { ConsumeResult, TicketRecord, TicketStore } from './ticket-store';

/** One process only; atomic because each call runs to completion on the event loop. */
export class MemoryTicketStore implements TicketStore {
  private readonly live = new Map<string, { record: TicketRecord; expiresAt: number }>();
  private readonly used = new Map<string, { record: TicketRecord; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async save(hash: string, record: TicketRecord, ttlSeconds: number): Promise<void> {
    this.sweep();
    this.live.set(hash, { record, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async discard(hash: string): Promise<void> {
    this.live.delete(hash);
  }

  async consume(hash: string, rememberSeconds: number): Promise<ConsumeResult> {
    const now = this.now();
    const entry = this.live.get(hash);
    if (entry && entry.expiresAt > now) {
      this.live.delete(hash);
      this.used.set(hash, { record: entry.record, expiresAt: now + rememberSeconds * 1000 });
      return { status: 'consumed', record: entry.record };
    }
    const used = this.used.get(hash);
    if (used && used.expiresAt > now) return { status: 'already_used', record: used.record };
    return { status: 'unknown' };
  }

  /** Drops expired entries so memory stays bounded by the live ticket count. */
  private sweep(): void {
    const now = this.now();
    for (const map of [this.live, this.used]) {
      for (const [key, value] of map) if (value.expiresAt <= now) map.delete(key);
    }
  }
}
