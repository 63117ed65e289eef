// Preloaded with `node --require` (NODE_OPTIONS) by the tracing test: when
// the process exits it writes the ids of every CommonJS module it loaded to
// LOADED_MODULES_FILE, so the test can prove the OpenTelemetry SDK was (or
// was not) loaded.
const { writeFileSync } = require('node:fs');

process.once('exit', () => {
  writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require.cache).join('\n'));
});
