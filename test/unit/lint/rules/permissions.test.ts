/**
 * SG202 permissions (src/lint/rules/permissions.ts, docs/rules.md SG202): a least-privilege token.
 * Each case asserts the complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { PERMS, table } from '../support.js';

table('SG202 permissions', [
  {
    name: 'no top-level permissions',
    yaml: '#!SG202\non: workflow_dispatch\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo\n',
  },
  {
    name: 'write-all at the top',
    yaml: 'on: workflow_dispatch\npermissions: write-all #!SG202\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo\n',
  },
  {
    name: 'write-all on a job',
    yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  j:\n    runs-on: x\n    permissions: write-all #!SG202\n    steps:\n      - run: echo\n`,
  },
  {
    name: 'near-miss: read-all and empty permissions',
    yaml: 'on: workflow_dispatch\npermissions: read-all\njobs:\n  j:\n    runs-on: x\n    permissions: {}\n    steps:\n      - run: echo\n',
  },
]);
