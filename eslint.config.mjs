import nx from '@nx/eslint-plugin';

/**
 * Module boundaries are tagged in two dimensions (see docs/engineering notes in
 * README): `type:*` says what a project is, `scope:*` which team owns it.
 * The two services meet only in `scope:shared` contract libs and over the wire.
 */
export const boundaryConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:test'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:test'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:lib', 'type:test'] },
  { sourceTag: 'scope:auth', onlyDependOnLibsWithTags: ['scope:auth', 'scope:shared'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
  { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:agent', 'scope:shared'] },
  { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:client', 'scope:shared'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', 'tmp/**'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          depConstraints: boundaryConstraints,
        },
      ],
    },
  },
  {
    // Tests (and only tests) may also use the test tooling libs.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          depConstraints: boundaryConstraints.map((c) =>
            c.sourceTag.startsWith('type:')
              ? {
                  ...c,
                  onlyDependOnLibsWithTags: [
                    ...new Set([...c.onlyDependOnLibsWithTags, 'type:test']),
                  ],
                }
              : c,
          ),
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      'no-console': ['error', { allow: ['warn', 'error'] }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'tools/**/*', '**/bench/**/*'],
    rules: { 'no-console': 'off' },
  },
];
