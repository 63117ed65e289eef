// Peer: `ws` + one Redis GETDEL ticket check in verifyClient. The ticket
// comes in the subprotocol `ticket.<t>` (as with AdmitOne); an unknown or
// used ticket is refused with 401 before any 101.
import Redis from 'ioredis';
import { WebSocketServer } from 'ws';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = process.env.BENCH_PREFIX ?? 'bench:';
const HELLO = '{"type":"connection_established"}';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  clientTracking: false,
  verifyClient: (info, done) => {
    const header = info.req.headers['sec-websocket-protocol'] ?? '';
    const match = /(?:^|,\s*)ticket\.([A-Za-z0-9_-]+)/.exec(header);
    if (!match) return done(false, 401);
    redis.getdel(`${prefix}ticket:${match[1]}`).then(
      (user) => {
        if (!user) return done(false, 401);
        info.req.userId = user;
        done(true);
      },
      () => done(false, 503),
    );
  },
});
wss.on('connection', (ws) => ws.send(HELLO));
wss.on('listening', () => process.send?.({ listening: wss.address().port }));
process.on('SIGTERM', () => process.exit(0));
