import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { workspaceRoot } from '../support/service-process';
import { launchChromium, withScreenshots } from './browser';

/**
 * The published @admitone/client bundle (index.mjs, built by the package's
 * own build script) loaded in real Chromium, as an app would load it: an
 * ES module whose one external import, zod, an import map resolves. The demo
 * bundles the SDK from source, so without this the published file would
 * never run in a browser. (libs/client/src/bundle.spec.ts checks in Node
 * that it imports nothing Node-only.)
 */
const outdir = join(workspaceRoot, 'tmp', `client-bundle-browser-${process.pid}`);
const zodDir = join(workspaceRoot, 'node_modules/zod');

const PAGE = `<!doctype html>
<html><head>
<script type="importmap">{"imports":{"zod":"/zod/index.js"}}</script>
<script type="module">
  import * as sdk from '/client/index.mjs';
  const client = new sdk.AgentClient({
    authUrl: location.origin,
    gatewayUrl: location.origin.replace(/^http/, 'ws') + '/ws',
    getAccessToken: () => 'token',
  });
  window.result = {
    exports: Object.keys(sdk).sort(),
    state: client.state,
    closeDecision: sdk.decideOnClose(4403).kind,
    webLocks: sdk.webLocks() === navigator.locks,
  };
</script>
</head><body></body></html>`;

function serveFrom(root: string, path: string): string | null {
  const file = normalize(join(root, path));
  return file.startsWith(root + sep) ? file : null;
}

describe('the published client bundle in real Chromium', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let page: Page | undefined;

  beforeAll(async () => {
    execFileSync(
      process.execPath,
      [join(workspaceRoot, 'libs/client/build-package.mjs'), '--outdir', outdir, '--js-only'],
      { cwd: workspaceRoot, stdio: 'pipe' },
    );
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const file = path.startsWith('/client/')
        ? serveFrom(outdir, path.slice('/client/'.length))
        : path.startsWith('/zod/')
          ? serveFrom(zodDir, path.slice('/zod/'.length))
          : null;
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://localhost:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await rm(outdir, { recursive: true, force: true });
  });

  it('loads as an ES module, constructs a client and finds the browser’s Web Locks', async () => {
    await withScreenshots(
      'client-bundle',
      () => (page ? [page] : []),
      async () => {
        page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(url);
        await page.waitForFunction(() => 'result' in window, undefined, { timeout: 30_000 });
        const result = await page.evaluate(() => (window as unknown as { result: unknown }).result);
        expect(errors).toEqual([]);
        expect(result).toEqual({
          exports: expect.arrayContaining([
            'AgentClient',
            'AgentClientError',
            'createSharedRefresh',
            'decideOnClose',
            'webLocks',
          ]),
          state: 'idle',
          closeDecision: 'login',
          webLocks: true,
        });
      },
    );
  });
});
