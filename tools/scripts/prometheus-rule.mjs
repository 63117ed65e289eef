// Generates k8s/monitoring/prometheus-rule.yaml (a monitoring.coreos.com/v1
// PrometheusRule, for clusters that run the Prometheus Operator) from the
// plain rules file k8s/monitoring/alerts.rules.yaml, so the two cannot drift:
//
//   node tools/scripts/prometheus-rule.mjs           write the PrometheusRule
//   node tools/scripts/prometheus-rule.mjs --check   exit 1 when it is stale
//
// tools/deploy-checks (monitoring.spec.ts) also checks that both hold the
// same groups.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parse, stringify } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = 'k8s/monitoring/alerts.rules.yaml';
const OUTPUT = 'k8s/monitoring/prometheus-rule.yaml';

const HEADER = `# GENERATED from alerts.rules.yaml by tools/scripts/prometheus-rule.mjs: edit
# that file, then run the script. The Prometheus Operator loads a
# PrometheusRule whose labels match its ruleSelector (kube-prometheus-stack:
# release: <helm release name>): add that label in your overlay.
`;

export async function render() {
  const { groups } = parse(readFileSync(join(ROOT, SOURCE), 'utf8'));
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'admitone-alerts',
      labels: { 'app.kubernetes.io/part-of': 'admitone' },
    },
    spec: { groups },
  };
  const text = HEADER + stringify(rule, { lineWidth: 0, blockQuote: 'literal' });
  const filepath = join(ROOT, OUTPUT);
  return format(text, { ...(await resolveConfig(filepath)), parser: 'yaml', filepath });
}

const text = await render();
if (process.argv.includes('--check')) {
  if (readFileSync(join(ROOT, OUTPUT), 'utf8') !== text) {
    process.stderr.write(`${OUTPUT} is stale: run node tools/scripts/prometheus-rule.mjs\n`);
    process.exit(1);
  }
} else {
  writeFileSync(join(ROOT, OUTPUT), text);
}
