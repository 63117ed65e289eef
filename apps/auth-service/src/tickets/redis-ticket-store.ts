import type Redis from 'ioredis';
import { ConsumeResult, TicketRecord, TicketStore } from './ticket-store';

/**
 * Keys: `ticket:<sha256>` (live, TTL = ticket TTL) and `ticket-used:<sha256>`
 * (remembered after consumption). Consumption is one Lua script, so one Redis
 * round trip decides it atomically: GET+DEL of the live key and the write of
 * the used marker cannot interleave with another consumer.
 */
const CONSUME = `
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], v, 'EX', ARGV[1])
  return {'consumed', v}
end
local u = redis.call('GET', KEYS[2])
if u then return {'already_used', u} end
return {'unknown'}
`;

type ScriptedRedis = Redis & {
  admitoneConsumeTicket(
    liveKey: string,
    usedKey: string,
    rememberSeconds: number,
  ): Promise<string[]>;
};

export class RedisTicketStore implements TicketStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('admitoneConsumeTicket' in redis))
      redis.defineCommand('admitoneConsumeTicket', { numberOfKeys: 2, lua: CONSUME });
    this.redis = redis as ScriptedRedis;
  }

  async save(hash: string, record: TicketRecord, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}ticket:${hash}`, JSON.stringify(record), 'EX', ttlSeconds);
  }

  async discard(hash: string): Promise<void> {
    await this.redis.del(`${this.prefix}ticket:${hash}`);
  }

  async consume(hash: string, rememberSeconds: number): Promise<ConsumeResult> {
    const [status, value] = await this.redis.admitoneConsumeTicket(
      `${this.prefix}ticket:${hash}`,
      `${this.prefix}ticket-used:${hash}`,
      rememberSeconds,
    );
    if ((status === 'consumed' || status === 'already_used') && value) {
      return { status, record: JSON.parse(value) as TicketRecord };
    }
    return { status: 'unknown' };
  }
}
