/**
 * Values that cannot carry a payload are not taint (issue 29): numbers and ids, SHAs, booleans, the
 * result of a comparison or of contains()/startsWith(), and boolean/number/choice inputs. Every
 * "safe" shape passes clean; the string-valued neighbours still fail.
 */
import { table, PERMS } from './support.js';

const PRT = `on:\n  pull_request_target:\n${PERMS}`;
const run = (lines: string[]): string =>
  `jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n${lines.map((l) => `          ${l}\n`).join('')}`;

table('SG201 payload-free values', [
  {
    name: 'numbers, ids, SHAs and booleans of the event pass clean',
    yaml:
      PRT +
      run([
        'gh pr view ${{ github.event.pull_request.number }}',
        'echo ${{ github.event.number }} ${{ github.event.pull_request.id }} ${{ github.event.pull_request.head.repo.id }}',
        'git checkout ${{ github.event.pull_request.head.sha }} ${{ github.event.pull_request.base.sha }} ${{ github.sha }}',
        'echo ${{ github.event.pull_request.head.repo.fork }} ${{ github.event.pull_request.draft }} ${{ github.run_id }}',
        'echo ${{ github.event.repository.id }}',
      ]),
  },
  {
    name: 'comparisons, negation and contains()/startsWith() of attacker data pass clean',
    yaml:
      PRT +
      run([
        "echo ${{ contains(github.event.pull_request.title, 'wip') }}",
        "echo ${{ startsWith(github.head_ref, 'release/') }} ${{ endsWith(github.event.pull_request.body, 'x') }}",
        "echo ${{ github.event.pull_request.title == 'x' }} ${{ github.head_ref != 'main' }} ${{ !github.event.pull_request.body }}",
      ]),
  },
  {
    name: 'boolean, number and choice inputs pass clean; a string input and an undeclared one do not',
    yaml:
      `on:\n  workflow_dispatch:\n    inputs:\n      dry: {type: boolean, default: true}\n      count: {type: number, default: 1}\n      level: {type: choice, options: [low, high]}\n      note: {type: string}\n` +
      PERMS +
      run([
        'echo ${{ inputs.dry }} ${{ inputs.count }} ${{ inputs.level }} ${{ github.event.inputs.level }}',
        'echo ${{ inputs.note }} #!SG201',
        'echo ${{ github.event.inputs.note }} #!SG201',
      ]),
  },
  {
    name: 'a workflow_call boolean input passes clean',
    yaml:
      `on:\n  workflow_call:\n    inputs:\n      strict: {type: boolean, required: true}\n      size: {type: number, required: true}\n${PERMS}` +
      run(['echo ${{ inputs.strict }} ${{ inputs.size }}']),
  },
  {
    name: 'still taint: strings next to the numbers, a value picked by || or format(), ids under inputs or client_payload',
    yaml:
      PRT +
      run([
        'echo ${{ github.event.pull_request.head.ref }} #!SG201',
        "echo ${{ github.event.pull_request.title || 'none' }} #!SG201",
        "echo ${{ format('{0}-{1}', github.event.pull_request.number, github.head_ref) }} #!SG201",
        'echo ${{ github.event.client_payload.id }} #!SG201',
        'echo ${{ github.event.pull_request.head.repo.full_name }} #!SG201',
        'echo ${{ fromJSON(github.event.pull_request.body) }} #!SG201',
      ]),
  },
  {
    name: 'a payload-free value through env: is not taint either',
    yaml:
      PRT +
      `env:\n  N: \${{ github.event.pull_request.number }}\n  T: \${{ github.event.pull_request.title }}\n` +
      run(['echo ${{ env.N }}', 'echo ${{ env.T }} #!SG201']),
  },
]);
