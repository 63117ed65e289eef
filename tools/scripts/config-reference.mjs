// Generates docs/configuration.md, the operator's configuration reference,
// from the three configuration schemas, so the reference cannot drift from
// what the services actually read:
//
//   node tools/scripts/config-reference.mjs           write docs/configuration.md
//   node tools/scripts/config-reference.mjs --check   exit 1 when it is stale
//   node tools/scripts/config-reference.mjs --stdout  print the document
//   node tools/scripts/config-reference.mjs --json    print the extracted model (used by
//                                                     tools/deploy-checks to cross-check
//                                                     Dockerfiles and manifests)
//
// The schemas are read as TEXT, not imported: they are TypeScript inside
// apps, and the deploy checks may not import app code (module boundaries).
// Each schema is a `z.object({ NAME: <zod expression>, ... })` with one
// variable per entry; a small scanner splits the object at its top-level
// commas (skipping strings, template literals, regex literals and comments)
// and resolves each default through `.default(...)`, the file's own helpers
// (`int(5, 0, 120)`), the shared helpers of libs/service-runtime
// (`portSchema(8081)`, `rateLimitSchema('20/60s')`, `LogLevelSchema`) and
// exported constants of the libs (`DEFAULT_TICKET_TTL_SECONDS`). Production
// rules come from the schema's `path: ['NAME'], message: '...'` refinements.
// Descriptions come from the schema's JSDoc comments or, failing that, from
// DESCRIPTIONS below; a variable with neither stops the script, so a new
// variable cannot land undocumented.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const OUTPUT = 'docs/configuration.md';

export const SERVICES = [
  {
    name: 'auth-service',
    file: 'apps/auth-service/src/config/auth-config.ts',
    schema: 'AuthConfigSchema',
  },
  {
    name: 'ws-gateway',
    file: 'apps/ws-gateway/src/config/gateway-config.ts',
    schema: 'GatewayConfigSchema',
  },
  {
    name: 'agent-worker',
    file: 'apps/agent-worker/src/worker-config.ts',
    schema: 'WorkerConfigSchema',
  },
];

/** Where the shared schema helpers and the libs' exported constants live. */
const SHARED_CONFIG_SOURCE = 'libs/service-runtime/src/lib/config/env.ts';
const CONSTANT_ROOTS = ['libs'];

/** For variables whose schema entry has no JSDoc comment. */
const DESCRIPTIONS = {
  shared: {
    NODE_ENV:
      '`development`, `test` or `production`. Production refuses insecure settings (see the production column).',
    PORT: 'TCP port of the HTTP server (health, metrics and, for the services, the API).',
    HOST: 'Address to bind; `0.0.0.0` in containers.',
    LOG_LEVEL:
      'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Logs are JSON lines on stdout.',
    REDIS_URL:
      '`redis://` or `rediss://` URL, with the password if Redis has one. Unset: in-memory stores, one instance only.',
    REDIS_PREFIX:
      'Prepended to every Redis key and pub/sub channel; every service of one deployment must use the same prefix.',
    ALLOWED_ORIGINS:
      'Comma list of browser origins (`https://app.example.com`) allowed to call the API or open a WebSocket; `*` allows any (refused in production).',
    AGENT_STEP_DELAY_MS: 'Pacing between the reference agent’s events (demo only).',
    RUN_RETENTION_SECONDS: 'How long a run’s events are kept in Redis for `resume`.',
  },
  'auth-service': {
    TRUST_PROXY:
      'Express `trust proxy`: `false`, `true` or the number of proxy hops (Ingress, Google front end) whose `X-Forwarded-For` is trusted for client addresses (login rate limits, audit lines).',
    TICKET_TTL_SECONDS: 'Lifetime of a WebSocket ticket (contract: 30 s).',
    ACCESS_TOKEN_TTL_SECONDS:
      'Lifetime of an access token, and so of a WebSocket’s authentication before `reauth`. Also the wait between the two steps of a signing-key rotation.',
    REFRESH_TOKEN_TTL_SECONDS: 'Lifetime of a refresh token (rotated on every use).',
    EXCHANGE_CLIENT_KEYS:
      'Comma list of service credentials accepted on `POST /internal/tickets/exchange`; more than one during a rotation. Secret.',
    JWT_SIGNING_KEYS:
      'JSON array of private ES256 JWKs, each with a `kid`; the first signs, all verify and are published in the JWKS. Secret. Unset in development: a key is generated per process.',
    JWT_SIGNING_KEYS_FILE:
      'Path of a file holding the same JSON array (a mounted Secret); used when `JWT_SIGNING_KEYS` is unset. Read once at start.',
    JWT_ISSUER: '`iss` of access tokens.',
    JWT_AUDIENCE: '`aud` of access tokens.',
    SEED_USERS:
      '`email:password[:role|role],...` created at start, for development and tests. Production: add users with the users CLI.',
    LOGIN_RATE_LIMIT: 'Logins per account and per client address, `COUNT/SECONDSs`.',
    TICKET_RATE_LIMIT: 'Tickets per user, `COUNT/SECONDSs`.',
  },
  'ws-gateway': {
    AUTH_SERVICE_URL:
      'Base URL of auth-service as the gateway reaches it (the ticket exchange and session re-checks).',
    EXCHANGE_CLIENT_KEY:
      'The service credential this gateway presents to auth-service; must be one of auth-service’s `EXCHANGE_CLIENT_KEYS`. Secret.',
    EXCHANGE_TIMEOUT_MS: 'Hard timeout of one call to auth-service.',
    WS_PATH: 'Path of the WebSocket endpoint.',
    UPGRADE_RATE_LIMIT: 'Upgrade attempts per client address, `COUNT/SECONDSs`.',
    MESSAGE_RATE_LIMIT: 'Inbound messages per connection, `COUNT/SECONDSs`.',
    MAX_CONNECTIONS_PER_USER: 'Open sockets per user on one replica; more are refused with 429.',
    HEARTBEAT_INTERVAL_MS: 'WebSocket ping interval; a peer that misses a pong is dropped.',
    AUTH_EXPIRING_LEAD_SECONDS:
      'How long before `auth_expires_at` the `auth_expiring` event is sent.',
    SESSION_RECHECK_INTERVAL_MS:
      'Slow path of revocation: how often live sessions are re-checked with auth-service (the fast path is Redis pub/sub).',
    DRAIN_SECONDS:
      'On SIGTERM, live sockets are closed with 1012 spread over this many seconds; the process needs DRAIN_SECONDS + 2 s, which must fit the platform’s grace period.',
  },
  'agent-worker': {
    WORKER_NAME: 'Consumer name in the Redis consumer group; unique per replica (the pod name).',
    WORKER_CONCURRENCY: 'Runs handled at once by one replica.',
    CLAIM_IDLE_MS:
      'A request pending this long with a consumer that stopped is claimed by another replica.',
  },
};

// ---------------------------------------------------------------- scanning

/**
 * Index just past the bracket that closes the one at `open`, skipping
 * strings, template literals, regex literals and comments.
 */
function matchBracket(text, open) {
  const pairs = { '(': ')', '[': ']', '{': '}' };
  const stack = [pairs[text[open]]];
  let i = open + 1;
  let lastSignificant = text[open];
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      i = text.indexOf('\n', i);
      if (i === -1) return text.length;
      continue;
    }
    if (c === '/' && next === '*') {
      i = text.indexOf('*/', i + 2) + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      i = skipString(text, i, c);
      lastSignificant = c;
      continue;
    }
    if (c === '`') {
      i = skipTemplate(text, i);
      lastSignificant = c;
      continue;
    }
    if (c === '/' && '(,=:[!&|?{};'.includes(lastSignificant)) {
      i = skipRegex(text, i);
      lastSignificant = '/';
      continue;
    }
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) throw new Error(`unbalanced "${c}" at ${i}`);
      if (stack.length === 0) return i + 1;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  throw new Error('unterminated bracket');
}

function skipString(text, i, quote) {
  i++;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function skipTemplate(text, i) {
  i++;
  while (i < text.length && text[i] !== '`') {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '$' && text[i + 1] === '{') i = matchBracket(text, i + 1);
    else i++;
  }
  return i + 1;
}

function skipRegex(text, i) {
  i++;
  let inClass = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '/' && !inClass) break;
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    i++;
  }
  i++;
  while (/[a-z]/.test(text[i] ?? '')) i++;
  return i;
}

/** Splits `text` at commas that are not inside brackets, strings or comments. */
function splitTopLevel(text) {
  const parts = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && next === '*') i = text.indexOf('*/', i + 2) + 2;
    else if (c === "'" || c === '"') i = skipString(text, i, c);
    else if (c === '`') i = skipTemplate(text, i);
    else if (c === '(' || c === '[' || c === '{') i = matchBracket(text, i);
    else if (c === ',') {
      parts.push(text.slice(start, i));
      start = ++i;
    } else i++;
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim());
}

/** The text between the brackets of the call whose `(` is at `open`. */
function callArguments(text, open) {
  return splitTopLevel(text.slice(open + 1, matchBracket(text, open) - 1)).map((a) => a.trim());
}

// ------------------------------------------------------------ definitions

/** `const NAME = <expression>;` declarations of a source file, by name. */
function declarations(text) {
  const found = new Map();
  const re = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)(?:\s*:\s*[^=]+)?\s*=\s*/gm;
  for (const m of text.matchAll(re)) {
    // The expression runs to the first top-level `;`.
    const rest = text.slice(m.index + m[0].length);
    let i = 0;
    while (i < rest.length && rest[i] !== ';') {
      const c = rest[i];
      if (c === "'" || c === '"') i = skipString(rest, i, c);
      else if (c === '`') i = skipTemplate(rest, i);
      else if (c === '(' || c === '[' || c === '{') i = matchBracket(rest, i);
      else if (c === '/' && rest[i + 1] === '/') i = rest.indexOf('\n', i);
      else if (c === '/' && rest[i + 1] === '*') i = rest.indexOf('*/', i) + 2;
      else i++;
    }
    found.set(m[1], rest.slice(0, i).trim());
  }
  return found;
}

function listTs(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...listTs(path));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      out.push(path);
  }
  return out;
}

/**
 * The declarations a service's config file imports from its own app
 * (`import { OidcIssuersSchema } from '../federation/oidc-issuers'`), by the
 * imported name: a schema kept beside its feature is read like a local one.
 */
function relativeImports(root, file, text) {
  const found = new Map();
  for (const m of text.matchAll(/^import\s*\{([^}]*)\}\s*from\s*'(\.{1,2}\/[^']+)';/gm)) {
    const source = join(root, dirname(file), `${m[2]}.ts`);
    if (!existsSync(source)) continue;
    const defs = declarations(readFileSync(source, 'utf8'));
    for (const name of m[1]
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean))
      if (defs.has(name)) found.set(name, defs.get(name));
  }
  return found;
}

let libConstants;
/**
 * Exported constants of the libs (`export const DEFAULT_WS_PATH = '/ws';`),
 * one line each: enough for defaults, and immune to whatever else the libs hold.
 */
function constantsOfLibs(root) {
  if (libConstants) return libConstants;
  libConstants = new Map();
  for (const dir of CONSTANT_ROOTS)
    for (const file of listTs(join(root, dir)))
      for (const m of readFileSync(file, 'utf8').matchAll(
        /^export const ([A-Z][A-Z0-9_]*)\s*=\s*([^;\n]+);/gm,
      ))
        if (!libConstants.has(m[1])) libConstants.set(m[1], m[2].trim());
  return libConstants;
}

// -------------------------------------------------------------- resolving

/**
 * A literal expression's value: a string, a number (arithmetic allowed),
 * a template literal (shown as written) or a constant. Returns undefined
 * when it is none of those.
 */
function literalValue(expr, scope) {
  expr = expr.trim().replace(/\s+as\s+const$/, '');
  if (/^'(?:[^'\\]|\\.)*'$/.test(expr) || /^"(?:[^"\\]|\\.)*"$/.test(expr))
    return { value: expr.slice(1, -1) };
  if (/^`[^`]*`$/.test(expr))
    return { value: expr.slice(1, -1).replace(/\$\{([^}]*)\}/g, (_, e) => `<${templateName(e)}>`) };
  if (/^[\d_\s*+()-]+$/.test(expr) && /\d/.test(expr))
    return { value: Number(Function(`"use strict"; return (${expr.replace(/_/g, '')});`)()) };
  if (/^[A-Z][A-Z0-9_]*$/.test(expr)) {
    if (/DEVELOPMENT|^DEV_/.test(expr))
      return { value: undefined, display: `development-only key (\`${expr}\`)` };
    const def = scope.lookup(expr);
    if (def !== undefined) return literalValue(def, scope);
  }
  return undefined;
}

function templateName(expr) {
  const e = expr.trim();
  if (e === 'hostname()') return 'hostname';
  if (e === 'process.pid') return 'pid';
  return e;
}

/** Top-level method calls of a chain like `z.string().min(1).default('x')`. */
function chainCalls(expr) {
  const calls = [];
  const re = /\.([A-Za-z_$][\w$]*)\s*\(/g;
  let m;
  while ((m = re.exec(expr))) {
    const open = m.index + m[0].length - 1;
    const close = matchBracket(expr, open);
    calls.push({ name: m[1], args: callArguments(expr, open) });
    re.lastIndex = close;
  }
  return calls;
}

/**
 * What a schema expression says about its variable: its default, whether it
 * may be absent, and the expression it came from.
 */
function describeExpression(expr, scope, depth = 0) {
  if (depth > 5) throw new Error(`cannot resolve ${expr}`);
  expr = expr.trim();
  const calls = chainCalls(expr);
  const defaultCall = [...calls].reverse().find((c) => c.name === 'default');
  if (defaultCall) {
    const lit = literalValue(defaultCall.args[0], scope);
    return {
      hasDefault: true,
      optional: false,
      default: lit ? (lit.display ?? lit.value) : defaultCall.args[0],
    };
  }
  const optional = calls.some((c) => c.name === 'optional');
  // A shared schema constant: `LogLevelSchema`, maybe followed by a chain.
  const head = /^([A-Za-z_$][\w$]*)(\s*\()?/.exec(expr);
  if (head && !['z'].includes(head[1])) {
    const def = scope.lookup(head[1]);
    if (def !== undefined && !head[2]) {
      const inner = describeExpression(def, scope, depth + 1);
      return { ...inner, optional: inner.optional || optional };
    }
    if (def !== undefined && head[2]) {
      // A helper: `(a, b) => <body>`; its default is one of its arguments or a literal.
      const fn = /^\(([^)]*)\)\s*(?::[^=]+)?=>\s*([\s\S]*)$/.exec(def);
      if (fn) {
        const params = splitTopLevel(fn[1]).map((p) => p.split(':')[0].trim());
        const args = callArguments(expr, expr.indexOf('('));
        const inner = chainCalls(fn[2])
          .reverse()
          .find((c) => c.name === 'default');
        if (inner) {
          const index = params.indexOf(inner.args[0]);
          const arg = index >= 0 ? args[index] : inner.args[0];
          const lit = literalValue(arg, scope);
          return {
            hasDefault: true,
            optional: false,
            default: lit ? (lit.display ?? lit.value) : arg,
          };
        }
        return { hasDefault: false, optional: optional || /\.optional\(\)/.test(fn[2]) };
      }
    }
  }
  return { hasDefault: false, optional };
}

/** `path: ['NAME'], message: '...'` refinements of a source text. */
function productionRules(text) {
  const rules = [];
  const re = /path:\s*\['([A-Z][A-Z0-9_]*)'\],\s*message:\s*'((?:[^'\\]|\\.)*)'/g;
  for (const m of text.matchAll(re)) rules.push({ variable: m[1], message: m[2] });
  return rules;
}

/** The entries of the schema's `z.object({ ... })`: name, expression, JSDoc. */
function schemaEntries(text, schemaName) {
  const at = text.indexOf(`export const ${schemaName} = `);
  if (at === -1) throw new Error(`${schemaName} not found`);
  const objectCall = /\.object\s*\(\s*\{/g;
  objectCall.lastIndex = at;
  const found = objectCall.exec(text);
  if (!found) throw new Error(`${schemaName}: no z.object({ ... }) found`);
  const open = found.index + found[0].length - 1;
  const body = text.slice(open + 1, matchBracket(text, open) - 1);
  return splitTopLevel(body).map((raw) => {
    const docs = [...raw.matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((m) =>
      m[1]
        .split('\n')
        .map((l) => l.replace(/^\s*\*\s?/, '').trim())
        .filter(Boolean)
        .join(' '),
    );
    const code = raw
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
      .trim();
    const m = /^([A-Z][A-Z0-9_]*)\s*:\s*([\s\S]+)$/.exec(code);
    if (!m) throw new Error(`${schemaName}: cannot read entry "${code.slice(0, 60)}"`);
    return { name: m[1], expression: m[2].trim(), doc: docs.join(' ') || undefined };
  });
}

/** The configuration model of every service, read from the schema sources. */
export function extractConfig(root = ROOT) {
  const sharedText = readFileSync(join(root, SHARED_CONFIG_SOURCE), 'utf8');
  const shared = declarations(sharedText);
  const constants = constantsOfLibs(root);
  const sharedRules = productionRules(sharedText);

  return SERVICES.map((service) => {
    const text = readFileSync(join(root, service.file), 'utf8');
    const local = declarations(text);
    const imported = relativeImports(root, service.file, text);
    const scope = {
      lookup: (name) =>
        local.get(name) ?? imported.get(name) ?? shared.get(name) ?? constants.get(name),
    };
    const rules = [
      ...(text.includes('refuseInsecureProductionDefaults') ? sharedRules : []),
      ...productionRules(text),
    ];
    const descriptions = { ...DESCRIPTIONS.shared, ...(DESCRIPTIONS[service.name] ?? {}) };
    const variables = schemaEntries(text, service.schema).map((entry) => {
      const info = describeExpression(entry.expression, scope);
      const description = entry.doc ?? descriptions[entry.name];
      if (!description)
        throw new Error(
          `${service.name}: ${entry.name} has no JSDoc in ${service.file} and no entry in DESCRIPTIONS of tools/scripts/config-reference.mjs`,
        );
      return {
        name: entry.name,
        default: info.hasDefault ? info.default : undefined,
        required: !info.hasDefault && !info.optional,
        production: rules.filter((r) => r.variable === entry.name).map((r) => r.message),
        description,
      };
    });
    for (const name of Object.keys(DESCRIPTIONS[service.name] ?? {}))
      if (!variables.some((v) => v.name === name))
        throw new Error(
          `${service.name}: DESCRIPTIONS names ${name}, which ${service.schema} does not have`,
        );
    return { ...service, variables };
  });
}

// -------------------------------------------------------------- rendering

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text) => '`' + String(text) + '`';

export function renderMarkdown(model) {
  const lines = [
    '<!-- Generated by tools/scripts/config-reference.mjs from the configuration schemas. Do not edit: change the schema (or the script’s DESCRIPTIONS) and run `node tools/scripts/config-reference.mjs`. tools/deploy-checks fails when this file is stale. -->',
    '',
    '# Configuration reference',
    '',
    'Every setting is an environment variable, validated once at start by the service’s zod schema. An invalid value stops the process with exit code 1 and a `fatal` JSON log line that names the variable (never its value). Nothing reads the environment after start: a change takes a restart (a rollout).',
    '',
    'Sources, the single definition of each name and default:',
    '',
    ...model.map((s) => `- ${s.name}: \`${s.file}\` (\`${s.schema}\`)`),
    '',
    'Columns: **default** is used when the variable is unset (_required_: the service does not start without it); **production** lists what `NODE_ENV=production` refuses. Secrets (marked _Secret_) come from a Secret store, never from an image or a ConfigMap; see [runbook.md](runbook.md#secrets).',
    '',
    'The standard OpenTelemetry variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_*`) are not in these schemas: tracing is off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and the OpenTelemetry SDK reads them itself. See [runbook.md](runbook.md#tracing) and contract section 6.',
  ];
  for (const service of model) {
    lines.push('', `## ${service.name}`, '', '| variable | default | production | description |');
    lines.push('| --- | --- | --- | --- |');
    for (const v of service.variables) {
      const def =
        v.default === undefined
          ? v.required
            ? '_required_'
            : '_unset_'
          : typeof v.default === 'string' && v.default.startsWith('development-only')
            ? v.default
            : code(v.default === '' ? '' : v.default);
      const prod = v.production.length
        ? v.production.map((m) => `${m.replace(/^is /, '')}`).join('; ')
        : '';
      lines.push(`| ${code(v.name)} | ${cell(def)} | ${cell(prod)} | ${cell(v.description)} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

export async function renderDocument(root = ROOT) {
  const markdown = renderMarkdown(extractConfig(root));
  // Formatted exactly as `nx format` would, so format:check agrees with the generator.
  const prettier = await import('prettier');
  const target = join(root, OUTPUT);
  const options = (await prettier.resolveConfig(target)) ?? {};
  return prettier.format(markdown, { ...options, filepath: target });
}

async function main(argv) {
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify(extractConfig(), null, 2) + '\n');
    return 0;
  }
  const document = await renderDocument();
  if (argv.includes('--stdout')) {
    process.stdout.write(document);
    return 0;
  }
  const target = join(ROOT, OUTPUT);
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current === document) return 0;
    console.error(`${OUTPUT} is stale: run node tools/scripts/config-reference.mjs`);
    return 1;
  }
  writeFileSync(target, document);
  console.log(`wrote ${relative(process.cwd(), target) || OUTPUT}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
