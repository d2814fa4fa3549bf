/**
 * The rules that read the repository's modules/ (issue 29): SG109 a stateful module's service pulled
 * or recreated outside stateguard, SG110 a module name the repository does not declare; and SG111
 * the placeholder pin in a directory the runner reads. Each workflow is linted from a temporary
 * repository's root, as lint-workflows does.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { lintWorkflowText } from '../../../src/lint/lint.js';
import { readRepoModules } from '../../../src/lint/rules/index.js';
import { cleanupTempRepos, tempRepo } from '../../support/fixtures.js';
import { found, markers, PERMS, SHA } from './support.js';
import { lintRepo, WF } from './repo-support.js';

afterAll(cleanupTempRepos);

const stateful = (
  name: string,
  service: string,
  target = `compose: { file: ../../compose.yaml, project: shop, service: ${service} }`,
): string =>
  `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: ${name}\nspec:\n  class: stateful\n  ${target}\n  backup: { ref_modules: [${name}], max_age_hours: 24 }\n  data:\n    volumes:\n      - { volume: ${service}-data, path: /data }\n    ephemeral_paths: [/tmp]\n`;
const stateless = (name: string, service: string): string =>
  `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: ${name}\nspec:\n  class: stateless\n  compose: { file: ../../compose.yaml, project: shop, service: ${service} }\n`;

const REPO = {
  'compose.yaml':
    'services:\n  db:\n    image: stateguard/busybox:1.0.0\n  web:\n    image: stateguard/busybox:1.0.0\n',
  'stack.yaml': 'services:\n  mq:\n    image: stateguard/busybox:1.0.0\n',
  'modules/store/module.yaml': stateful('store', 'db'),
  'modules/web/module.yaml': stateless('web', 'web'),
  'modules/queue/module.yaml': stateful('queue', 'mq', 'swarm: { file: ../../stack.yaml, stack: queue, service: mq }'),
};

const scheduled = (steps: string, extra = ''): string =>
  `on:\n  schedule:\n    - cron: '0 4 * * *'\n${PERMS}jobs:\n  refresh:\n    runs-on: ubuntu-latest\n${extra}    steps:\n${steps}`;

async function expectMarkers(yaml: string, files: Record<string, string> = REPO): Promise<void> {
  const { problems } = await lintRepo({ ...files, [WF]: yaml });
  expect(found(problems)).toEqual(markers(yaml));
}

it('the fixture repository is read with the project loader: two stateful modules, one stateless', () => {
  const m = readRepoModules(tempRepo(REPO))!;
  expect([...m.names].sort()).toEqual(['queue', 'store', 'web']);
  expect(
    m.modules
      .filter((x) => x.stateful)
      .map((x) => `${x.name}:${x.runtime}:${x.project}/${x.service}`)
      .sort(),
  ).toEqual(['queue:swarm:queue/mq', 'store:compose:shop/db']);
  expect(readRepoModules(tempRepo({ 'compose.yaml': 'services: {}\n' }))).toBeUndefined();
});

describe('SG109 stateful-change-outside-stateguard', () => {
  it.each([
    ['compose pull of the stateful service', '      - run: docker compose pull db #!SG109\n'],
    [
      "compose up of every service in the module's directory",
      '      - run: |\n          echo refresh\n          docker compose up -d #!SG109\n',
    ],
    ['up naming the project', '      - run: docker compose -p shop up -d db #!SG109\n'],
    ['docker-compose with --project-name=', '      - run: docker-compose --project-name=shop up #!SG109\n'],
    ["the module's compose file named with -f", '      - run: docker compose -f ./compose.yaml up -d --wait #!SG109\n'],
    ['a service given by a variable', '      - run: docker compose up -d "$SERVICE" #!SG109\n'],
    [
      'the project from COMPOSE_PROJECT_NAME',
      '      - env:\n          COMPOSE_PROJECT_NAME: shop\n        working-directory: elsewhere\n        run: docker compose up -d #!SG109\n',
    ],
    ['compose kept in a variable', '      - run: DC="docker compose"; $DC pull && $DC up -d db #!SG109 #!SG109\n'],
    [
      "docker stack deploy of a stateful swarm module's stack",
      '      - run: docker stack deploy -c stack.yaml queue #!SG109\n',
    ],
  ])('%s', async (_name, steps) => {
    await expectMarkers(scheduled(steps));
  });

  it('in a local composite action: reported at the caller', async () => {
    await expectMarkers(scheduled('      - uses: ./.github/actions/refresh #!SG109\n'), {
      ...REPO,
      '.github/actions/refresh/action.yml':
        'name: r\ndescription: d\nruns:\n  using: composite\n  steps:\n    - run: docker compose up -d db\n      shell: bash\n',
    });
  });

  it.each([
    ['a stateless service', '      - run: docker compose up -d web\n'],
    ['another project', '      - run: docker compose -p other up -d\n'],
    ['another compose file', '      - run: docker compose -f test/compose.yaml up -d\n'],
    ['another working directory', '      - working-directory: test\n        run: docker compose up -d\n'],
    [
      'commands that do not pull or recreate',
      '      - run: |\n          docker compose -p shop ps\n          docker compose logs db\n          docker compose -p shop down\n',
    ],
    ['another stack', '      - run: docker stack deploy -c other.yaml monitoring\n'],
  ])('near-miss: %s', async (_name, steps) => {
    await expectMarkers(scheduled(steps));
  });

  it('a repository without modules/ has nothing to protect from this rule', async () => {
    await expectMarkers(scheduled('      - run: docker compose pull db && docker compose up -d\n'), {
      'compose.yaml': REPO['compose.yaml'],
    });
  });
});

describe('SG110 unknown-module', () => {
  const dispatch = (steps: string): string =>
    `on: workflow_dispatch\n${PERMS}jobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
  it.each([
    [
      'an action step',
      `      - uses: acme/stateguard/actions/plan@${SHA} #!SG110\n        with:\n          module: stor\n`,
    ],
    ['a CLI call', '      - run: npx stateguard plan --module stor #!SG110\n'],
    ['a CLI call with --module=', '      - run: |\n          stateguard guard --module=webb #!SG110\n'],
  ])('%s', async (_name, steps) => {
    const { problems } = await lintRepo({ ...REPO, [WF]: dispatch(steps) });
    expect(found(problems)).toEqual(markers(dispatch(steps)));
    expect(problems[0]!.message).toMatch(
      /does not declare \(modules\/\*\/module\.yaml declares 'queue', 'store', 'web'\)/,
    );
  });

  it.each([
    [
      'declared names',
      `      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          module: store\n      - run: npx stateguard plan --module web\n`,
    ],
    [
      'a name typed by the operator',
      `      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          module: \${{ inputs.module }}\n      - env:\n          M: \${{ inputs.module }}\n        run: stateguard plan --module "$M"\n`,
    ],
    [
      'modules read from another glob',
      `      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          module: other\n          modules: platform/*/module.yaml\n      - run: stateguard plan --root platform --module other\n`,
    ],
    ["a step that is not stateguard's", `      - uses: acme/deploy@${SHA}\n        with:\n          module: other\n`],
  ])('near-miss: %s', async (_name, steps) => {
    const { problems } = await lintRepo({ ...REPO, [WF]: dispatch(steps) });
    expect(found(problems)).toEqual([]);
  });

  it('a module.yaml with problems still declares its name (validate reports it; it is not "unknown")', async () => {
    const { problems } = await lintRepo({
      ...REPO,
      'modules/broken/module.yaml':
        'apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: broken\nspec:\n  class: weird\n',
      [WF]: dispatch(`      - run: npx stateguard plan --module broken\n`),
    });
    expect(found(problems)).toEqual([]);
  });
});

describe('SG111 placeholder-pin', () => {
  const ZEROS = '0'.repeat(40);
  const text = `on: workflow_dispatch\n${PERMS}jobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: your-org/stateguard/actions/plan@${ZEROS} # pin: the release you audited #!SG111\n  reuse:\n    uses: your-org/stateguard/.github/workflows/x.yml@${ZEROS} #!SG111\n`;
  it.each(['.github/workflows/plan.yml', '.forgejo/workflows/plan.yaml', 'sub/.gitea/workflows/plan.yml'])(
    'an error in a directory the runner reads: %s',
    async (file) => {
      const r = await lintWorkflowText(Buffer.from(text), file);
      expect(found(r.problems)).toEqual(markers(text));
      expect(r.problems[0]!.message).toMatch(/replace it with the commit SHA of the release you audited/);
    },
  );
  it.each(['workflows/plan.yml', 'w.yml', 'docs/examples/plan.yml'])(
    'a template elsewhere is linted as a template: %s',
    async (file) => {
      expect((await lintWorkflowText(Buffer.from(text), file)).problems).toEqual([]);
    },
  );
  it('near-miss: a real SHA that merely starts with zeros', async () => {
    const real = text.replaceAll(ZEROS, '0'.repeat(39) + '1').replace(/ #!SG111/g, '');
    expect((await lintWorkflowText(Buffer.from(real), '.github/workflows/plan.yml')).problems).toEqual([]);
  });
});
