// A real OpenID Connect provider for the SSO tests: node's oidc-provider (OpenID-certified)
// with one static client, its built-in login page (devInteractions: any password signs in
// as the account named) and test accounts with email_verified and a groups claim.
//
//   PORT=18700 node provider.mjs
//
// Prints "ready <issuer>" on stdout once it listens. The client accepts any
// http://127.0.0.1:<port>/auth/oidc/callback (the app under test runs on a free port).
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18700);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example',
    preferred_username: 'alice', groups: ['engineering', 'unknown-group'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob Example',
    preferred_username: 'bob', groups: [] },
  carol: { email: 'carol@example.com', email_verified: true, name: 'Carol Example',
    preferred_username: 'carol', groups: ['sales'] },
};

const configuration = {
  clients: [{
    client_id: process.env.CLIENT_ID || 'studio',
    client_secret: process.env.CLIENT_SECRET || 'studio-test-secret',
    redirect_uris: ['http://127.0.0.1/auth/oidc/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'groups'],
  },
  // Scope claims go into the id token too (as Keycloak and Entra ID can be set up to do).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { methods: ['S256'], required: () => true },
  // slowpoke's codes expire after a second, so a test can present an expired one.
  ttl: {
    AuthorizationCode: (ctx, code) => (code.accountId === 'slowpoke' ? 1 : 60),
  },
  cookies: { keys: ['studio-test-cookie-key-0123456789'] },
  async findAccount(ctx, id) {
    const known = accounts[id] || { email: `${id}@example.com`, email_verified: false,
      preferred_username: id, groups: [] };
    return {
      accountId: id,
      async claims() { return { sub: `sub-${id}`, ...known }; },
    };
  },
};

const provider = new Provider(issuer, configuration);
const allowed = /^http:\/\/127\.0\.0\.1:\d+\/auth\/oidc\/callback$/;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(uri) {
  return allowed.test(uri);
};
// A man in the middle: mallory's id token leaves the token endpoint claiming to be alice,
// with the provider's signature left as it was (the app must refuse it).
provider.use(async (ctx, next) => {
  await next();
  const idToken = ctx.path === '/token' && ctx.body && ctx.body.id_token;
  if (!idToken) return;
  const [header, payload, signature] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (claims.sub !== 'sub-mallory') return;
  claims.sub = 'sub-alice';
  const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
  ctx.body = { ...ctx.body, id_token: `${header}.${forged}.${signature}` };
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
