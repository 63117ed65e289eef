import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BusLocation } from '../support/agent-client';
import { startWorker } from '../support/agent-client';
import type { Env } from '../support/gateway-stack';
import { ServiceProcess, startService, workspaceRoot } from '../support/service-process';

/**
 * The agent implementations the conformance run holds to the bus contract,
 * each started as a real process with the agent-worker's settings
 * (REDIS_URL, REDIS_PREFIX, WORKER_NAME, AGENT_STEP_DELAY_MS, CLAIM_IDLE_MS).
 */
export interface AgentWorkerKind {
  name: string;
  start(bus: BusLocation, overrides?: Env): Promise<ServiceProcess>;
}

export const PYTHON = join(workspaceRoot, 'python/.venv/bin/python');

export function requirePythonVenv(): void {
  if (!existsSync(PYTHON))
    throw new Error(
      `${PYTHON} is missing: the Python agent of the conformance run needs the virtualenv. ` +
        'Create it with `sh python/setup-venv.sh` (.ci/run does so before npm test).',
    );
}

export const TYPESCRIPT_WORKER: AgentWorkerKind = {
  name: 'TypeScript agent-worker',
  start: (bus, overrides = {}) => startWorker(bus, overrides),
};

export const PYTHON_WORKER: AgentWorkerKind = {
  name: 'Python admitone worker',
  start(bus, overrides = {}) {
    requirePythonVenv();
    return startService(
      'python-agent',
      {
        REDIS_URL: bus.url,
        REDIS_PREFIX: bus.prefix,
        AGENT_STEP_DELAY_MS: '20',
        CLAIM_IDLE_MS: '2000',
        PYTHONUNBUFFERED: '1',
        ...overrides,
      },
      { command: { file: PYTHON, args: ['-m', 'admitone.examples.calculator'] } },
    );
  },
};

export const AGENT_WORKERS: AgentWorkerKind[] = [TYPESCRIPT_WORKER, PYTHON_WORKER];
