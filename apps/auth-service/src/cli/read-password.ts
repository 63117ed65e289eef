import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * The new user's password: from `USER_PASSWORD`, else the first line of
 * stdin (typed without echo on a terminal). Never from argv, where `ps` and
 * shell history would keep it.
 */
export async function readPassword(
  fromEnv: string | undefined,
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (fromEnv) return fromEnv;
  const terminal = stdin.isTTY === true;
  if (terminal) stderr.write('Password: ');
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const lines = createInterface({ input: stdin, output: terminal ? muted : undefined, terminal });
  lines.once('SIGINT', () => {
    stderr.write('\n');
    process.exit(130);
  });
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    lines.close();
    if (terminal) stderr.write('\n');
  }
}
