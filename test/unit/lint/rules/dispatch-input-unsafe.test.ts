/**
 * SG103 dispatch-input-unsafe (src/lint/rules/dispatch-input-unsafe.ts, docs/rules.md SG103): the
 * shape of every workflow input that feeds consent, whatever its name. Each case asserts the complete
 * list of problems (`#!SGnnn` markers on the expected lines).
 */
import { SAFE_APPLY, table } from '../support.js';

table('SG103 dispatch-input-unsafe', [
  {
    name: 'allow_stateful as a string defaulting to true',
    yaml: SAFE_APPLY.replace(
      '      allow_stateful:\n        type: boolean\n        default: false',
      "      allow_stateful:\n        type: string #!SG103\n        default: 'false' #!SG103",
    ),
  },
  {
    name: 'allow_stateful defaulting to true',
    yaml: SAFE_APPLY.replace(
      '        type: boolean\n        default: false',
      '        type: boolean\n        default: true #!SG103',
    ),
  },
  {
    name: 'allow_stateful without a default',
    yaml: SAFE_APPLY.replace('      allow_stateful: #', '').replace(
      '      allow_stateful:\n        type: boolean\n        default: false',
      '      allow_stateful: #!SG103\n        type: boolean',
    ),
  },
  {
    name: 'stateful_confirm with a default',
    yaml: SAFE_APPLY.replace(
      '      stateful_confirm:\n        type: string\n        required: true',
      "      stateful_confirm:\n        type: string\n        required: true\n        default: '' #!SG103",
    ),
  },
  {
    name: 'backup_ref not required',
    yaml: SAFE_APPLY.replace(
      '      backup_ref:\n        type: string\n        required: true',
      '      backup_ref:\n        type: string\n        required: false #!SG103',
    ),
  },
  {
    name: 'backup_ref with no required key',
    yaml: SAFE_APPLY.replace(
      '      backup_ref:\n        type: string\n        required: true',
      '      backup_ref: #!SG103\n        type: string',
    ),
  },
  {
    name: 'near-miss: other inputs may have defaults',
    yaml: SAFE_APPLY.replace(
      '      module:\n        type: string\n        required: true',
      '      module:\n        type: string\n        default: store',
    ),
  },
]);
