// Peer: a bare `ws` server, no auth (the limit). Sends one small frame on
// connection so that "connected" means the same thing for every server: the
// first server frame arrived. With RELAY_REDIS_URL set it is also the bare
// forwarder of the relay phase: `/?user=<id>` subscribes to that user's bus
// channel and every message's event is sent to the user's sockets.
import { WebSocketServer } from 'ws';

const HELLO = '{"type":"connection_established"}';
let onConnection = (ws) => ws.send(HELLO);

if (process.env.RELAY_REDIS_URL) {
  const { default: Redis } = await import('ioredis');
  const prefix = process.env.RELAY_PREFIX ?? '';
  const subscriber = new Redis(process.env.RELAY_REDIS_URL);
  await new Promise((resolve) => subscriber.once('ready', resolve));
  const sockets = new Map();
  subscriber.on('message', (channel, message) => {
    const users = sockets.get(channel);
    if (!users) return;
    const frame = JSON.stringify(JSON.parse(message).event);
    for (const ws of users) ws.send(frame);
  });
  onConnection = (ws, req) => {
    const user = new URL(req.url, 'http://x').searchParams.get('user') ?? '';
    const channel = `${prefix}user:${user}:events`;
    let users = sockets.get(channel);
    if (!users) {
      users = new Set();
      sockets.set(channel, users);
      void subscriber.subscribe(channel);
    }
    users.add(ws);
    ws.on('close', () => {
      users.delete(ws);
      if (users.size === 0) {
        sockets.delete(channel);
        void subscriber.unsubscribe(channel);
      }
    });
    ws.send(HELLO);
  };
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, clientTracking: false });
wss.on('connection', onConnection);
wss.on('listening', () => process.send?.({ listening: wss.address().port }));
process.on('SIGTERM', () => process.exit(0));
