// A local OpenID provider for the demo (`npm start -- --with-oidc`): panva's
// oidc-provider (a devDependency; plain `npm start` never loads it) with a
// signing key generated at start and one public client, the demo page
// (authorization code + PKCE, no secret). Its development login form takes
// any login name: `<name>` signs in as `<name>@idp.example`, email verified.
// Development only: in-memory state, a cookie key that is not secret.
//
//   PORT          the port to listen on (the issuer is http://127.0.0.1:PORT)
//   CLIENT_ID     the demo's client id
//   REDIRECT_URI  the demo page (http://localhost:4200/)
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: {
    keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'demo-1', alg: 'RS256', use: 'sig' }],
  },
  cookies: { keys: ['admitone-demo-oidc-provider-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The email in the ID token itself, as Google, Entra ID and Auth0 put it.
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@idp.example`, email_verified: true };
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
process.on('SIGINT', () => server.close(() => process.exit(0)));
