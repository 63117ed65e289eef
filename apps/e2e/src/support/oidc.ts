import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort } from './service-process';

/**
 * Drives a real oidc-provider process (support/oidc-provider.mjs): starts
 * it with keys of the test's own, and signs a user in through its
 * authorization-code flow over plain HTTP (the development login form, then
 * consent, then the token endpoint), so the ID token is exactly what a
 * browser would have been given.
 */
export interface OidcClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  id_token_signed_response_alg?: 'RS256' | 'ES256';
}

export const REDIRECT_URI = 'http://127.0.0.1:1/callback';

export async function signingJwk(kid: string, alg: 'RS256' | 'ES256' = 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

export class OidcProviderProcess {
  private child?: ChildProcess;
  private output = '';

  private constructor(
    readonly port: number,
    readonly clients: OidcClient[],
    private readonly emailDomain = 'idp.example',
  ) {}

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(options: {
    clients: OidcClient[];
    keys: Record<string, unknown>[];
    idTokenTtlSeconds?: number;
    emailDomain?: string;
  }): Promise<OidcProviderProcess> {
    const provider = new OidcProviderProcess(
      await freePort(),
      options.clients,
      options.emailDomain,
    );
    await provider.start(options.keys, options.idTokenTtlSeconds);
    return provider;
  }

  /** (Re)starts on the same port, e.g. with rotated keys. */
  async start(keys: Record<string, unknown>[], idTokenTtlSeconds = 600): Promise<void> {
    await this.stop();
    this.output = '';
    const child = spawn(process.execPath, [join(__dirname, 'oidc-provider.mjs')], {
      env: {
        PATH: process.env['PATH'],
        PORT: String(this.port),
        KEYS: JSON.stringify(keys),
        CLIENTS: JSON.stringify(
          this.clients.map((c) => ({
            ...c,
            grant_types: ['authorization_code'],
            response_types: ['code'],
          })),
        ),
        ID_TOKEN_TTL_SECONDS: String(idTokenTtlSeconds),
        EMAIL_DOMAIN: this.emailDomain,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!this.output.includes('listening')) {
      if (child.exitCode !== null) throw new Error(`oidc-provider exited:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`oidc-provider did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Signs `login` in for `client` and returns the ID token the token endpoint issued. */
  async idToken(login: string, client = this.clients[0]): Promise<string> {
    const jar = new Map<string, string>();
    const request = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string>),
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const cookie of res.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return res;
    };
    const follow = (res: Response) => {
      const location = res.headers.get('location');
      if (!location) throw new Error(`expected a redirect, got ${res.status}: ${this.output}`);
      return new URL(location, this.issuer).toString();
    };

    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = new URL('/auth', this.issuer);
    authorize.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      scope: 'openid email',
      redirect_uri: client.redirect_uris[0],
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
    }).toString();

    let next = follow(await request(authorize.toString()));
    // The login prompt, then the consent prompt, each a form posted back to the interaction.
    const forms: Record<string, string>[] = [
      { prompt: 'login', login, password: 'any' },
      { prompt: 'consent' },
    ];
    for (const form of forms) {
      if (!new URL(next).pathname.startsWith('/interaction/')) break;
      const submitted = await request(next, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      next = follow(await request(follow(submitted)));
    }
    const code = new URL(next).searchParams.get('code');
    if (!code) throw new Error(`no authorization code in ${next}`);
    const token = await fetch(new URL('/token', this.issuer), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirect_uris[0],
        code_verifier: verifier,
      }).toString(),
    });
    const body = (await token.json()) as { id_token?: string; error?: string };
    if (!body.id_token) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
    return body.id_token;
  }
}
