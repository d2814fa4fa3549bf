/** `stateguard lint-workflows` through the CLI layer: paths, formats, exit codes, SARIF validity. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cliRun } from '../../support/commands.js';
import { FakeRuntime } from '../../support/fake-runtime.js';
import { lintWorkflowsCommand, MAX_ANNOTATIONS_PER_FILE } from '../../../src/commands/lint-workflows.js';
import { RULES } from '../../../src/lint/rules.js';
import { cleanupTempRepos, tempRepo } from '../../support/fixtures.js';
import { SAFE_APPLY, SHA } from './support.js';

afterAll(cleanupTempRepos);

const require = createRequire(import.meta.url);

/** `stateguard lint-workflows ARGS` through the real CLI layer (test/support/commands.ts); lint needs no engine. */
const cli = (args: string[], cwd: string) => cliRun(['lint-workflows', ...args], new FakeRuntime(), { cwd });

const UNPINNED_ONLY = `on: workflow_dispatch\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n`;
const INJECTION = `on: pull_request\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          echo one\n          echo "\${{ github.head_ref }}"\n`;
const SUPPRESSED = `on: push\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          docker compose down -v # stateguard-lint: ignore SG106 -- throw-away test stack\n`;
const NO_PERMS = `on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n`;

describe('lint-workflows CLI', () => {
  it('text: one sorted `file:line:col: RULE message` line per problem, then a verdict; errors exit 1', async () => {
    const dir = tempRepo({
      '.github/workflows/b.yml': INJECTION,
      '.github/workflows/a.yaml': NO_PERMS,
      'workflows/c.yml': UNPINNED_ONLY,
    });
    const r = await cli([], dir);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      ".github/workflows/a.yaml:1:1: SG202 the workflow has no top-level 'permissions'; declare the least it needs, e.g. 'permissions: { contents: read }' (docs/rules.md#sg202-permissions)",
      expect.stringMatching(
        /^\.github\/workflows\/b\.yml:10:17: SG201 \$\{\{ github\.head_ref \}\} is interpolated into a run: script/,
      ),
      expect.stringMatching(/^workflows\/c\.yml:8:15: SG301 'actions\/checkout@v4' is not pinned/),
      '3 workflow files checked: 2 errors, 1 warning',
    ]);
  });

  it('warnings alone exit 0', async () => {
    const dir = tempRepo({ 'workflows/c.yml': UNPINNED_ONLY });
    const r = await cli([], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SG301');
  });

  it('a clean workflow exits 0 with no problem line', async () => {
    const dir = tempRepo({ 'w/apply.yml': SAFE_APPLY });
    const r = await cli(['w'], dir);
    expect(r).toEqual({ code: 0, stdout: '1 workflow file checked: 0 errors, 0 warnings\n', stderr: '' });
  });

  it('json: exactly { problems: [{ file, line, column, rule, severity, message }], suppressed: [] }', async () => {
    const dir = tempRepo({ 'workflows/a.yml': NO_PERMS, 'workflows/c.yml': UNPINNED_ONLY });
    const r = await cli(['--format', 'json'], dir);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['problems', 'suppressed']);
    expect(doc.suppressed).toEqual([]);
    expect(doc.problems).toEqual([
      { file: 'workflows/a.yml', line: 1, column: 1, rule: 'SG202', severity: 'error', message: expect.any(String) },
      { file: 'workflows/c.yml', line: 8, column: 15, rule: 'SG301', severity: 'warning', message: expect.any(String) },
    ]);
  });

  it('only *.yml / *.yaml at the top level of a directory; other files and subdirectories are ignored', async () => {
    const dir = tempRepo({
      'workflows/README.md': '# x',
      'workflows/x.json': '{}',
      'workflows/sub/deep.yml': NO_PERMS,
      'workflows/ok.YML': SAFE_APPLY,
    });
    const r = await cli([], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1 workflow file checked: 0 errors, 0 warnings\n');
  });

  it('no default directory at all is not an error, and says so', async () => {
    const dir = tempRepo({ 'README.md': 'x' });
    const r = await cli([], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^0 workflow files checked: 0 errors, 0 warnings \(no \*\.yml\/\*\.yaml found in \.github\/workflows, \.forgejo\/workflows, \.gitea\/workflows, workflows\)/,
    );
  });

  it.each([
    ['a missing explicit path', ['nope'], /cannot read "nope": no such file or directory/],
    ['an explicit file that is not YAML', ['README.md'], /not a workflow file/],
    ['a path that is neither file nor directory', ['fifo'], /not a regular file or directory/],
  ])('%s exits 3 naming it', async (_n, args, message) => {
    const dir = tempRepo({ 'README.md': 'x' });
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const r = await cli(args, dir);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('a hostile file in a directory is a problem (exit 1), not a crash', async () => {
    const dir = tempRepo({
      'workflows/bad.yml': Buffer.from([0xff, 0xfe, 0x00, 0x41]),
      'workflows/ok.yml': SAFE_APPLY,
    });
    const r = await cli([], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^workflows\/bad\.yml:1:1: SG001 file is not valid UTF-8 \(docs\/rules\.md#sg001-workflow-yaml\)$/m,
    );
  });

  it('suppressed problems: not counted, listed with their reason in text and json (docs/rules.md, SG002)', async () => {
    const dir = tempRepo({ 'workflows/s.yml': SUPPRESSED });
    const text = await cli([], dir);
    expect(text.code).toBe(0);
    expect(text.stdout.trimEnd().split('\n')).toEqual([
      'suppressed (1, not counted):',
      expect.stringMatching(/^workflows\/s\.yml:9:11: SG106 .* -- throw-away test stack$/),
      '1 workflow file checked: 0 errors, 0 warnings, 1 suppressed',
    ]);
    const json = JSON.parse((await cli(['--format', 'json'], dir)).stdout);
    expect(json.problems).toEqual([]);
    expect(json.suppressed).toEqual([
      {
        file: 'workflows/s.yml',
        line: 9,
        column: 11,
        rule: 'SG106',
        severity: 'error',
        message: expect.any(String),
        reason: 'throw-away test stack',
      },
    ]);
  });

  it('--sarif-file writes the SARIF report and the text stays on stdout', async () => {
    const dir = tempRepo({ 'workflows/a.yml': NO_PERMS });
    const r = await cli(['--sarif-file', 'out/lint.sarif'], dir);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(readFileSync(path.join(dir, 'out/lint.sarif'), 'utf8'));
    expect(sarif.runs[0].results).toHaveLength(1);
    expect(r.stdout).toContain('workflows/a.yml:1:1: SG202');
  });
});

describe('SARIF output', () => {
  function sarifValidator() {
    // @microsoft/jest-sarif ships the SARIF 2.1.0 (rtm.5) JSON schema. It is written in draft-04,
    // whose only difference used here is `id` for `$id`; ajv (draft-07) reads it once renamed.
    const schema = JSON.parse(
      readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
    );
    const { id, $schema: _draft, ...rest } = schema;
    const Ajv = require('ajv').default;
    const addFormats = require('ajv-formats').default ?? require('ajv-formats');
    // The schema's `language` pattern has a stray `]` that is valid only in non-unicode regular
    // expressions (as JSON Schema validators of its time compiled it).
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    return ajv.compile({ $id: id, ...rest });
  }

  it('validates against the SARIF 2.1.0 JSON schema and carries rules with help and results with regions', async () => {
    const dir = tempRepo({
      'workflows/a b.yml': NO_PERMS,
      'workflows/c.yml': UNPINNED_ONLY,
      'workflows/inj.yml': INJECTION,
      'workflows/s.yml': SUPPRESSED,
    });
    const r = await cli(['--format', 'sarif'], dir);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    const validate = sarifValidator();
    const ok = validate(sarif);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('stateguard');
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id)).toEqual(RULES.map((x) => x.id));
    for (const rule of run.tool.driver.rules) {
      expect(rule.shortDescription.text).toBeTruthy();
      expect(rule.fullDescription.text).toBeTruthy();
      expect(rule.help.text).toContain('How to fix:');
      expect(rule.help.markdown).toContain('**How to fix:**');
      expect(['error', 'warning']).toContain(rule.defaultConfiguration.level);
    }
    expect(run.results).toEqual([
      expect.objectContaining({
        ruleId: 'SG202',
        ruleIndex: RULES.findIndex((x) => x.id === 'SG202'),
        level: 'error',
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'workflows/a%20b.yml' },
              region: { startLine: 1, startColumn: 1 },
            },
          },
        ],
      }),
      expect.objectContaining({
        ruleId: 'SG301',
        level: 'warning',
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'workflows/c.yml' },
              region: { startLine: 8, startColumn: 15 },
            },
          },
        ],
      }),
      expect.objectContaining({
        ruleId: 'SG201',
        level: 'error',
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'workflows/inj.yml' },
              region: { startLine: 10, startColumn: 17 },
            },
          },
        ],
      }),
      // a suppressed problem stays in the report, marked with the reason written in the workflow
      expect.objectContaining({
        ruleId: 'SG106',
        level: 'error',
        suppressions: [{ kind: 'inSource', justification: 'throw-away test stack' }],
      }),
    ]);
    expect(run.results.filter((x: { suppressions?: unknown }) => x.suppressions)).toHaveLength(1);
  });

  it('the validator is not a rubber stamp: a broken document fails it', () => {
    const validate = sarifValidator();
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [] }] })).toBe(false);
    expect(validate({ version: '2.0.0', runs: [] })).toBe(false);
    expect(
      validate({
        version: '2.1.0',
        runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: {}, level: 'fatal' }] }],
      }),
    ).toBe(false);
  });
});

describe('as an action', () => {
  const log = { info() {}, warn() {}, error() {}, notice() {}, raw() {} };
  function ctx(cwd: string) {
    return {
      cwd,
      env: {},
      log,
      now: () => new Date(0),
      runtime: () => {
        throw new Error('no docker in lint');
      },
      inAction: true,
      addSecret() {},
    };
  }

  it(`annotates at most ${MAX_ANNOTATIONS_PER_FILE} problems per file and counts the rest in the summary`, async () => {
    const steps = Array.from({ length: 14 }, (_, i) => `      - uses: actions/checkout@v${i}\n`).join('');
    const dir = tempRepo({
      'workflows/many.yml': `on: workflow_dispatch\npermissions: {}\njobs:\n  j:\n    runs-on: x\n    steps:\n${steps}`,
      'workflows/one.yml': NO_PERMS,
    });
    const result = await lintWorkflowsCommand.run(
      { paths: [], format: 'text', sarifFile: undefined, json: false },
      ctx(dir),
    );
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toEqual({ errors: '1', warnings: '14', 'sarif-file': '', 'failure-reason': 'lint-errors' });
    const many = result.annotations!.filter((a) => a.file === 'workflows/many.yml');
    expect(many).toHaveLength(MAX_ANNOTATIONS_PER_FILE);
    expect(many[0]).toEqual({
      level: 'warning',
      message: expect.stringMatching(/^SG301 /),
      file: 'workflows/many.yml',
      line: 7,
      column: 15,
      title: 'stateguard SG301',
    });
    expect(result.annotations!.filter((a) => a.file === 'workflows/one.yml')).toEqual([
      expect.objectContaining({ level: 'error', line: 1 }),
    ]);
    expect(result.summary).toContain('workflows/many.yml (4 more)');
    expect(result.summary).toContain('| workflows/one.yml | 1:1 | SG202 | error |');
  });

  it('warnings only: outputs errors 0 and an empty failure-reason', async () => {
    const dir = tempRepo({ 'workflows/c.yml': UNPINNED_ONLY });
    const result = await lintWorkflowsCommand.run(
      { paths: [], format: 'text', sarifFile: 'lint.sarif', json: false },
      ctx(dir),
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ errors: '0', warnings: '1', 'sarif-file': 'lint.sarif', 'failure-reason': '' });
    expect(JSON.parse(readFileSync(path.join(dir, 'lint.sarif'), 'utf8')).runs[0].results[0].ruleId).toBe('SG301');
  });
});
