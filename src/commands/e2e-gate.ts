/** `stateguard e2e-gate` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const e2eGateCommand = notImplemented(
  'e2e-gate',
  'A staging gate that never fails open: runs the e2e command only when switched on and fully configured.',
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'switch', kind: 'string', default: 'STAGING_E2E', description: 'Name of the environment variable that switches the gate on (1/true).' },
    { name: 'require', kind: 'list', description: 'Environment variables that must be set and non-empty (repeatable; one per line in the action).' },
    { name: 'mode', kind: 'choice', choices: ['optional', 'required'], default: 'optional', description: 'optional: skip loudly when off or unconfigured; required: fail instead.' },
    { name: 'persistence-probe', kind: 'string', description: 'Module whose data volumes are probed across a container recreate.' },
    { name: 'run', kind: 'string', actionOnly: true, description: 'The e2e command (split into arguments; no shell unless you write one).' },
    { name: 'command', kind: 'list', rest: true, cliOnly: true, description: 'The e2e command, after --.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'status', description: 'passed, failed or skipped.' },
    { name: 'missing', description: 'JSON array of required variables that were missing or empty.' },
    FAILURE_REASON_OUTPUT,
  ],
);
