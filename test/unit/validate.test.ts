import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { UPGRADE_DEFAULTS } from '../../src/model/module.js';
import { validateModules } from '../../src/model/validate.js';
import { fileRenderer } from '../support/file-renderer.js';
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
const WEB_OK = moduleYaml(
  'web',
  `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n`,
);
const web = (spec: string): string => moduleYaml('web', spec);

/** A Swarm stack file (a compose file) beside compose.yaml: a stateful service, its one-shot job, a bind mount. */
const STACK = `services:
  store:
    image: stateguard/busybox:1.0.0
    volumes:
      - store-data:/var/lib/store
  store-init:
    image: stateguard/busybox:1.0.0
    volumes:
      - store-data:/var/lib/store
    deploy:
      mode: replicated-job
      restart_policy:
        condition: none
  cache:
    image: stateguard/busybox:1.0.0
    volumes:
      - /srv/cache:/var/cache
volumes:
  store-data: {}
`;
// Line 7 of each: `  swarm: { file: ../../stack.yaml, stack: shop, service: ... }` (file at column 18,
// stack at 43, service at 58); line 8 of STORE_INIT_OK: runtime, expected_state at column 30.
const STORE_OK = moduleYaml(
  'store',
  `  class: stateful
  swarm: { file: ../../stack.yaml, stack: shop, service: store }
  backup: { max_age_hours: 24 }
  data:
    volumes:
      - { volume: store-data, path: /var/lib/store }
`,
);
const STORE_INIT_OK = moduleYaml(
  'store-init',
  `  class: sidecar
  swarm: { file: ../../stack.yaml, stack: shop, service: store-init }
  runtime: { expected_state: exited-success }
  backup: { ref_modules: [store], max_age_hours: 12 }
  data:
    volumes:
      - { volume: store-data, path: /var/lib/store }
`,
);
const SWARM_OK = {
  'stack.yaml': STACK,
  'modules/store/module.yaml': STORE_OK,
  'modules/store-init/module.yaml': STORE_INIT_OK,
};
/** The valid swarm repo with stack.yaml's store-init `deploy:` block replaced. */
const initDeploy = (deploy: string): Record<string, string> => ({
  ...SWARM_OK,
  'stack.yaml': STACK.replace(
    '    deploy:\n      mode: replicated-job\n      restart_policy:\n        condition: none\n',
    deploy,
  ),
});
/** The valid swarm repo with one line added to stack.yaml's store service. */
const storeWith = (line: string): Record<string, string> => ({
  ...SWARM_OK,
  'stack.yaml': STACK.replace(
    '      - store-data:/var/lib/store\n  store-init:',
    `      - store-data:/var/lib/store\n    ${line}\n  store-init:`,
  ),
});

const swarmCases: Case[] = [
  {
    name: 'swarm: a valid stateful service with a named volume and its one-shot replicated-job',
    files: SWARM_OK,
    expect: [],
  },
  {
    name: 'swarm: restart: on a one-shot job is ignored by Swarm and not complained about',
    files: {
      ...SWARM_OK,
      'stack.yaml': STACK.replace(
        '    deploy:\n      mode: replicated-job',
        '    restart: always\n    deploy:\n      mode: replicated-job',
      ),
    },
    expect: [],
  },
  {
    name: 'swarm: one-shot with deploy.replicas: 1 and max_concurrent: 1 is fine',
    files: initDeploy(
      '    deploy: { mode: replicated-job, replicas: 1, max_concurrent: 1, restart_policy: { condition: none } }\n',
    ),
    expect: [],
  },
  {
    name: 'neither compose nor swarm (points at spec)',
    files: { 'modules/web/module.yaml': web('  class: stateless\n') },
    expect: [
      [
        'web/module.yaml',
        5,
        1,
        /spec declares neither compose nor swarm.*add spec\.compose .* or spec\.swarm \{ file, stack, service \}/,
      ],
    ],
  },
  {
    name: 'both compose and swarm (points at spec)',
    files: {
      'stack.yaml': STACK,
      'modules/web/module.yaml': web(
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  swarm: { file: ../../stack.yaml, stack: shop, service: cache }\n',
      ),
    },
    expect: [
      [
        'web/module.yaml',
        5,
        1,
        /spec declares both compose and swarm.*keep spec\.compose .* or spec\.swarm .* remove the other/,
      ],
    ],
  },
  {
    name: 'swarm: a missing key is reported in spec.swarm',
    files: { 'stack.yaml': STACK, 'modules/store/module.yaml': STORE_OK.replace(', service: store }', ' }') },
    expect: [['store/module.yaml', 7, 3, "spec.swarm is missing required key 'service'"]],
  },
  {
    name: 'swarm: a bad stack name and an unknown key are reported in spec.swarm',
    files: {
      'stack.yaml': STACK,
      'modules/store/module.yaml': STORE_OK.replace('stack: shop,', 'stack: Shop, project: p,'),
    },
    expect: [
      ['store/module.yaml', 7, 43, 'spec.swarm.stack must match ^[a-z0-9][a-z0-9_-]*$'],
      ['store/module.yaml', 7, 49, "unknown key 'project' in spec.swarm"],
    ],
  },
  {
    name: 'swarm: stack file does not exist (points at spec.swarm.file)',
    files: { ...SWARM_OK, 'modules/store/module.yaml': STORE_OK.replace('../../stack.yaml', '../../nope.yaml') },
    expect: [['store/module.yaml', 7, 18, /^stack file \.\.\/\.\.\/nope\.yaml \(nope\.yaml\) cannot be used/]],
  },
  {
    name: 'swarm: service missing from the stack file (points at spec.swarm.service)',
    files: { ...SWARM_OK, 'modules/store/module.yaml': STORE_OK.replace('service: store }', 'service: api }') },
    expect: [
      [
        'store/module.yaml',
        7,
        58,
        "service 'api' is not in ../../stack.yaml as compose renders it; services there: cache, store, store-init",
      ],
    ],
  },
  {
    name: 'swarm: one-shot that is not a replicated-job',
    files: initDeploy('    deploy: { mode: replicated, restart_policy: { condition: none } }\n'),
    expect: [
      [
        'store-init/module.yaml',
        8,
        30,
        /one-shot service 'store-init' in stack file \.\.\/\.\.\/stack\.yaml has deploy\.mode: "replicated".*set deploy\.mode: replicated-job/,
      ],
    ],
  },
  {
    name: 'swarm: one-shot without deploy at all (no mode, no restart_policy)',
    files: initDeploy(''),
    expect: [
      ['store-init/module.yaml', 8, 30, /has no deploy\.mode; .*set deploy\.mode: replicated-job/],
      [
        'store-init/module.yaml',
        8,
        30,
        /has no deploy\.restart_policy\.condition; Swarm ignores restart: .*set deploy\.restart_policy\.condition: none/,
      ],
    ],
  },
  {
    name: 'swarm: one-shot job without restart_policy condition none (a failed job is retried against the data)',
    files: initDeploy('    deploy: { mode: replicated-job, restart_policy: { condition: on-failure } }\n'),
    expect: [
      [
        'store-init/module.yaml',
        8,
        30,
        /has deploy\.restart_policy\.condition: "on-failure"; Swarm ignores restart: and retries a failed job.*condition: none/,
      ],
    ],
  },
  {
    name: 'swarm: one-shot job with deploy.replicas: 2',
    files: initDeploy('    deploy: { mode: replicated-job, replicas: 2, restart_policy: { condition: none } }\n'),
    expect: [
      [
        'store-init/module.yaml',
        8,
        30,
        /has deploy\.replicas: 2; a one-shot runs as exactly one task.*remove it or set it to 1/,
      ],
    ],
  },
  {
    name: 'swarm: one-shot job with deploy.max_concurrent: 2',
    files: initDeploy('    deploy: { mode: replicated-job, max_concurrent: 2, restart_policy: { condition: none } }\n'),
    expect: [['store-init/module.yaml', 8, 30, 'has deploy.max_concurrent: 2']],
  },
  {
    name: 'swarm: a running module whose service is a replicated-job (points at spec.swarm.service)',
    files: storeWith('deploy: { mode: replicated-job }'),
    expect: [
      [
        'store/module.yaml',
        7,
        58,
        /service 'store' in stack file .* has deploy\.mode: "replicated-job", a job .*declare runtime\.expected_state: exited-success for a job/,
      ],
    ],
  },
  {
    name: 'swarm: a running stateless module whose service is a global-job',
    files: {
      'stack.yaml': STACK.replace('  cache:\n', '  cache:\n    deploy: { mode: global-job }\n'),
      'modules/web/module.yaml': web(
        '  class: stateless\n  swarm: { file: ../../stack.yaml, stack: shop, service: cache }\n',
      ),
    },
    expect: [['web/module.yaml', 7, 58, 'has deploy.mode: "global-job", a job that runs to completion']],
  },
  {
    name: 'swarm: a stateful service with deploy.mode: global (node-local copies of the data)',
    files: storeWith('deploy: { mode: global }'),
    expect: [
      [
        'store/module.yaml',
        6,
        10,
        /stateful service 'store' in stack file .* has deploy\.mode: "global".*use deploy\.mode: replicated with replicas: 1/,
      ],
    ],
  },
  {
    name: 'swarm: a stateless service may be global',
    files: {
      'stack.yaml': STACK.replace('  cache:\n', '  cache:\n    deploy: { mode: global }\n'),
      'modules/web/module.yaml': web(
        '  class: stateless\n  swarm: { file: ../../stack.yaml, stack: shop, service: cache }\n',
      ),
    },
    expect: [],
  },
  {
    name: 'swarm: data volume mounted but not declared in the top-level volumes',
    files: { ...SWARM_OK, 'stack.yaml': STACK.replace('volumes:\n  store-data: {}\n', 'volumes:\n  other: {}\n') },
    expect: [
      [
        'store-init/module.yaml',
        12,
        9,
        "data volume 'store-data' at /var/lib/store is not declared in the top-level volumes",
      ],
      [
        'store/module.yaml',
        11,
        9,
        /data volume 'store-data' at \/var\/lib\/store is not declared in the top-level volumes: of stack file \.\.\/\.\.\/stack\.yaml \(declared there: other\).*add 'store-data: \{\}'/,
      ],
    ],
  },
  {
    name: 'swarm: data volume written as <stack>_key',
    files: {
      ...SWARM_OK,
      'modules/store/module.yaml': STORE_OK.replace('volume: store-data', 'volume: shop_store-data'),
    },
    expect: [
      [
        'store/module.yaml',
        11,
        9,
        /data volume 'shop_store-data' .*its key in stack file \.\.\/\.\.\/stack\.yaml, 'store-data', not '<stack>_store-data'.*write volume: store-data/,
      ],
    ],
  },
  {
    name: 'swarm: a bind mount as a data volume (node-local host path)',
    files: {
      'stack.yaml': STACK,
      'modules/cache/module.yaml': moduleYaml(
        'cache',
        '  class: stateful\n  swarm: { file: ../../stack.yaml, stack: shop, service: cache }\n  backup: { max_age_hours: 24 }\n  data:\n    volumes:\n      - { volume: cache, path: /var/cache }\n',
      ),
    },
    expect: [
      [
        'cache/module.yaml',
        11,
        9,
        /data volume 'cache' at \/var\/cache is a bind mount in service 'cache' .*node-local.*use a named volume/,
      ],
    ],
  },
  {
    name: 'swarm: the compose restart rule still applies to a compose one-shot beside swarm modules',
    files: { ...SWARM_OK, 'modules/db-init/module.yaml': INIT_OK.replace('service: db-init', 'service: web') },
    expect: [['db-init/module.yaml', 8, 30, 'has restart: "always"']],
  },
];

/** Issue 25 item 5: validate names the root cause first, suggests the fix, and speaks in words. */
const SYNTAX_BROKEN_DB = 'apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: db\nspec:\n  class: [stateful\n';
const feedbackCases: Case[] = [
  {
    name: 'a typo in a module.yaml key suggests the key the schema allows there (expected_sate)',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('expected_state', 'expected_sate') },
    expect: [
      [
        'db-init/module.yaml',
        8,
        14,
        "unknown key 'expected_sate' in spec.runtime: did you mean 'expected_state'?; allowed keys there: expected_state, timeout_seconds",
      ],
    ],
  },
  {
    name: 'a top-level key far from every allowed key gets no guess, only the allowed keys',
    files: { 'modules/web/module.yaml': WEB_OK + 'extra: 1\n' },
    expect: [
      [
        'web/module.yaml',
        8,
        1,
        "unknown key 'extra' in (top level); allowed keys there: apiVersion, kind, metadata, spec",
      ],
    ],
  },
  {
    name: 'a typo in depends_on_healthy suggests the closest module and lists the known ones',
    files: {
      'modules/web/module.yaml': WEB_OK,
      'modules/db-init/module.yaml': INIT_OK.replace('depends_on_healthy: [db]', 'depends_on_healthy: [db-int]'),
    },
    expect: [
      [
        'db-init/module.yaml',
        10,
        24,
        "depends_on_healthy names unknown module 'db-int': did you mean 'db-init'?; known modules: db, web",
      ],
    ],
  },
  {
    name: 'a module.yaml that fails to parse is reported once, first; its references say to see it, once per module',
    files: {
      'modules/db/module.yaml': SYNTAX_BROKEN_DB,
      'modules/db-init/module.yaml': INIT_OK,
      'modules/web/module.yaml': web(
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  depends_on_healthy: [db]\n',
      ),
    },
    expect: [
      ['db/module.yaml', 7, 1, 'YAML syntax error'],
      [
        'db-init/module.yaml',
        9,
        27,
        /^backup\.ref_modules and depends_on_healthy name module 'db', whose module\.yaml \(modules\/db\/module\.yaml\) has problems of its own: see the problem in that file/,
      ],
      [
        'web/module.yaml',
        8,
        24,
        /^depends_on_healthy names module 'db', whose module\.yaml \(modules\/db\/module\.yaml\)/,
      ],
    ],
  },
  {
    name: 'a module.yaml that fails to parse without a readable name is found by its directory',
    files: { 'modules/db/module.yaml': '{{{\n', 'modules/db-init/module.yaml': INIT_OK },
    expect: [
      ['db/module.yaml', 2, 1, 'YAML syntax error'],
      [
        'db-init/module.yaml',
        9,
        27,
        "backup.ref_modules and depends_on_healthy name module 'db', whose module.yaml (modules/db/module.yaml)",
      ],
    ],
  },
  {
    name: 'a compose file that does not exist says "file not found", never ENOENT',
    files: { 'modules/web/module.yaml': WEB_OK.replace('../../compose.yaml', '../../nope.yaml') },
    expect: [
      [
        'web/module.yaml',
        7,
        20,
        /^compose file \.\.\/\.\.\/nope\.yaml \(nope\.yaml\) cannot be used: file not found: nope\.yaml$/,
      ],
    ],
  },
  {
    name: 'a compose file with its own problem: that problem first, then the module that uses it',
    files: {
      'z/compose.yaml': 'services:\n  web: [oops\n',
      'modules/web/module.yaml': WEB_OK.replace('../../compose.yaml', '../../z/compose.yaml'),
    },
    expect: [
      ['z/compose.yaml', 3, 1, 'YAML syntax error'],
      ['web/module.yaml', 7, 20, 'compose file ../../z/compose.yaml (z/compose.yaml) cannot be used'],
    ],
  },
  {
    name: 'a number written as a word names the key and the value, not "must be number"',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('max_age_hours: 24', 'max_age_hours: soon') },
    expect: [['db/module.yaml', 8, 47, 'spec.backup.max_age_hours must be a number, got "soon"']],
  },
  {
    name: 'a list where a number belongs says it got a list',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('max_age_hours: 24', 'max_age_hours: [24]') },
    expect: [['db/module.yaml', 8, 47, 'spec.backup.max_age_hours must be a number, got a list']],
  },
];

const cases: Case[] = [
  ...swarmCases,
  { name: 'the valid base repo', files: {}, expect: [] },
  {
    name: 'a valid sidecar one-shot bound to its parent',
    files: { 'modules/db-init/module.yaml': INIT_OK },
    expect: [],
  },
  { name: 'a valid stateless module', files: { 'modules/web/module.yaml': WEB_OK }, expect: [] },
  {
    name: 'unknown top-level key',
    files: { 'modules/web/module.yaml': WEB_OK + 'extra: 1\n' },
    expect: [['web/module.yaml', 8, 1, "unknown key 'extra' in (top level)"]],
  },
  {
    name: 'typo in a nested key (spec.compose.projct)',
    files: {
      'modules/web/module.yaml': web(
        `  class: stateless\n  compose:\n    file: ../../compose.yaml\n    projct: p\n    service: web\n`,
      ),
    },
    // One mistake, one message: the missing 'project' is what the typo says.
    expect: [
      [
        'web/module.yaml',
        9,
        5,
        "unknown key 'projct' in spec.compose: did you mean 'project'? (spec.compose requires it); allowed keys there: file, project, service",
      ],
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
    files: {
      'modules/web/module.yaml': web(
        `  class: database\n  compose: { file: ../../compose.yaml, project: p, service: web }\n`,
      ),
    },
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
      'modules/web/module.yaml': web(
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  runtime: { expected_state: stopped }\n`,
      ),
    },
    expect: [['web/module.yaml', 8, 30, 'spec.runtime.expected_state must be one of "running", "exited-success"']],
  },
  {
    name: 'timeout_seconds is a string',
    files: {
      'modules/web/module.yaml': web(
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n  runtime:\n    timeout_seconds: "300"\n`,
      ),
    },
    expect: [['web/module.yaml', 9, 22, 'spec.runtime.timeout_seconds must be a whole number, got "300"']],
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
      'modules/db/module.yaml': moduleYaml(
        'db',
        `  class: stateful\n  compose: { file: ../../compose.yaml, project: p, service: db }\n`,
      ),
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
    files: {
      'modules/db/module.yaml': DB_MODULE.replace('{ ref_modules: [db], max_age_hours: 24 }', '{ max_age_hours: 24 }'),
    },
    expect: [],
  },
  {
    name: 'a stateful module with empty ref_modules (its own backups count)',
    files: { 'modules/db/module.yaml': DB_MODULE.replace('ref_modules: [db]', 'ref_modules: []') },
    expect: [],
  },
  {
    name: 'a sidecar without ref_modules (its parent is what covers it)',
    files: {
      'modules/db-init/module.yaml': INIT_OK.replace(
        '{ ref_modules: [db], max_age_hours: 12 }',
        '{ max_age_hours: 12 }',
      ),
    },
    expect: [
      [
        'db-init/module.yaml',
        9,
        11,
        /a sidecar must name its parent stateful module in backup\.ref_modules.*its parent's backups/,
      ],
    ],
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
    // The root cause first, then one knock-on per referring module (not one per reference).
    expect: [
      ['db/module.yaml', 2, 7, 'kind must be "Module"'],
      [
        'db-init/module.yaml',
        9,
        27,
        /^backup\.ref_modules and depends_on_healthy name module 'db', whose module\.yaml \(modules\/db\/module\.yaml\) has problems of its own: see the problem in that file/,
      ],
    ],
  },
  ...feedbackCases,
  {
    name: 'ref_modules names an unknown module',
    files: { 'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: [dbx]') },
    expect: [
      [
        'db-init/module.yaml',
        9,
        27,
        "backup.ref_modules names unknown module 'dbx': did you mean 'db'?; known modules: db",
      ],
    ],
  },
  {
    name: 'ref_modules names a stateless module',
    files: {
      'modules/web/module.yaml': WEB_OK,
      'modules/db-init/module.yaml': INIT_OK.replace('ref_modules: [db]', 'ref_modules: [web]'),
    },
    expect: [['db-init/module.yaml', 9, 27, "names 'web', which is stateless, not stateful"]],
  },
  {
    name: 'depends_on_healthy names an unknown module',
    files: {
      'modules/db-init/module.yaml': INIT_OK.replace('depends_on_healthy: [db]', 'depends_on_healthy: [db, cache]'),
    },
    expect: [['db-init/module.yaml', 10, 28, "depends_on_healthy names unknown module 'cache'; known modules: db"]],
  },
  {
    name: 'compose file does not exist',
    files: { 'modules/web/module.yaml': WEB_OK.replace('../../compose.yaml', '../../nope.yaml') },
    expect: [['web/module.yaml', 7, 20, 'compose file ../../nope.yaml']],
  },
  {
    name: 'service missing from compose file',
    files: { 'modules/web/module.yaml': WEB_OK.replace('service: web', 'service: api') },
    expect: [
      [
        'web/module.yaml',
        7,
        61,
        "service 'api' is not in ../../compose.yaml as compose renders it; services there: db, db-init, web",
      ],
    ],
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
      ['an interpolated scale (as compose renders it)', 'scale: ${INIT_SCALE:-2}', 'has scale: 2'],
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
      'compose.yaml': BASIC_COMPOSE.replace(
        '    restart: "no"\n',
        '    restart: "no"\n    scale: 1\n    deploy: { replicas: 1 }\n',
      ),
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
    files: {
      'modules/web/module.yaml': Buffer.concat([
        Buffer.from(WEB_OK + 'x: "ab'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"\n'),
      ]),
    },
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
    expect: [
      [
        'web/module.yaml',
        8,
        3,
        /spec\.upgrade is only for a stateful module with expected_state running.*remove spec\.upgrade/,
      ],
    ],
  },
  {
    name: 'spec.upgrade on a one-shot sidecar',
    files: { 'modules/db-init/module.yaml': INIT_OK + '  upgrade: {}\n' },
    expect: [['db-init/module.yaml', 11, 3, 'this is a sidecar module']],
  },
  {
    name: 'spec.upgrade.release_notes escaping the repo',
    files: {
      'modules/db/module.yaml': DB_MODULE + '  upgrade: { release_notes: "../../../elsewhere/{version}.md" }\n',
    },
    expect: [
      ['db/module.yaml', 12, 29, /release_notes points outside the repo \("\.\.\/elsewhere\/v\.md" from --root\)/],
    ],
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
  it('parses spec.upgrade with the schema defaults, release_notes as an absolute template', async () => {
    const spec = '  upgrade: { release_notes: "notes/{version}.md" }\n';
    const root = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE + spec });
    const { problems, loaded } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
    expect(problems).toEqual([]);
    expect(loaded.modules[0]!.upgrade).toEqual({
      releaseNotes: path.join(root, 'modules/db/notes/{version}.md'),
      holdMarkers: UPGRADE_DEFAULTS.holdMarkers,
      healthTimeoutSeconds: 120,
      settleSeconds: 10,
    });
    expect(UPGRADE_DEFAULTS.holdMarkers).toEqual(expect.arrayContaining(['manual migration', 'BREAKING']));
    const plain = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE });
    expect(
      (await validateModules(plain, 'modules/*/module.yaml', plain, fileRenderer)).loaded.modules[0]!.upgrade,
    ).toBeUndefined();
  });

  it('a swarm module maps onto the compose engine target: runtime swarm, project = the stack name', async () => {
    const root = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE, ...SWARM_OK });
    const { problems, loaded } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
    expect(problems).toEqual([]);
    const store = loaded.modules.find((m) => m.name === 'store')!;
    expect(store.runtime).toBe('swarm');
    expect(store.compose).toEqual({
      file: '../../stack.yaml',
      path: path.join(root, 'stack.yaml'),
      display: 'stack.yaml',
      project: 'shop',
      service: 'store',
    });
    expect(loaded.modules.find((m) => m.name === 'db')!.runtime).toBe('compose');
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const root = tempRepo({ 'compose.yaml': BASIC_COMPOSE, 'modules/db/module.yaml': DB_MODULE, ...c.files });
    const { problems, loaded } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
    const got = problems.map((p) => [p.file, p.line, p.column, p.message] as const);
    if (c.expect.length === 0) {
      expect(got).toEqual([]);
      // Valid means every module file was read as that module, not "some module loaded": a count
      // passed even when validate silently skipped the case's own file (db alone made it > 0).
      const files = ['modules/db/module.yaml', ...Object.keys(c.files)].filter((f) =>
        /^modules\/[^/]+\/module\.yaml$/.test(f),
      );
      const names = [...new Set(files.map((f) => f.split('/')[1]!))].sort();
      expect(loaded.modules.map((m) => m.name).sort()).toEqual(names);
      return;
    }
    for (const [, , , message] of got) expect(message).not.toMatch(/ENOENT|must be (number|integer|string)\b/);
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
