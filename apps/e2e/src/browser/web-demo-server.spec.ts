import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  ServiceProcess,
  startService,
  stopAllServices,
  workspaceRoot,
} from '../support/service-process';

/** Sends `target` byte for byte (no client normalises it) and reads the whole answer. */
function rawGet(url: string, target: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to GET ${target}`)));
    socket.on('connect', () =>
      socket.write(
        Buffer.from(
          `GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

/** The demo's own server: what it serves, and what it refuses to. */
describe('web demo server', () => {
  let demo: ServiceProcess;

  beforeAll(async () => {
    demo = await startService('web-demo', {
      AUTH_URL: 'https://auth.example.com',
      GATEWAY_URL: 'wss://ws.example.com/ws',
    });
  });
  afterAll(() => stopAllServices());

  it('serves the page with a CSP that allows only itself and the two services, and no Referer', async () => {
    const res = await fetch(`${demo.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<script type="module" src="/app.js"></script>');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' https://auth.example.com wss://ws.example.com");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('tells the page which services to use', async () => {
    expect(await (await fetch(`${demo.url}/config.json`)).json()).toEqual({
      authUrl: 'https://auth.example.com',
      gatewayUrl: 'wss://ws.example.com/ws',
    });
  });

  it('serves the bundled app, and 404 for a file it does not have', async () => {
    expect((await fetch(`${demo.url}/app.js`)).headers.get('content-type')).toMatch(
      /^text\/javascript/,
    );
    expect((await fetch(`${demo.url}/nope.js`)).status).toBe(404);
  });

  it('serves a public file to a raw request like the ones below', async () => {
    const res = await rawGet(demo.url, '/styles.css');
    expect(res.status).toBe(200);
    expect(res.text).toContain(
      readFileSync(join(workspaceRoot, 'apps/web-demo/src/public/styles.css'), 'utf8').slice(
        0,
        100,
      ),
    );
  });

  it.each([
    '/../main.js',
    '/%2e%2e/main.js',
    '/..%2fmain.js',
    '/%2e%2e%2fmain.js',
    '/%2E%2E%2Fmain.js',
    '/..\\main.js',
    '/..%5cmain.js',
    '/./../main.js',
    '/styles.css/../../main.js',
    '/../../../../package.json',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/..%2f..%2f..%2f..%2fpackage.json',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/..\\..\\..\\..\\package.json',
  ])('never serves a file outside its public folder, sent raw: GET %s', async (target) => {
    // The server's own main.js sits just outside public/, the workspace's package.json further up.
    const mainJs = readFileSync(join(workspaceRoot, 'dist/apps/web-demo/main.js'), 'utf8');
    const res = await rawGet(demo.url, target);
    expect([400, 404]).toContain(res.status);
    expect(res.text).not.toContain(mainJs.slice(0, 200));
    expect(res.text).not.toContain('"devDependencies"');
  });

  it('refuses a non-URL service address at start, naming the variable', async () => {
    const bad = await startService('web-demo', { GATEWAY_URL: 'not a url' }, { ready: false });
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(bad.output()).toContain('GATEWAY_URL');
  });
});
