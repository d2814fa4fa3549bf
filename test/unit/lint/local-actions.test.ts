/**
 * Local composite actions are followed (docs/rules.md SG003, SG201): `uses: ./path` reads its
 * action.yml with the caller's context; an injection inside is the workflow's, reported at the
 * caller's `uses:` and naming the action's line; an action that cannot be checked is SG003.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { lintWorkflowBytes } from '../../../src/lint/lint.js';
import { MAX_LOCAL_ACTION_DEPTH } from '../../../src/lint/rules/local-actions.js';
import { cleanupTempRepos, tempRepo } from '../../support/fixtures.js';
import { at, lineOf, lintRepo, WF } from './repo-support.js';

afterAll(cleanupTempRepos);

/** A workflow on issues with one step: `uses:` (line 9) and the given extra lines under it. */
const caller = (uses: string, extra = ''): string =>
  `name: triage\non:\n  issues:\npermissions:\n  contents: read\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n${extra}`;
const USES_LINE = 10;

const greet = (run: string, inputs = '  who:\n    description: whom to greet\n'): string =>
  `name: greet\ndescription: says hello\ninputs:\n${inputs}runs:\n  using: composite\n  steps:\n    - name: hello\n      shell: bash\n      run: |\n        echo start\n        ${run}\n`;

describe("an injection inside a local composite action is the workflow's (SG201)", () => {
  it('a title passed as the action input and interpolated into its run:', async () => {
    const { dir, problems } = await lintRepo({
      [WF]: caller('./.github/actions/greet', '        with:\n          who: ${{ github.event.issue.title }}\n'),
      '.github/actions/greet/action.yml': greet('echo "hello ${{ inputs.who }}"'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
    const line = lineOf(dir, '.github/actions/greet/action.yml', 'inputs.who }}');
    expect(problems[0]!.message).toContain(`local action .github/actions/greet/action.yml (line ${line})`);
    expect(problems[0]!.message).toContain('inputs.who (given github.event.issue.title)');
    expect(problems[0]!.message).toContain("step 1 of job 'triage'");
  });

  it('the action.yaml spelling, and a path with ./ and // in it', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./tools//./greet/', '        with:\n          who: ${{ github.event.issue.body }}\n'),
      'tools/greet/action.yaml': greet('echo "hello ${{ inputs.who }}"'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
  });

  it('an input whose default reads the event, when the caller passes nothing', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./.github/actions/greet'),
      '.github/actions/greet/action.yml': greet(
        'echo "${{ inputs.who }}"',
        '  who:\n    default: ${{ github.event.issue.title }}\n',
      ),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
  });

  it('the event read directly inside the action', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./.github/actions/greet'),
      '.github/actions/greet/action.yml': greet('echo "${{ github.event.issue.title }}"'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
  });

  it("the caller's workflow_dispatch input passed on (inputs are untrusted, as in a workflow)", async () => {
    const wf = caller('./.github/actions/greet', '        with:\n          who: ${{ inputs.name }}\n').replace(
      'on:\n  issues:\n',
      'on:\n  workflow_dispatch:\n    inputs:\n      name:\n        type: string\n',
    );
    const { problems } = await lintRepo({
      [WF]: wf,
      '.github/actions/greet/action.yml': greet('echo "${{ inputs.who }}"'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE + 3}`]);
  });

  it('through an env: of the calling job, read as ${{ env.X }} in the action', async () => {
    const wf = caller('./.github/actions/greet').replace(
      '    runs-on: ubuntu-latest\n',
      '    runs-on: ubuntu-latest\n    env:\n      TITLE: ${{ github.event.issue.title }}\n',
    );
    const { problems } = await lintRepo({
      [WF]: wf,
      '.github/actions/greet/action.yml': greet('echo "${{ env.TITLE }}"'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE + 2}`]);
  });

  it('two levels deep: the first action passes its input on to a second one', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./actions/outer', '        with:\n          text: ${{ github.event.issue.title }}\n'),
      'actions/outer/action.yml':
        'name: outer\ndescription: d\ninputs:\n  text: {}\nruns:\n  using: composite\n  steps:\n    - uses: ./actions/inner\n      with:\n        msg: ${{ inputs.text }}\n',
      'actions/inner/action.yml': greet('echo ${{ inputs.msg }}', '  msg: {}\n'),
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
    expect(problems[0]!.message).toContain('local action actions/inner/action.yml');
    expect(problems[0]!.message).toContain('through actions/outer/action.yml line 8');
  });

  it('a github-script inside the action', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./a', '        with:\n          who: ${{ github.event.issue.title }}\n'),
      'a/action.yml': `name: a\ndescription: d\ninputs:\n  who: {}\nruns:\n  using: composite\n  steps:\n    - uses: actions/github-script@0123456789abcdef0123456789abcdef01234567\n      with:\n        script: console.log("\${{ inputs.who }}")\n`,
    });
    expect(at(problems)).toEqual([`SG201@${USES_LINE}`]);
  });

  it('a volume removal inside the action is reported at the caller (SG106)', async () => {
    const { problems } = await lintRepo({
      [WF]: caller('./a'),
      'a/action.yml': greet('docker compose down -v'),
    });
    expect(at(problems)).toEqual([`SG106@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(/through a\/action\.yml line \d+/);
  });

  it.each([
    [
      'a literal input',
      caller('./a', '        with:\n          who: triage bot\n'),
      greet('echo "hello ${{ inputs.who }}"'),
    ],
    [
      'a safe context',
      caller('./a', '        with:\n          who: ${{ github.repository }}\n'),
      greet('echo "${{ inputs.who }}"'),
    ],
    [
      'the value read from env: in the action',
      caller('./a', '        with:\n          who: ${{ github.event.issue.title }}\n'),
      greet('echo "hello $WHO"').replace(
        '      shell: bash\n',
        '      shell: bash\n      env:\n        WHO: ${{ inputs.who }}\n',
      ),
    ],
    [
      'a node action',
      caller('./a', '        with:\n          who: ${{ github.event.issue.title }}\n'),
      'name: a\ndescription: d\nruns:\n  using: node20\n  main: index.js\n',
    ],
  ])('near-miss: %s', async (_name, wf, action) => {
    const { problems } = await lintRepo({ [WF]: wf, 'a/action.yml': action });
    expect(at(problems)).toEqual([]);
  });
});

describe('a local action that cannot be checked is a finding, never a crash (SG003)', () => {
  const composite = (next: string): string =>
    `name: x\ndescription: d\nruns:\n  using: composite\n  steps:\n    - uses: ${next}\n`;
  it.each<[string, Record<string, string | Buffer>, RegExp]>([
    ['missing directory', {}, /does not exist/],
    ['directory without action.yml', { 'a/README.md': 'hi' }, /has no action\.yml or action\.yaml/],
    ['not YAML', { 'a/action.yml': 'runs: [\n' }, /not readable YAML \(line \d+: YAML syntax error/],
    ['invalid UTF-8', { 'a/action.yml': Buffer.from([0x72, 0x3a, 0x20, 0xc3, 0x28, 0x0a]) }, /not readable YAML/],
    ['larger than 1 MiB', { 'a/action.yml': 'name: x\n' + '# pad\n'.repeat(200_000) }, /the limit is 1048576/],
    ['no runs.using', { 'a/action.yml': 'name: x\ndescription: d\nruns:\n  main: x.js\n' }, /without runs\.using/],
    ['a composite without steps', { 'a/action.yml': 'name: x\nruns:\n  using: composite\n' }, /without runs\.steps/],
    ['a cycle', { 'a/action.yml': composite('./b'), 'b/action.yml': composite('./a') }, /calls itself/],
    ['itself', { 'a/action.yml': composite('./a') }, /calls itself/],
  ])('%s', async (_name, files, message) => {
    const { problems } = await lintRepo({ [WF]: caller('./a'), ...files });
    expect(at(problems)).toEqual([`SG003@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.message).toContain("local action './a' used by step 1 of job 'triage'");
  });

  it('a path leaving the repository is refused without reading it', async () => {
    const { problems } = await lintRepo({ [WF]: caller('./../outside/a') });
    expect(at(problems)).toEqual([`SG003@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(/leaves the repository/);
  });

  it('a symbolic link leaving the repository is refused', async () => {
    const outside = tempRepo({ 'action.yml': greet('echo "${{ github.event.issue.title }}"') });
    const dir = tempRepo({ [WF]: caller('./a') }, 'sg-lint-repo-');
    symlinkSync(outside, path.join(dir, 'a'));
    const { lintWorkflows } = await import('../../../src/lint/lint.js');
    const problems = (await lintWorkflows(dir, [WF])).problems;
    expect(at(problems)).toEqual([`SG003@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(/outside the repository/);
  });

  it(`nesting deeper than ${MAX_LOCAL_ACTION_DEPTH} local actions`, async () => {
    const files: Record<string, string> = { [WF]: caller('./n0') };
    for (let i = 0; i <= MAX_LOCAL_ACTION_DEPTH + 1; i++) files[`n${i}/action.yml`] = composite(`./n${i + 1}`);
    const { problems } = await lintRepo(files);
    expect(at(problems)).toEqual([`SG003@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(/nested deeper than 8/);
  });

  it('a wide fan-out stays bounded (one finding, no explosion)', async () => {
    const fan = (next: string): string =>
      `name: x\ndescription: d\nruns:\n  using: composite\n  steps:\n${Array.from({ length: 10 }, () => `    - uses: ${next}\n`).join('')}`;
    const files: Record<string, string> = { [WF]: caller('./f0') };
    for (let i = 0; i < 6; i++) files[`f${i}/action.yml`] = fan(`./f${i + 1}`);
    files['f6/action.yml'] = 'name: x\ndescription: d\nruns:\n  using: node20\n  main: x.js\n';
    const { problems } = await lintRepo(files);
    expect(at(problems)).toEqual([`SG003@${USES_LINE}`]);
    expect(problems[0]!.message).toMatch(/beyond the 512 local action uses/);
  });

  it('many jobs using the same actions are not a fan-out (20 jobs x 5 uses, each action using another)', async () => {
    const jobs = Array.from(
      { length: 20 },
      (_, j) =>
        `  j${j}:\n    runs-on: x\n    steps:\n${Array.from({ length: 5 }, () => '      - uses: ./.github/actions/setup\n').join('')}`,
    ).join('');
    const { problems } = await lintRepo({
      [WF]: `on: push\npermissions:\n  contents: read\njobs:\n${jobs}`,
      '.github/actions/setup/action.yml': composite('./.github/actions/tool'),
      '.github/actions/tool/action.yml': greet('echo ready'),
    });
    expect(at(problems)).toEqual([]);
  });

  it('an action checked out by an earlier step is suppressed with its reason, and listed as suppressed', async () => {
    const dir = tempRepo(
      {
        [WF]: caller(
          './tools/deploy # stateguard-lint: ignore SG003 -- checked out from acme/deploy-action by the step above',
        ),
      },
      'sg-lint-repo-',
    );
    const { lintWorkflows } = await import('../../../src/lint/lint.js');
    const r = await lintWorkflows(dir, [WF]);
    expect(r.problems).toEqual([]);
    expect(r.suppressed.map((p) => `${p.rule}@${p.line}`)).toEqual([`SG003@${USES_LINE}`]);
  });

  it('linted without a repository (one text, no root), a local action is not read', async () => {
    expect(await lintWorkflowBytes(Buffer.from(caller('./a')), 'w.yml')).toEqual([]);
  });
});
