import baseConfig from '../../eslint.config.mjs';

/**
 * The publishable build (build-package.mjs) bundles the contract libs it
 * imports with esbuild, so they need no build target of their own: the
 * buildable-lib check is off here, every tag constraint stays on.
 */
export default baseConfig.map((entry) => {
  const rule = entry.rules?.['@nx/enforce-module-boundaries'];
  if (!Array.isArray(rule)) return entry;
  const [level, options] = rule;
  return {
    ...entry,
    rules: {
      ...entry.rules,
      '@nx/enforce-module-boundaries': [
        level,
        { ...options, enforceBuildableLibDependency: false },
      ],
    },
  };
});
