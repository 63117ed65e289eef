/**
 * Cloud Run service-to-service authentication. When AUTH_SERVICE_AUDIENCE is
 * set, every call to auth-service carries a Google-signed ID token for that
 * audience in `X-Serverless-Authorization`: Cloud Run checks it against the
 * `roles/run.invoker` binding of the internal auth-service, and it leaves
 * the application's own `Authorization` (our EXCHANGE_CLIENT_KEY)
 * alone. Tokens come from the metadata server (GCE_METADATA_HOST, the name
 * Google's client libraries read), are cached, and are renewed five minutes
 * before they expire; concurrent callers share one fetch. A token is a
 * credential: it is never logged.
 */
const RENEW_BEFORE_MS = 5 * 60_000;

export class IdTokenSource {
  private cached?: { token: string; renewAt: number };
  private inFlight?: Promise<string>;

  constructor(
    private readonly audience: string,
    private readonly metadataHost: string,
    private readonly timeoutMs: number,
  ) {}

  /** The header to add to a request to auth-service. Throws when no token can be had. */
  async header(): Promise<Record<string, string>> {
    return { 'x-serverless-authorization': `Bearer ${await this.token()}` };
  }

  private async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.inFlight ??= this.fetchToken().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchToken(): Promise<string> {
    const url =
      `http://${this.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity` +
      `?audience=${encodeURIComponent(this.audience)}&format=full`;
    const res = await fetch(url, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const token = (await res.text()).trim();
    if (res.status !== 200)
      throw new Error(`metadata server answered ${res.status} for an ID token`);
    const expiresAt = expiryOf(token);
    if (expiresAt === undefined) throw new Error('metadata server answered a token without exp');
    this.cached = { token, renewAt: Math.max(expiresAt - RENEW_BEFORE_MS, Date.now() + 30_000) };
    return token;
  }
}

function expiryOf(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
