import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startMemoryStack } from '../support/client-stack';
import { OidcClient, OidcProviderProcess, signingJwk } from '../support/oidc';
import {
  freePort,
  ServiceProcess,
  startService,
  stopAllServices,
  workspaceRoot,
} from '../support/service-process';
import { launchChromium, withScreenshots } from './browser';

/**
 * The demo's "Sign in with <provider>" in real Chromium: the page leaves
 * for a real oidc-provider process (authorization code + PKCE as a public
 * client), the user signs in on the provider's own pages, the page redeems
 * the code and hands the ID token to the SDK (getProviderToken), which
 * exchanges it with the real auth-service and chats through the real
 * gateway, all under the demo's strict CSP.
 */
describe('web demo: sign in through an OpenID provider in a real browser', () => {
  let idp: OidcProviderProcess;
  let browser: Browser;
  let context: BrowserContext;
  let demoUrl: string;
  let demoServer: ServiceProcess;
  const pages: Page[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    const demoPort = await freePort();
    demoUrl = `http://localhost:${demoPort}`;
    // A public client: no secret (the page cannot keep one), PKCE, redirect to the demo page.
    const demoClient = {
      client_id: 'admitone-demo',
      token_endpoint_auth_method: 'none',
      redirect_uris: [`${demoUrl}/`],
    } as unknown as OidcClient;
    idp = await OidcProviderProcess.start({
      clients: [demoClient],
      keys: [await signingJwk('demo-1')],
    });
    const stack = await startMemoryStack({
      auth: {
        ALLOWED_ORIGINS: demoUrl,
        OIDC_ISSUERS: JSON.stringify([
          { issuer: idp.issuer, audiences: ['admitone-demo'], algorithms: ['RS256'] },
        ]),
      },
      gateway: { ALLOWED_ORIGINS: demoUrl, AGENT_STEP_DELAY_MS: '100' },
    });
    demoServer = await startService('web-demo', {
      PORT: String(demoPort),
      AUTH_URL: stack.authUrl.replace('127.0.0.1', 'localhost'),
      GATEWAY_URL: stack.gatewayUrl.replace('127.0.0.1', 'localhost'),
      DEMO_OIDC_ISSUER: idp.issuer,
      DEMO_OIDC_CLIENT_ID: 'admitone-demo',
      DEMO_OIDC_NAME: 'Test IdP',
    });
    browser = await launchChromium();
  }, 120_000);

  beforeEach(async () => {
    context = await browser.newContext();
    pages.length = 0;
    cspViolations.length = 0;
  });
  afterEach(() => context.close());
  afterAll(async () => {
    await browser?.close();
    await stopAllServices();
    await idp?.stop();
  });

  async function openDemo(): Promise<Page> {
    const page = await context.newPage();
    pages.push(page);
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(demoUrl);
    return page;
  }

  /** On the provider's own pages: its login form, then its consent form. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL((url) => url.origin === new URL(idp.issuer).origin, {
      timeout: 15_000,
    });
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    // The consent page (the first sign-in of this user for this client) replaces the login form.
    await page.waitForSelector('input[name="login"]', { state: 'detached', timeout: 15_000 });
    await page.waitForSelector('form button[type="submit"]', { timeout: 15_000 });
    await page.click('form button[type="submit"]');
  }

  it('signs in with the provider, chats, and shows the five events', async () => {
    await withScreenshots(
      'demo-oidc-chat',
      () => pages,
      async () => {
        const page = await openDemo();
        await page.waitForSelector('#oidc-button:visible');
        expect(await page.textContent('#oidc-button')).toBe('Sign in with Test IdP');
        await page.click('#oidc-button');
        await signInAtProvider(page, 'grace');

        await page.waitForSelector('#connection[data-state="open"]', { timeout: 20_000 });
        // Back on the demo, with code and state gone from the address bar.
        expect(page.url()).toBe(`${demoUrl}/`);
        expect(await page.textContent('#who')).toBe('Signed in with Test IdP as grace@idp.example');
        expect(await page.textContent('#state-text')).toBe('connected (agent.v1)');

        await page.click('#send-button');
        await page.waitForSelector('#timeline li[data-type="agent_completed"]', {
          timeout: 20_000,
        });
        const types = await page.$$eval('#timeline li', (items) =>
          items.map((li) => (li as HTMLElement).dataset['type']),
        );
        expect(types).toEqual([
          'agent_started',
          'agent_thinking',
          'tool_executing',
          'tool_completed',
          'agent_completed',
        ]);
        expect(await page.textContent('#answer')).toContain('42');
        expect(cspViolations).toEqual([]);
      },
    );
  }, 90_000);

  it('refuses a sign-in that did not start on this page (state mismatch)', async () => {
    await withScreenshots(
      'demo-oidc-state',
      () => pages,
      async () => {
        const page = await openDemo();
        await page.goto(`${demoUrl}/?code=forged-code&state=forged-state`);
        await page.waitForSelector('#login-error:has-text("state mismatch")', { timeout: 15_000 });
        expect(await page.isVisible('#chat-view')).toBe(false);
        expect(page.url()).toBe(`${demoUrl}/`);
      },
    );
  }, 60_000);

  it("tells the page about the provider and lets its CSP reach the provider's origin, no other", async () => {
    const config = await (await fetch(`${demoServer.url}/config.json`)).json();
    expect(config).toMatchObject({
      oidc: { issuer: idp.issuer, clientId: 'admitone-demo', name: 'Test IdP' },
    });
    const csp = (await fetch(`${demoServer.url}/`)).headers.get('content-security-policy') ?? '';
    const connectSrc = /connect-src ([^;]*)/.exec(csp)?.[1].split(' ') ?? [];
    expect(connectSrc).toContain(new URL(idp.issuer).origin);
    expect(connectSrc).toHaveLength(4); // 'self', auth-service, the gateway, the provider
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("script-src 'self'");
  });

  it('refuses to start with a provider but no client id, naming the variable', () => {
    const run = spawnSync(process.execPath, [join(workspaceRoot, 'dist/apps/web-demo/main.js')], {
      env: {
        PATH: process.env['PATH'],
        PORT: '0',
        DEMO_OIDC_ISSUER: 'http://127.0.0.1:1',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(`${run.stdout}${run.stderr}`).toContain('DEMO_OIDC_CLIENT_ID');
    expect(`${run.stdout}${run.stderr}`).not.toContain('web-demo listening');
  });
});
