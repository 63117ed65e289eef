import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_LUA } from '../lib/lua-scripts.generated';
import { busArtifacts, LUA_DIR, REPO_ROOT } from './bus-artifacts';

describe('generated bus artifacts (one source of truth for TypeScript and Python)', () => {
  const artifacts = busArtifacts();

  it.each([...artifacts.keys()])('%s matches the contract libs', (path) => {
    const absolute = join(REPO_ROOT, path);
    const hint = `${path} is stale: run node tools/scripts/generate-bus-artifacts.mjs`;
    expect({ exists: existsSync(absolute), hint }).toEqual({ exists: true, hint });
    expect(readFileSync(absolute, 'utf8')).toBe(artifacts.get(path));
  });

  it('carries every script of the lua directory, byte for byte', () => {
    expect(BUS_LUA.emitAgentEvent).toBe(
      readFileSync(join(LUA_DIR, 'emit-agent-event.lua'), 'utf8'),
    );
    expect(BUS_LUA.admitAgentRequest).toBe(
      readFileSync(join(LUA_DIR, 'admit-agent-request.lua'), 'utf8'),
    );
  });

  it('generates JSON Schemas with the required fields and the six event types', () => {
    const request = JSON.parse(
      artifacts.get('python/admitone/_generated/schemas/agent-request.json') ?? '{}',
    );
    expect(request.required).toEqual(
      expect.arrayContaining(['run_id', 'thread_id', 'user_id', 'session_id', 'content']),
    );
    const event = JSON.parse(
      artifacts.get('python/admitone/_generated/schemas/agent-event.json') ?? '{}',
    );
    expect(event.oneOf ?? event.anyOf).toHaveLength(6);
  });
});
