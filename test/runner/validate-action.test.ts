import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { REPO, runActionBundle } from '../support/runner.js';
import { BASIC_COMPOSE, DB_MODULE, cleanupTempRepos, tempRepo } from '../support/fixtures.js';

afterAll(cleanupTempRepos);

describe('actions/validate bundle, run as a runner runs it', () => {
  it('valid example platform: outputs and a summary table, exit 0', () => {
    const r = runActionBundle('validate', { root: 'examples/platform' });
    expect(r.status).toBe(0);
    expect(r.outputs.valid).toBe('true');
    expect(JSON.parse(r.outputs.modules!)).toEqual(['store', 'store-init', 'web']);
    expect(r.outputs['error-count']).toBe('0');
    expect(r.outputs['failure-reason']).toBe('');
    expect(r.summary).toContain('| store-init | sidecar | exited-success | platform/store-init |');
  });

  it('invalid module: one error annotation with file and line, failure-reason, exit 1', () => {
    const root = tempRepo({
      'compose.yaml': BASIC_COMPOSE,
      'modules/db/module.yaml': DB_MODULE.replace('class: stateful', 'class: statefull'),
    });
    const r = runActionBundle('validate', { root }, { cwd: root });
    expect(r.status).toBe(1);
    expect(r.outputs.valid).toBe('false');
    expect(r.outputs['failure-reason']).toBe('invalid-modules');
    // exactly one problem, and which one (not only that some error was printed)
    expect(r.outputs['error-count']).toBe('1');
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::error title=stateguard validate,'));
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatch(
      /^::error title=stateguard validate,file=modules\/db\/module\.yaml,line=6,col=10::spec\.class must be one of/,
    );
    expect(r.summary).toContain('modules/db/module.yaml:6:10');
  });

  it('root action dispatches on the command input', () => {
    const r = runActionBundle('root', { command: 'validate', root: path.join(REPO, 'examples/platform') });
    expect(r.status).toBe(0);
    expect(r.outputs.valid).toBe('true');
  });

  it('root action refuses an unknown command with exit 1 and failure-reason', () => {
    const r = runActionBundle('root', { command: 'destroy' });
    expect(r.status).not.toBe(0);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.stdout).toContain("input 'command' must be one of");
  });

  it('a boolean input that is not true/false is a user error naming the input', () => {
    const r = runActionBundle('root', { command: 'validate', root: 'examples/platform', 'detailed-exitcode': 'yes' });
    // validate does not read detailed-exitcode, so this one passes...
    expect(r.status).toBe(0);
    const p = runActionBundle('guard', { module: 'store-init', root: 'examples/platform', 'allow-stateful': 'yes' });
    // ...while guard refuses an ambiguous boolean before doing anything.
    expect(p.status).not.toBe(0);
    expect(p.outputs['failure-reason']).toBe('invalid-input');
    expect(p.stdout).toContain("input 'allow-stateful' must be exactly 'true' or 'false', got \"yes\"");
  });
});
