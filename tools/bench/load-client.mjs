// The load client: a child process of tools/bench/run.mjs, driven over IPC.
// It speaks just enough WebSocket over raw `net` sockets to be cheaper per
// connection than any server it measures: it writes the upgrade request
// itself, reads the status line of the answer (101 or a refusal), then reads
// frames only to spot the first server frame, answer pings (unmasked payload
// with a zero masking key, which the RFC allows a server to accept) and read
// relay timestamps. It never validates Sec-WebSocket-Accept: it is a bench.
import { connect } from 'node:net';
import { SignJWT, importJWK } from 'jose';

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ZERO_MASK = Buffer.alloc(4);
const now = () => performance.now();

/** A frame from the client: FIN, opcode, masked with a zero key. */
function clientFrame(opcode, payload) {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  let header;
  if (body.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | body.length]);
  } else if (body.length < 65536) {
    header = Buffer.from([0x80 | opcode, 0x80 | 126, body.length >> 8, body.length & 255]);
  } else {
    throw new Error('frame too large for the bench client');
  }
  return Buffer.concat([header, ZERO_MASK, body]);
}

const held = new Set();
let lost = 0;

/**
 * Opens one connection. `target`: {host, port, path, protocol?, sio?}.
 * Resolves with {ok, ms, status}: ok once the first server frame arrived
 * (for Socket.IO: the CONNECT reply `40{"sid"...}` after sending our own
 * CONNECT with the token), or not ok on a refusal or a socket error.
 */
function open(target, credential, hold, onText) {
  const started = now();
  return new Promise((resolve) => {
    const socket = connect(target.port, target.host);
    socket.setNoDelay(true);
    let buffer = null;
    let upgraded = false;
    let settled = false;
    const settle = (ok, status) => {
      if (settled) return;
      settled = true;
      const ms = now() - started;
      if (ok && hold) {
        held.add(socket);
        socket.once('close', () => {
          if (held.delete(socket)) lost += 1;
        });
      } else {
        socket.destroy();
      }
      resolve({ ok, ms, status });
    };
    socket.on('error', () => settle(false, 'error'));
    socket.on('close', () => settle(false, upgraded ? 'closed' : 'refused-closed'));
    const protocolHeader =
      target.protocol && credential !== undefined
        ? `Sec-WebSocket-Protocol: ${target.protocol.replace('{}', credential)}\r\n`
        : '';
    socket.write(
      `GET ${credential === undefined ? target.path : target.path.replace('{}', credential)} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\n` +
        `Sec-WebSocket-Version: 13\r\n${protocolHeader}\r\n`,
    );
    const onFrame = (opcode, payload) => {
      if (opcode === 0x9) return socket.write(clientFrame(0xa, payload));
      if (opcode === 0x8) return socket.end();
      if (opcode !== 0x1) return;
      const text = payload.toString();
      if (target.sio) {
        if (text === '2') return socket.write(clientFrame(1, '3'));
        if (!settled) {
          // EIO open packet `0{...}`: answer with the Socket.IO CONNECT carrying the token.
          if (text[0] === '0')
            return socket.write(clientFrame(1, `40${JSON.stringify({ token: credential })}`));
          if (text.startsWith('40')) return settle(true, 101);
          if (text.startsWith('44')) return settle(false, 'connect_error');
          return;
        }
        if (onText) onText(text);
        return;
      }
      if (!settled) return settle(true, 101);
      if (onText) onText(text);
    };
    socket.on('data', (chunk) => {
      buffer = buffer ? Buffer.concat([buffer, chunk]) : chunk;
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        // "HTTP/1.1 101": the status code sits at bytes 9..11.
        const status = Number(buffer.toString('latin1', 9, 12));
        if (status !== 101) return settle(false, status);
        upgraded = true;
        buffer = buffer.length > end + 4 ? buffer.subarray(end + 4) : null;
        if (!buffer) return;
      }
      while (buffer && buffer.length >= 2) {
        const opcode = buffer[0] & 0x0f;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.length > offset + length ? buffer.subarray(offset + length) : null;
        onFrame(opcode, payload);
      }
    });
  });
}

/**
 * A keep-alive HTTP/1.1 client over raw sockets, one request at a time per
 * socket, as many sockets as requests in flight: fetch (undici) costs the
 * client more CPU per request than the server's handling of it.
 */
function httpPool(url) {
  const idle = [];
  const request = (socket, raw) =>
    new Promise((resolve, reject) => {
      let buffer = '';
      const onData = (chunk) => {
        buffer += chunk.toString('latin1');
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        socket.off('data', onData);
        socket.off('error', reject);
        resolve({
          status: Number(buffer.slice(9, 12)),
          body: buffer.slice(end + 4, end + 4 + length),
        });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(raw);
    });
  return async (raw) => {
    let socket = idle.pop();
    if (!socket || socket.destroyed) {
      socket = connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy());
    }
    const response = await request(socket, raw);
    idle.push(socket);
    return response;
  };
}

/** Makes the credential for a full-path connection, the way each system issues it. */
async function issuer(spec) {
  if (!spec || spec.kind === 'none') return async () => undefined;
  if (spec.kind === 'admitone') {
    const post = httpPool(new URL(spec.authUrl));
    let i = 0;
    return async () => {
      const bearer = spec.bearers[i++ % spec.bearers.length];
      const { status, body } = await post(
        `POST /websocket/ticket HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bearer}\r\n` +
          'Content-Length: 0\r\n\r\n',
      );
      const ticket = /"ticket":"([^"]+)"/.exec(body)?.[1];
      if (!ticket) throw new Error(`ticket refused: ${status}`);
      return ticket;
    };
  }
  if (spec.kind === 'redis') {
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(spec.redisUrl);
    let i = 0;
    return async () => {
      const ticket = `${process.pid}-${i++}-${Math.random().toString(36).slice(2)}`;
      await redis.set(`${spec.prefix}ticket:${ticket}`, `user-${i % 100}`, 'EX', 60);
      return ticket;
    };
  }
  if (spec.kind === 'jwt') {
    const key = await importJWK(spec.privateJwk, 'ES256');
    let i = 0;
    return () =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: spec.privateJwk.kid })
        .setSubject(`user-${i++ % 100}`)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(key);
  }
  throw new Error(`unknown issuer ${spec.kind}`);
}

/** `count` connections, `concurrency` at a time; credentials from the list or the issuer. */
async function run({ target, credentials, count, concurrency, hold, issue }) {
  const issueOne = issue ? await issuer(issue) : null;
  const latencies = [];
  const statuses = {};
  let failures = 0;
  let next = 0;
  const started = now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = now();
        let credential = credentials?.[i];
        let result;
        try {
          if (issueOne) credential = await issueOne();
          result = await open(target, credential, hold);
        } catch (error) {
          result = { ok: false, status: `issue: ${error.message}` };
        }
        if (result.ok) latencies.push(now() - t0);
        else {
          failures += 1;
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return {
    elapsedMs: now() - started,
    clientCpuMicros: cpu.user + cpu.system,
    latencies,
    failures,
    statuses,
  };
}

/**
 * Relay latency: one socket per user, agent events published through Redis
 * the way the agent worker emits them (the same Lua emit: HSET, XADD,
 * EXPIRE, PUBLISH of a BusEvent on `user:<id>:events`), each carrying its
 * publish time in `text`; latency is publish to frame, in this one process.
 */
async function relay({ target, credentials, userIds, rate, seconds, redisUrl, prefix, emitLua }) {
  const latencies = [];
  let received = 0;
  const onText = (text) => {
    const at = text.indexOf('"text":"');
    if (at < 0) return;
    const sent = Number(text.slice(at + 8, text.indexOf('"', at + 8)));
    if (Number.isFinite(sent)) {
      received += 1;
      latencies.push(now() - sent);
    }
  };
  const opened = await Promise.all(
    userIds.map((_, i) => open(target, credentials?.[i], true, onText)),
  );
  const failed = opened.filter((o) => !o.ok).length;
  // Let every user's subscription settle before the clock starts.
  await new Promise((r) => setTimeout(r, 1000));
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  redis.defineCommand('benchEmit', { numberOfKeys: 2, lua: emitLua });
  const runTag = `bench-${process.pid}-${Date.now()}`;
  // Each user's run exists before its events, as a chat's admission makes it: the
  // gateway delivers only events of runs that belong to the socket's user.
  const runs = redis.pipeline();
  userIds.forEach((userId, u) => {
    const runId = `${runTag}-${u}`;
    runs.hset(`${prefix}run:${runId}`, {
      user_id: userId,
      thread_id: runId,
      status: 'running',
      created_at: new Date().toISOString(),
    });
    runs.expire(`${prefix}run:${runId}`, 120);
  });
  await runs.exec();
  const eventIds = new Array(userIds.length).fill(0);
  let published = 0;
  const total = Math.max(1, Math.round(rate * seconds));
  const started = now();
  const pending = [];
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate) + 1);
      while (published < due) {
        const u = published % userIds.length;
        const userId = userIds[u];
        const runId = `${runTag}-${u}`;
        const eventId = ++eventIds[u];
        const event = {
          type: 'agent_thinking',
          run_id: runId,
          thread_id: runId,
          event_id: eventId,
          ts: new Date().toISOString(),
          text: String(now()),
        };
        const eventJson = JSON.stringify(event);
        pending.push(
          redis.benchEmit(
            `${prefix}run:${runId}`,
            `${prefix}run:${runId}:events`,
            eventId,
            eventJson,
            `${prefix}user:${userId}:events`,
            JSON.stringify({ user_id: userId, event }),
            120,
            'running',
          ),
        );
        published += 1;
      }
      if (published >= total) return resolve();
      setTimeout(tick, 5);
    };
    tick();
  });
  await Promise.all(pending);
  const deadline = now() + 5000;
  while (received < published && now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await redis.quit();
  return { published, received, failed, latencies };
}

process.on('message', async (message) => {
  const { id, cmd } = message;
  try {
    let result;
    if (cmd === 'run') result = await run(message);
    else if (cmd === 'relay') result = await relay(message);
    else if (cmd === 'count') result = { open: held.size, lost };
    else if (cmd === 'closeAll') {
      const closed = held.size;
      const sockets = [...held];
      held.clear();
      for (const socket of sockets) socket.destroy();
      lost = 0;
      result = { closed };
    } else if (cmd === 'exit') {
      for (const socket of held) socket.destroy();
      process.send({ id, result: {} }, () => process.exit(0));
      return;
    } else throw new Error(`unknown command ${cmd}`);
    process.send({ id, result });
  } catch (error) {
    process.send({ id, error: error.stack ?? String(error) });
  }
});
process.send({ ready: true });
