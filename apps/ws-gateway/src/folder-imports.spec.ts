import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folder → the sibling folders its non-test files import (`from '../x/...'`). */
function folderImports(root: string): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  for (const folder of readdirSync(root, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    const targets = new Set<string>();
    for (const file of readdirSync(join(root, folder.name), { recursive: true })) {
      const name = String(file);
      if (!name.endsWith('.ts') || name.endsWith('.spec.ts')) continue;
      const text = readFileSync(join(root, folder.name, name), 'utf8');
      for (const match of text.matchAll(/from '\.\.\/([\w-]+)\//g)) targets.add(match[1]);
    }
    imports.set(folder.name, targets);
  }
  return imports;
}

describe('ws-gateway folders', () => {
  const imports = folderImports(__dirname);

  it('finds the folders it checks', () => {
    expect(imports.get('upgrade')).toContain('connections');
  });

  it('has no two folders that import each other', () => {
    const cycles: string[] = [];
    for (const [folder, targets] of imports)
      for (const target of targets)
        if (folder < target && imports.get(target)?.has(folder))
          cycles.push(`${folder} <-> ${target}`);
    expect(cycles).toEqual([]);
  });

  it('keeps connections/ free of upgrade/', () => {
    expect([...(imports.get('connections') ?? [])]).not.toContain('upgrade');
  });
});
