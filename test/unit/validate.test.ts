import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { UPGRADE_DEFAULTS } from '../../src/model/module.js';
import { validateModules } from '../../src/model/validate.js';
import { BASIC_COMPOSE, DB_MODULE, cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';

afterAll(cleanupTempRepos);

interface Case {
  name: string;
  /** extra files, merged over a valid repo with module `db` and compose.yaml */
  files: Record<string, string | Buffer>;
  /** expected problems: file suffix, line, column, message fragment; empty = valid */
  expect: Array<[string, number, number, string | RegExp]>;
}

const INIT_OK = moduleYaml(
  'db-init',
  `  class: sidecar
  compose: { file: ../../compose.yaml, project: p, service: db-init }
  runtime: { expected_state: exited-success }
  backup: { ref_modules: [db], max_age_hours: 12 }
  depends_on_healthy: [db]
`,
);
const WEB_OK = moduleYaml('web', `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n`);
const web = (spec: string): string => moduleYaml('web', spec);

const cases: Case[] = [
  { name: 'the valid base repo', files: {}, expect: [] },
  { name: 'a valid sidecar one-shot bound to its parent', files: { 'modules/db-init/module.yaml': INIT_OK }, expect: [] },
  { name: 'a valid stateless module', files: { 'modules/web/module.yaml': WEB_OK }, expect: [] },
  {
    name: 'unknown top-level key',
    files: { 'modules/web/module.yaml': WEB_OK + 'extra: 1\n' },
    expect: [['web/module.yaml', 8, 1, "unknown key 'extra' in (top level)"]],
  },
  {
    name: 'typo in a nested key (spec.compose.projct)',
    files: { 'modules/web/module.yaml': web(`  class: stateless\n  compose:\n    file: ../../compose.yaml\n    projct: p\n    service: web\n`) },
    expect: [
      ['web/module.yaml', 7, 3, "spec.compose is missing required key 'project'"],
      ['web/module.yaml', 9, 5, "unknown key 'projct' in spec.compose"],
    ],
  },
  {
    name: 'unknown key inside a data volume entry',
    files: {
      'modules/web/module.yaml': web(
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  data:\n    volumes:\n      - { volume: v, path: /v, mode: rw }\n`,
      ),
    },
    expect: [['web/module.yaml', 10, 32, "unknown key 'mode' in spec.data.volumes.0"]],
  },
  {
    name: 'wrong apiVersion',
    files: { 'modules/web/module.yaml': WEB_OK.replace('stateguard/v1', 'stateguard/v2') },
    expect: [['web/module.yaml', 1, 13, 'apiVersion must be "stateguard/v1"']],
  },
  {
    name: 'wrong kind',
    files: { 'modules/web/module.yaml': WEB_OK.replace('kind: Module', 'kind: Service') },
    expect: [['web/module.yaml', 2, 7, 'kind must be "Module"']],
  },
  {
    name: 'bad class',
    files: { 'modules/web/module.yaml': web(`  class: database\n  compose: { file: ../../compose.yaml, project: p, service: web }\n`) },
    expect: [['web/module.yaml', 6, 10, 'spec.class must be one of "stateless", "stateful", "sidecar"']],
  },
  {
    name: 'name not a DNS label',
    files: { 'modules/web/module.yaml': WEB_OK.replace('name: web', 'name: Web_Front') },
    expect: [['web/module.yaml', 4, 9, 'metadata.name must be a lowercase DNS label']],
  },
  {
    name: 'missing spec',
    files: { 'modules/web/module.yaml': 'apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: web\n' },
    expect: [['web/module.yaml', 1, 1, "(top level) is missing required key 'spec'"]],
  },
  {
    name: 'bad expected_state',
    files: {
      'modules/web/module.yaml': web(`  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  runtime: { expected_state: stopped }\n`),
    },
    expect: [['web/module.yaml', 8, 30, 'spec.runtime.expected_state must be one of "running", "exited-success"']],
  },
  {
    name: 'timeout_seconds is a string',
    files: {
      'modules/web/module.yaml': web(`  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  runtime:\n    timeout_seconds: "300"\n`),
    },
    expect: [['web/module.yaml', 9, 22, 'spec.runtime.timeout_seconds must be integer']],
  },
  {
    name: 'relative data path',
    files: {
      'modules/web/module.yaml': web(
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  data:\n    ephemeral_paths: [tmp]\n`,
      ),
    },
    expect: [['web/module.yaml', 9, 23, 'spec.data.ephemeral_paths.0 must be an absolute path']],
  },
  {
    name: 'duplicate module names',
    files: { 'modules/web/module.yaml': WEB_OK, 'modules/web2/module.yaml': WEB_OK },
    expect: [['web2/module.yaml', 4, 9, "module name 'web' is already used by"]],
  },
  {
    name: 'stateful without backup',
    files: {
      'modules/db/module.yaml': moduleYaml('db', `  class: stateful\n  compose: { file: ../../compose.yaml, project: p, service: db }\n`),
    },
    expect: [['db/module.yaml', 6, 10, 'a stateful module must declare spec.backup']],
  },
  {
    name: 'sidecar without backup',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace(/ {2}backup:.*\n/, '') },
    expect: [['db-init/module.yaml', 6, 10, 'a sidecar module must declare spec.backup']],
  },
  {
    name: 'sidecar naming only itself in ref_modules',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: [db-init]') },
    expect: [['db-init/module.yaml', 9, 26, 'a sidecar must name its parent stateful module']],
  },
  {
    name: 'a stateful module without ref_modules (its own backups count)',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('{ ref_modules: [db], max_age_hours: 24 }', '{ max_age_hours: 24 }') },
    expect: [],
  },
  {
    name: 'a stateful module with empty ref_modules (its own backups count)',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('ref_modules: [db]', 'ref_modules: []') },
    expect: [],
  },
  {
    name: 'a sidecar without ref_modules (its parent is what covers it)',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('{ ref_modules: [db], max_age_hours: 12 }', '{ max_age_hours: 12 }') },
    expect: [['db-init/module.yaml', 9, 11, /a sidecar must name its parent stateful module in backup\.ref_modules.*its parent's backups/]],
  },
  {
    name: 'a sidecar with empty ref_modules',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: []') },
    expect: [['db-init/module.yaml', 9, 26, /a sidecar must name its parent stateful module in backup\.ref_modules/]],
  },
  {
    name: 'a schema problem in one module does not hide the cross-file problems of the others',
    files: {
      'modules/web/module.yaml': WEB_OK.replace('kind: Module', 'kind: Service'),
      'modules/db-init/module.yaml': INIT_OK.replace('depends_on_healthy: [db]', 'depends_on_healthy: [db, cache]'),
    },
    expect: [
      ['db-init/module.yaml', 10, 28, "depends_on_healthy names unknown module 'cache'"],
      ['web/module.yaml', 2, 7, 'kind must be "Module"'],
    ],
  },
  {
    name: 'a reference to a module whose own file is invalid says so, not "unknown module"',
    files: {
      'modules/db/module.yaml': DB_MODULE.replace('kind: Module', 'kind: Service'),
      'modules/db-init/module.yaml': INIT_OK,
    },
    expect: [
      ['db-init/module.yaml', 9, 27, /backup\.ref_modules names module 'db', whose module\.yaml .*db\/module\.yaml\) has problems/],
      ['db-init/module.yaml', 10, 24, /depends_on_healthy names module 'db', whose module\.yaml .*db\/module\.yaml\) has problems/],
      ['db/module.yaml', 2, 7, 'kind must be "Module"'],
    ],
  },
  {
    name: 'ref_modules names an unknown module',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: [dbx]') },
    expect: [['db-init/module.yaml', 9, 27, "backup.ref_modules names unknown module 'dbx'"]],
  },
  {
    name: 'ref_modules names a stateless module',
    files: { 'modules/web/module.yaml': WEB_OK, 'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: [web]') },
    expect: [['db-init/module.yaml', 9, 27, "names 'web', which is stateless, not stateful"]],
  },
  {
    name: 'depends_on_healthy names an unknown module',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('depends_on_healthy: [db]', 'depends_on_healthy: [db, cache]') },
    expect: [['db-init/module.yaml', 10, 28, "depends_on_healthy names unknown module 'cache'"]],
  },
  {
    name: 'compose file does not exist',
    files: { 'modules/web/module.yaml': WEB_OK.replace('../../compose.yaml', '../../nope.yaml') },
    expect: [['web/module.yaml', 7, 20, 'compose file ../../nope.yaml']],
  },
  {
    name: 'service missing from compose file',
    files: { 'modules/web/module.yaml': WEB_OK.replace('service: web', 'service: api') },
    expect: [['web/module.yaml', 7, 61, "service 'api' is not in ../../compose.yaml; services there: db, db-init, web"]],
  },
  {
    name: 'one-shot whose service restarts',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('service: db-init', 'service: web') },
    expect: [['db-init/module.yaml', 8, 30, 'has restart: "always"']],
  },
  ...(
    [
      ['scale: 2', 'scale: 2', 'has scale: 2'],
      ['deploy.replicas: 2', 'deploy: { replicas: 2 }', 'has deploy.replicas: 2'],
      ['deploy.mode: global', 'deploy: { mode: global }', 'has deploy.mode: "global"'],
      ['an interpolated scale', 'scale: ${INIT_SCALE}', 'has scale: "${INIT_SCALE}"'],
    ] as const
  ).map(([label, line, msg]): Case => ({
    name: `one-shot with ${label} (two runs at once against the same data)`,
    files: {
      'modules/db-init/module.yaml': INIT_OK,
      'compose.yaml': BASIC_COMPOSE.replace('    restart: "no"\n', `    restart: "no"\n    ${line}\n`),
    },
    expect: [['db-init/module.yaml', 8, 30, msg]],
  })),
  {
    name: 'one-shot with scale: 1 and deploy.replicas: 1 is fine',
    files: {
      'modules/db-init/module.yaml': INIT_OK,
      'compose.yaml': BASIC_COMPOSE.replace('    restart: "no"\n', '    restart: "no"\n    scale: 1\n    deploy: { replicas: 1 }\n'),
    },
    expect: [],
  },
  {
    name: 'declared data volume not mounted by the service',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('path: /var/lib/db', 'path: /srv/db') },
    expect: [['db/module.yaml', 11, 9, "data volume 'db-data' at /srv/db is not mounted"]],
  },
  {
    name: 'YAML syntax error',
    files: { 'modules/web/module.yaml': 'apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: [web\n' },
    expect: [['web/module.yaml', 5, 1, 'YAML syntax error']],
  },
  {
    name: 'duplicate key',
    files: { 'modules/web/module.yaml': WEB_OK.replace('kind: Module\n', 'kind: Module\nkind: Module\n') },
    expect: [['web/module.yaml', 3, 1, 'duplicate key']],
  },
  {
    name: 'alias bomb',
    files: {
      'modules/web/module.yaml':
        'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
    },
    expect: [['web/module.yaml', 1, 1, 'alias bomb']],
  },
  {
    name: 'a document that is a list',
    files: { 'modules/web/module.yaml': '- apiVersion: stateguard/v1\n' },
    expect: [['web/module.yaml', 1, 1, 'expected a YAML mapping at the top level, found a list']],
  },
  {
    name: 'a scalar document',
    files: { 'modules/web/module.yaml': 'just text\n' },
    expect: [['web/module.yaml', 1, 1, 'expected a YAML mapping at the top level, found string']],
  },
  {
    name: 'several documents',
    files: { 'modules/web/module.yaml': WEB_OK + '---\n' + WEB_OK },
    expect: [['web/module.yaml', 8, 1, 'file contains 2 YAML documents; expected exactly one']],
  },
  {
    name: 'empty file',
    files: { 'modules/web/module.yaml': '' },
    expect: [['web/module.yaml', 1, 1, 'file is empty']],
  },
  {
    name: 'file over 1 MiB',
    files: { 'modules/web/module.yaml': WEB_OK + '#'.repeat(1024 * 1024) + '\n' },
    expect: [['web/module.yaml', 1, 1, 'the limit is 1048576 (1 MiB)']],
  },
  {
    name: 'invalid UTF-8',
    files: { 'modules/web/module.yaml': Buffer.concat([Buffer.from(WEB_OK + 'x: "ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]) },
    expect: [['web/module.yaml', 8, 7, 'not valid UTF-8']],
  },
  {
    name: 'yes/no are strings in YAML 1.2, so restart: no on a one-shot is fine',
    files: {
      'compose.yaml': BASIC_COMPOSE.replace('restart: "no"', 'restart: no'),
      'modules/db-init/module.yaml': INIT_OK,
    },
    expect: [],
  },
  {
    name: 'spec.upgrade on a stateful running module',
    files: {
      'modules/db/module.yaml':
        DB_MODULE +
        '  upgrade:\n    release_notes: notes/{version}.md\n    hold_markers: [danger]\n    health_timeout_seconds: 60\n    settle_seconds: 0\n',
    },
    expect: [],
  },
  {
    name: 'spec.upgrade on a stateless module (names the field and the fix)',
    files: { 'modules/web/module.yaml': WEB_OK + '  upgrade: { settle_seconds: 5 }\n' },
    expect: [['web/module.yaml', 8, 3, /spec\.upgrade is only for a stateful module with expected_state running.*remove spec\.upgrade/]],
  },
  {
    name: 'spec.upgrade on a one-shot sidecar',
    files: { 'modules/db-init/module.yaml': INIT_OK + '  upgrade: {}\n' },
    expect: [['db-init/module.yaml', 11, 3, 'this is a sidecar module']],
  },
  {
    name: 'spec.upgrade.release_notes escaping the repo',
    files: { 'modules/db/module.yaml': DB_MODULE + '  upgrade: { release_notes: "../../../elsewhere/{version}.md" }\n' },
    expect: [['db/module.yaml', 12, 29, /release_notes points outside the repo \("\.\.\/elsewhere\/v\.md" from --root\)/]],
  },
  {
    name: 'spec.upgrade.release_notes absolute',
    files: { 'modules/db/module.yaml': DB_MODULE + '  upgrade: { release_notes: "/etc/{version}" }\n' },
    expect: [['db/module.yaml', 12, 29, 'spec.upgrade.release_notes must match ^[^/]']],
  },
  {
    name: 'spec.upgrade.health_timeout_seconds below 10, and an unknown key',
    files: { 'modules/db/module.yaml': DB_MODULE + '  upgrade: { health_timeout_seconds: 5, notes: x }\n' },
    expect: [
      ['db/module.yaml', 12, 38, 'spec.upgrade.health_timeout_seconds must be >= 10'],
      ['db/module.yaml', 12, 41, "unknown key 'notes' in spec.upgrade"],
    ],
  },
  {
    name: 'spec.upgrade.hold_markers with an empty marker',
    files: { 'modules/db/module.yaml': DB_MODULE + '  upgrade: { hold_markers: ["  "] }\n' },
    expect: [['db/module.yaml', 12, 29, 'spec.upgrade.hold_markers.0 must match \\S']],
  },
];

describe('validate: schema and cross-file checks', () => {
  it('parses spec.upgrade with the schema defaults, release_notes as an absolute template', () => {
    const spec = '  upgrade: { release_notes: "notes/{version}.md" }\n';
    const root = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE + spec });
    const { problems, loaded } = validateModules(root, 'modules/*/module.yaml', root);
    expect(problems).toEqual([]);
    expect(loaded.modules[0]!.upgrade).toEqual({
      releaseNotes: path.join(root, 'modules/db/notes/{version}.md'),
      holdMarkers: UPGRADE_DEFAULTS.holdMarkers,
      healthTimeoutSeconds: 120,
      settleSeconds: 10,
    });
    expect(UPGRADE_DEFAULTS.holdMarkers).toEqual(expect.arrayContaining(['manual migration', 'BREAKING']));
    const plain = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE });
    expect(validateModules(plain, 'modules/*/module.yaml', plain).loaded.modules[0]!.upgrade).toBeUndefined();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const root = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE, ...c.files });
    const { problems, loaded } = validateModules(root, 'modules/*/module.yaml', root);
    const got = problems.map((p) => [p.file, p.line, p.column, p.message] as const);
    if (c.expect.length === 0) {
      expect(got).toEqual([]);
      // Valid means every module file was read as that module, not "some module loaded": a count
      // passed even when validate silently skipped the case's own file (db alone made it > 0).
      const files = ['modules/db/module.yaml', ...Object.keys(c.files)].filter((f) => /^modules\/[^/]+\/module\.yaml$/.test(f));
      const names = [...new Set(files.map((f) => f.split('/')[1]!))].sort();
      expect(loaded.modules.map((m) => m.name).sort()).toEqual(names);
      return;
    }
    expect(got).toHaveLength(c.expect.length);
    c.expect.forEach(([file, line, column, msg], i) => {
      const [gf, gl, gc, gm] = got[i]!;
      expect(gf.endsWith(file)).toBe(true);
      expect([gl, gc]).toEqual([line, column]);
      if (typeof msg === 'string') expect(gm).toContain(msg);
      else expect(gm).toMatch(msg);
    });
  });

  it('has at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
});
