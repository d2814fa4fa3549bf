/**
 * actions/e2e-gate run exactly as a runner runs it (dist bundle, INPUT_* variables, GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY). Needs `npm run build`. Values of the variables must appear nowhere: not in
 * the log, the annotations, the outputs or the summary.
 */
import { describe, expect, it } from '@jest/globals';
import { runActionBundle, type ActionRun } from '../support/runner.js';

const SECRET = 's3cr3t-VALUE-xyz';
const ODD_SWITCH = 'sw1tch-VALUE-abc';
const NODE = process.execPath;

/**
 * `::add-mask::VALUE` is the runner protocol that registers a mask (core.setSecret); the runner
 * consumes that line and never shows it. Every other byte must be free of the values.
 */
function noValues(r: ActionRun): void {
  const log = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  const all = log + r.stderr + JSON.stringify(r.outputs) + r.summary;
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(ODD_SWITCH);
}

describe('actions/e2e-gate bundle', () => {
  const require = 'E2E_TOKEN\nE2E_URL\n';
  // The command echoes the token: the runner log must show it masked.
  const run = `${NODE} -e 'console.log("E2E-RAN token=" + process.env.E2E_TOKEN)'`;

  it.each([
    [
      'switch unset, optional',
      {},
      'optional',
      0,
      'skipped',
      '',
      '::notice title=stateguard e2e-gate::the e2e gate did not run: STAGING_E2E is not set',
    ],
    [
      'switch 0, required',
      { STAGING_E2E: '0' },
      'required',
      1,
      'skipped',
      'e2e-skipped',
      '::error title=stateguard e2e-gate::the e2e gate did not run: STAGING_E2E is switched off',
    ],
    [
      'ambiguous switch',
      { STAGING_E2E: ODD_SWITCH },
      'optional',
      3,
      'error',
      'invalid-input',
      'neither on (1, true) nor off',
    ],
    [
      'on, a variable empty, optional',
      { STAGING_E2E: '1', E2E_TOKEN: SECRET, E2E_URL: '' },
      'optional',
      0,
      'skipped',
      '',
      'missing or empty: E2E_URL.',
    ],
    [
      'on, both missing, required',
      { STAGING_E2E: 'true' },
      'required',
      1,
      'skipped',
      'e2e-skipped',
      'missing or empty: E2E_TOKEN, E2E_URL.',
    ],
    [
      'on, all set',
      { STAGING_E2E: '1', E2E_TOKEN: SECRET, E2E_URL: 'https://staging.example' },
      'optional',
      0,
      'passed',
      '',
      'E2E-RAN token=***',
    ],
  ])('%s', (_name, env, mode, status, outStatus, reason, printed) => {
    const r = runActionBundle('e2e-gate', { require, mode, run }, { env });
    expect(r.status).toBe(status);
    expect(r.outputs.status).toBe(outStatus);
    expect(r.outputs['failure-reason']).toBe(reason);
    expect(r.stdout).toContain(printed);
    expect(r.summary).toMatch(/^### stateguard e2e-gate: /);
    expect(r.stdout.includes('E2E-RAN')).toBe(outStatus === 'passed');
    noValues(r);
    // every value present was handed to the runner to mask
    for (const v of Object.values(env as Record<string, string>).filter((x) => x.length >= 3 && x !== 'true')) {
      expect(r.stdout).toContain(`::add-mask::${v}`);
    }
  });

  it('a failing command fails the step with e2e-failed; missing is a JSON array', () => {
    const r = runActionBundle(
      'e2e-gate',
      { run: `${NODE} -e 'process.exit(5)'`, require: 'E2E_TOKEN' },
      { env: { STAGING_E2E: '1', E2E_TOKEN: SECRET } },
    );
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({ status: 'failed', missing: '[]', 'failure-reason': 'e2e-failed' });
    expect(r.stdout).toContain('::error::e2e gate FAILED: the e2e command');
    noValues(r);
  });

  it('a run string that needs a shell is refused, naming the input', () => {
    const r = runActionBundle('e2e-gate', { run: 'npm test && echo ok' }, { env: { STAGING_E2E: '1' } });
    expect(r.status).toBe(3);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.stdout).toContain('input \'run\': the command contains "&" unquoted');
  });

  it('the root action runs the gate through command: e2e-gate', () => {
    const r = runActionBundle('root', { command: 'e2e-gate', run: `${NODE} -e 0` }, { env: { STAGING_E2E: '1' } });
    expect(r.status).toBe(0);
    expect(r.outputs.status).toBe('passed');
  });
});
