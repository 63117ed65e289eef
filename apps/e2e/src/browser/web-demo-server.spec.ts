import { request } from 'node:http';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

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

  it('serves the bundled app and never a file outside its public folder', async () => {
    expect((await fetch(`${demo.url}/app.js`)).headers.get('content-type')).toMatch(
      /^text\/javascript/,
    );
    const status = await new Promise<number>((resolve, reject) => {
      // A raw request: fetch would normalise the dot segments away.
      const req = request(`${demo.url}/../../../package.json`, { method: 'GET' }, (res) =>
        resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
    expect((await fetch(`${demo.url}/nope.js`)).status).toBe(404);
  });

  it('refuses a non-URL service address at start, naming the variable', async () => {
    const bad = await startService('web-demo', { GATEWAY_URL: 'not a url' }, { ready: false });
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(bad.output()).toContain('GATEWAY_URL');
  });
});
