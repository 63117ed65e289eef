import {
  ClientMessageSchema,
  DEFAULT_WS_PATH,
  ServerMessageSchema,
  SUBPROTOCOL,
} from '@admitone/agent-events';
import { z } from 'zod';
import { parseYamlDocuments } from './support/manifests';
import { readText } from './support/workspace';

/**
 * docs/asyncapi.yaml is written by hand for readers; the zod schemas of
 * @admitone/agent-events are the definition. This holds the document to
 * them: the same message types in each direction, and for each message the
 * same fields, the same required fields, and the same type and limits per
 * field (as zod's own JSON Schema export states them).
 */
type Json = Record<string, unknown>;
const [doc] = parseYamlDocuments(readText('docs/asyncapi.yaml'), 'asyncapi.yaml') as Json[];

/** Follows a local `$ref` (`#/a/b/c`) through the document. */
function resolve(node: unknown): Json {
  let current = node as Json;
  for (let hops = 0; current && typeof current['$ref'] === 'string'; hops++) {
    if (hops > 10) throw new Error('$ref loop');
    const ref = current['$ref'] as string;
    if (!ref.startsWith('#/')) throw new Error(`non-local $ref ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .reduce<Json>((at, key) => {
        const next = at?.[key] as Json | undefined;
        if (next === undefined) throw new Error(`dangling $ref ${ref}`);
        return next;
      }, doc);
  }
  return current;
}

/** Every `$ref` anywhere in the document. */
function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (node && typeof node === 'object')
    return Object.entries(node).flatMap(([k, v]) =>
      k === '$ref' && typeof v === 'string' ? [v] : refs(v),
    );
  return [];
}

/**
 * What a property promises, comparable between the document and zod's JSON
 * Schema. `maximum` is left out: zod bounds every int by
 * Number.MAX_SAFE_INTEGER, not a promise worth repeating; so is `pattern`
 * (zod spells out its date-time regex; the document says `format: date-time`).
 */
const FACETS = [
  'type',
  'const',
  'enum',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
];
function facets(property: Json, isZod: boolean): Json {
  if (property['$ref'] && isZod) return { json: 'any' }; // zod's recursive JSON value
  if (Array.isArray(property['anyOf'])) return { json: 'any' };
  const out: Json = {};
  for (const f of FACETS) if (property[f] !== undefined) out[f] = property[f];
  return out;
}

const operations = doc['operations'] as Record<string, { action: string; messages: Json[] }>;
const messagesOf = (action: 'send' | 'receive') =>
  Object.values(operations)
    .filter((o) => o.action === action)
    .flatMap((o) => o.messages.map((m) => resolve(m)));

const directions = [
  {
    label: 'server to client (the gateway sends)',
    action: 'send' as const,
    schema: ServerMessageSchema,
  },
  {
    label: 'client to server (the gateway receives)',
    action: 'receive' as const,
    schema: ClientMessageSchema,
  },
];

describe('docs/asyncapi.yaml', () => {
  it('is an AsyncAPI 3 document for the agent.v1 WebSocket at the gateway path', () => {
    expect(doc['asyncapi']).toMatch(/^3\.\d+\.\d+$/);
    const channels = doc['channels'] as Record<string, Json>;
    expect(Object.values(channels).map((c) => c['address'])).toEqual([DEFAULT_WS_PATH]);
    expect((doc['info'] as Json)['title']).toContain(SUBPROTOCOL);
    for (const server of Object.values(doc['servers'] as Record<string, Json>)) {
      expect(['ws', 'wss']).toContain(server['protocol']);
      expect(server['pathname']).toBe(DEFAULT_WS_PATH);
    }
  });

  it('resolves every $ref', () => {
    for (const ref of refs(doc)) expect(() => resolve({ $ref: ref })).not.toThrow();
  });

  it('names every channel message after its type and lists it in exactly one operation', () => {
    const channel = Object.values(doc['channels'] as Record<string, Json>)[0];
    const channelMessages = channel['messages'] as Record<string, Json>;
    for (const [key, ref] of Object.entries(channelMessages))
      expect(resolve(ref)['name']).toBe(key);
    const inOperations = Object.values(operations).flatMap((o) =>
      o.messages.map((m) => String(m['$ref']).split('/').at(-1)),
    );
    expect([...inOperations].sort()).toEqual(Object.keys(channelMessages).sort());
  });

  describe.each(directions)('$label', ({ action, schema }) => {
    const types = schema.options.map((o) => o.shape.type.value as string);
    const documented = messagesOf(action);

    it('lists exactly the message types of the zod schema', () => {
      expect(documented.map((m) => m['name']).sort()).toEqual([...types].sort());
    });

    it.each(schema.options.map((o) => [o.shape.type.value as string, o] as const))(
      '%s: same fields, required fields, types and limits as the zod schema',
      (type, option) => {
        const message = documented.find((m) => m['name'] === type) as Json;
        const payload = resolve(message['payload']);
        const zodJson = z.toJSONSchema(option as z.ZodType) as Json;
        const docProps = payload['properties'] as Record<string, Json>;
        const zodProps = zodJson['properties'] as Record<string, Json>;

        expect(Object.keys(docProps).sort()).toEqual(Object.keys(option.shape).sort());
        expect([...((payload['required'] as string[]) ?? [])].sort()).toEqual(
          [...((zodJson['required'] as string[]) ?? [])].sort(),
        );
        expect(resolve(docProps['type'])['const']).toBe(type);
        for (const name of Object.keys(zodProps))
          expect({ field: name, ...facets(resolve(docProps[name]), false) }).toEqual({
            field: name,
            ...facets(zodProps[name], true),
          });
        // Unknown fields are ignored by contract: the document must not forbid them.
        expect(payload['additionalProperties']).not.toBe(false);
      },
    );
  });
});
