// A real OpenID provider for the e2e tests: panva's oidc-provider (the
// certified Node implementation) run as its own process with the keys the
// test gives it. Accounts are whatever login name is typed into its
// development login form: `<name>` gets `<name>@<EMAIL_DOMAIN>` with
// email_verified true, `unverified-<name>` the same email unverified.
//
//   PORT      the port to listen on (the issuer is http://127.0.0.1:PORT)
//   KEYS      JSON array of private JWKs; the first of each alg signs
//   CLIENTS   JSON array of client metadata
//   ID_TOKEN_TTL_SECONDS  ID token lifetime (default 600)
//   EMAIL_DOMAIN          the accounts' email domain (default idp.example)
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const domain = process.env.EMAIL_DOMAIN ?? 'idp.example';

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.CLIENTS ?? '[]'),
  jwks: { keys: JSON.parse(process.env.KEYS ?? '[]') },
  cookies: { keys: ['e2e-oidc-provider-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // Put the email in the ID token itself, as Google, Entra ID and Auth0 do.
  conformIdTokenClaims: false,
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL_SECONDS ?? 600) },
  async findAccount(_ctx, id) {
    const unverified = id.startsWith('unverified-');
    const name = unverified ? id.slice('unverified-'.length) : id;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${name}@${domain}`, email_verified: !unverified };
      },
    };
  },
});
provider.on('server_error', (_ctx, error) => process.stderr.write(`server_error ${error}\n`));

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`oidc-provider listening on ${issuer}\n`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
