// Human-readable logs for development: the services always write JSON lines
// to stdout (production reads them as they are); `npm start` pipes each
// service's stdout through this, one readable line per event:
//
//   12:00:01.234 INFO  (ws-gateway) upgrade refused {"request_id":"…","result":"ticket_invalid","reason":"already_used",…}
//
// Used by tools/scripts/start.mjs, or as a filter of its own:
//   node dist/apps/ws-gateway/main.js | node tools/scripts/dev-logs.mjs
// Lines that are not JSON pass through unchanged.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pretty from 'pino-pretty';

/** A writable stream that prints pino JSON lines readably to `destination`. */
export function prettyLogs(destination = process.stdout, colorize = Boolean(destination.isTTY)) {
  return pretty({
    // Each service gets its own stream; one ending must not end the shared stdout.
    destination: new Writable({
      write: (chunk, _encoding, done) => destination.write(chunk, done),
    }),
    colorize,
    // One line per event, the structured fields (request_id, result, reason, ...) at its end.
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // `name` already says which service; pid and hostname say nothing here.
    ignore: 'pid,hostname,service',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdin.pipe(prettyLogs());
