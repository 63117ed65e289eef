// Peer: Socket.IO 4 with JWT middleware (what most teams pick): websocket
// transport only, `io.use` verifies the ES256 token from the CONNECT auth
// payload; a bad token gets a CONNECT_ERROR.
import { createServer } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { Server } from 'socket.io';

const publicKey = createPublicKey({ key: JSON.parse(process.env.PUBLIC_JWK), format: 'jwk' });
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.use(async (socket, next) => {
  try {
    const { payload } = await jwtVerify(String(socket.handshake.auth?.token), publicKey, {
      algorithms: ['ES256'],
    });
    socket.data.userId = payload.sub;
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});
http.listen(0, '127.0.0.1', () => process.send?.({ listening: http.address().port }));
process.on('SIGTERM', () => process.exit(0));
