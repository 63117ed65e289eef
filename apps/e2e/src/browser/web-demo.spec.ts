import { connectTestRedis, TestRedis } from '@admitone/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { exchangeKey, signingKey } from '../support/auth-client';
import {
  freePort,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';
import { launchChromium, withScreenshots } from './browser';

interface TicketPage {
  issueTicket(): Promise<string>;
}

/**
 * The demo page in real Chromium against the real services (Redis, an
 * agent worker): what a frontend team's users would do with it.
 */
describe('web demo in a real browser', () => {
  let redis: TestRedis;
  let browser: Browser;
  let gateway: ServiceProcess;
  let gatewayEnv: Record<string, string>;
  let demoUrl: string;
  let context: BrowserContext;
  const pages: Page[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    const demoPort = await freePort();
    demoUrl = `http://localhost:${demoPort}`;
    const key = exchangeKey();
    const shared = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, ALLOWED_ORIGINS: demoUrl };
    const auth = await startService('auth-service', {
      ...shared,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('browser')]),
      SEED_USERS: 'ada@example.com:ada-password',
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    });
    gatewayEnv = {
      ...shared,
      AUTH_SERVICE_URL: auth.url,
      EXCHANGE_CLIENT_KEY: key,
      UPGRADE_RATE_LIMIT: '1000/60s',
      DRAIN_SECONDS: '0',
      PORT: String(await freePort()),
    };
    [gateway] = await Promise.all([
      startService('ws-gateway', gatewayEnv),
      startService('agent-worker', {
        ...shared,
        AGENT_STEP_DELAY_MS: '600',
        CLAIM_IDLE_MS: '2000',
      }),
      startService('web-demo', {
        PORT: String(demoPort),
        AUTH_URL: `http://localhost:${auth.port}`,
        GATEWAY_URL: `ws://localhost:${gatewayEnv['PORT']}/ws`,
      }),
    ]);
    browser = await launchChromium();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    // What the page itself would do to get a ticket, for tests that open raw WebSockets.
    await context.addInitScript(() => {
      (window as unknown as TicketPage).issueTicket = async () => {
        const session = JSON.parse(localStorage.getItem('admitone.session') ?? '{}') as {
          tokens: { access_token: string };
        };
        const config = (await (await fetch('/config.json')).json()) as { authUrl: string };
        const res = await fetch(`${config.authUrl}/websocket/ticket`, {
          method: 'POST',
          headers: { authorization: `Bearer ${session.tokens.access_token}` },
        });
        return ((await res.json()) as { ticket: string }).ticket;
      };
    });
    pages.length = 0;
  });
  afterEach(() => context.close());
  afterAll(async () => {
    await browser?.close();
    await stopAllServices();
    await redis?.cleanup();
  });

  async function openPage(path = '/'): Promise<Page> {
    const page = await context.newPage();
    pages.push(page);
    await page.goto(`${demoUrl}${path}`);
    return page;
  }

  async function logIn(page: Page): Promise<void> {
    await page.fill('#email', 'ada@example.com');
    await page.fill('#password', 'ada-password');
    await page.click('#login-button');
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 15_000 });
  }

  const eventIds = (page: Page) =>
    page.$$eval('#timeline li', (items) =>
      items.map((li) => Number((li as HTMLElement).dataset['eventId'])),
    );
  const eventTypes = (page: Page) =>
    page.$$eval('#timeline li', (items) => items.map((li) => (li as HTMLElement).dataset['type']));

  it('logs in, chats, and shows the five events and the answer', async () => {
    await withScreenshots(
      'demo-chat',
      () => pages,
      async () => {
        const page = await openPage();
        await logIn(page);
        expect(await page.textContent('#state-text')).toBe('connected (agent.v1)');
        await page.fill('#chat-input', 'What is 6 * 7?');
        await page.click('#send-button');
        await page.waitForSelector('#timeline li[data-type="agent_completed"]', {
          timeout: 20_000,
        });
        expect(await eventTypes(page)).toEqual([
          'agent_started',
          'agent_thinking',
          'tool_executing',
          'tool_completed',
          'agent_completed',
        ]);
        expect(await eventIds(page)).toEqual([1, 2, 3, 4, 5]);
        expect(await page.textContent('#answer')).toBe('6 * 7 = 42');
      },
    );
  });

  it('connects with either ticket carrier and negotiates agent.v1', async () => {
    await withScreenshots(
      'demo-carriers',
      () => pages,
      async () => {
        const page = await openPage('/?carrier=query');
        await logIn(page);
        expect(
          await page.evaluate(
            () =>
              (window as unknown as { admitone: { client: { protocol?: string } } }).admitone.client
                .protocol,
          ),
        ).toBe('agent.v1');

        // The browser's own WebSocket, offering agent.v1 with the ticket as a second subprotocol.
        const negotiated = await page.evaluate(async (gatewayUrl) => {
          const ticket = await (window as unknown as TicketPage).issueTicket();
          return new Promise<{ protocol: string; first: string }>((resolve, reject) => {
            const ws = new WebSocket(gatewayUrl, ['agent.v1', `ticket.${ticket}`]);
            ws.onmessage = (m) => {
              resolve({ protocol: ws.protocol, first: JSON.parse(String(m.data)).type });
              ws.close(1000);
            };
            ws.onerror = () => reject(new Error('did not open'));
          });
        }, `ws://localhost:${gatewayEnv['PORT']}/ws`);
        expect(negotiated).toEqual({ protocol: 'agent.v1', first: 'connection_established' });
      },
    );
  });

  it('refuses a reused ticket: the second socket never opens', async () => {
    await withScreenshots(
      'demo-reused-ticket',
      () => pages,
      async () => {
        const page = await openPage();
        await logIn(page);
        const outcome = await page.evaluate(async (gatewayUrl) => {
          const ticket = await (window as unknown as TicketPage).issueTicket();
          const attempt = () =>
            new Promise<string>((resolve) => {
              const ws = new WebSocket(`${gatewayUrl}?ticket=${ticket}`, ['agent.v1']);
              ws.onopen = () => resolve('open');
              ws.onclose = (e) => resolve(`closed ${e.code}`);
            });
          const first = await attempt();
          const second = await attempt();
          return { first, second };
        }, `ws://localhost:${gatewayEnv['PORT']}/ws`);
        expect(outcome).toEqual({ first: 'open', second: 'closed 1006' });
      },
    );
  });

  it('reconnects and resumes when the gateway restarts mid-run, with no lost or repeated event', async () => {
    await withScreenshots(
      'demo-gateway-restart',
      () => pages,
      async () => {
        const page = await openPage();
        await logIn(page);
        const states: string[] = [];
        await page.exposeFunction('recordState', (s: string) => states.push(s));
        await page.evaluate(() => {
          const w = window as unknown as {
            admitone: { client: { on(e: string, f: (c: { state: string }) => void): void } };
            recordState(s: string): void;
          };
          w.admitone.client.on('state', (c) => w.recordState(c.state));
        });
        await page.fill('#chat-input', 'What is 6 * 7?');
        await page.click('#send-button');
        await page.waitForSelector('#timeline li[data-type="agent_thinking"]', { timeout: 20_000 });

        await gateway.stop('SIGTERM');
        gateway = await startService('ws-gateway', gatewayEnv);

        await page.waitForSelector('#timeline li[data-type="agent_completed"]', {
          timeout: 30_000,
        });
        expect(await eventIds(page)).toEqual([1, 2, 3, 4, 5]);
        expect(await page.textContent('#answer')).toBe('6 * 7 = 42');
        expect(states).toContain('reconnecting');
        expect(states[states.length - 1]).toBe('open');
      },
    );
  });

  it('closes every tab of the session when one tab logs out, and says why', async () => {
    await withScreenshots(
      'demo-logout-other-tab',
      () => pages,
      async () => {
        const first = await openPage();
        await logIn(first);
        const second = await openPage();
        await second.waitForSelector('#connection[data-state="open"]', { timeout: 15_000 });

        await first.click('#logout-button');
        await second.waitForSelector('#login-view:not([hidden])', { timeout: 10_000 });
        expect(await second.textContent('#login-error')).toMatch(/revoked/i);
        expect(await second.getAttribute('#connection', 'data-state')).toBe('closed');
        expect(await second.getAttribute('#connection', 'data-reason')).toBe('session_revoked');
        expect(await first.textContent('#login-error')).toBe('You are logged out.');
      },
    );
  });
});
