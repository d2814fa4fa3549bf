/**
 * SG201 through outputs (issue 29, miss 1): a step output, a job output or a dynamic matrix built
 * from attacker data and then interpolated into a run: is the same injection as the attacker value
 * itself. Workflows written for stateguard's tests.
 */
import { expect, it } from '@jest/globals';
import { lint, PERMS, table } from './support.js';

const ISSUES = `on:\n  issues:\n    types: [opened]\n${PERMS}`;

table('SG201 through step outputs, job outputs and matrices', [
  {
    name: 'a step output written from a tainted env var, read in a later run:',
    yaml:
      `${ISSUES}jobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n      - id: meta\n        env:\n          TITLE: \${{ github.event.issue.title }}\n` +
      `        run: echo "label=$TITLE" >> "$GITHUB_OUTPUT"\n      - run: |\n          echo preparing\n          ./tag.sh "\${{ steps.meta.outputs.label }}" #!SG201\n`,
  },
  {
    name: 'a step output from a uses: step given attacker data',
    yaml:
      `${ISSUES}jobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n      - id: slug\n        uses: ./.github/actions/slugify\n        with:\n          text: \${{ github.event.issue.body }}\n` +
      `      - run: ./publish \${{ steps.slug.outputs.value }} #!SG201\n`,
  },
  {
    name: 'a job output set from attacker data, read through needs in another job',
    yaml:
      `${ISSUES}jobs:\n  read:\n    runs-on: ubuntu-latest\n    outputs:\n      heading: \${{ github.event.issue.title }}\n    steps:\n      - run: echo reading\n` +
      `  use:\n    needs: read\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "\${{ needs.read.outputs.heading }}" > note.txt #!SG201\n`,
  },
  {
    name: 'a job output passed on from a tainted step output, then through env: to ${{ env.X }}',
    yaml:
      `${ISSUES}jobs:\n  read:\n    runs-on: ubuntu-latest\n    outputs:\n      who: \${{ steps.author.outputs.name }}\n    steps:\n      - id: author\n        env:\n          LOGIN: \${{ github.event.issue.user.login }}\n        run: echo "name=$LOGIN" >> $GITHUB_OUTPUT\n` +
      `  greet:\n    needs: [read]\n    runs-on: ubuntu-latest\n    env:\n      WHO: \${{ needs.read.outputs.who }}\n    steps:\n      - run: echo hi \${{ env.WHO }} #!SG201\n`,
  },
  {
    name: 'a dynamic matrix from a tainted job output, read as matrix.x in a run:',
    yaml:
      `${ISSUES}jobs:\n  plan:\n    runs-on: ubuntu-latest\n    outputs:\n      targets: \${{ steps.t.outputs.list }}\n    steps:\n      - id: t\n        env:\n          BODY: \${{ github.event.issue.body }}\n        run: echo "list=$BODY" >> "$GITHUB_OUTPUT"\n` +
      `  build:\n    needs: plan\n    runs-on: ubuntu-latest\n    strategy:\n      matrix: \${{ fromJSON(needs.plan.outputs.targets) }}\n    steps:\n      - run: make \${{ matrix.target }} #!SG201\n`,
  },
  {
    name: 'a matrix key listing attacker data directly',
    yaml: `${ISSUES}jobs:\n  build:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        name: ['\${{ github.event.issue.title }}']\n        os: [a, b]\n    steps:\n      - run: echo \${{ matrix.name }} on \${{ matrix.os }} #!SG201\n`,
  },
  {
    name: 'near-miss: outputs of a step that reads nothing untrusted, a literal matrix, the outcome of a tainted step',
    yaml:
      `${ISSUES}jobs:\n  read:\n    runs-on: ubuntu-latest\n    outputs:\n      when: \${{ steps.clock.outputs.now }}\n    strategy:\n      matrix:\n        os: [a, b]\n    steps:\n      - id: clock\n        run: echo "now=$(date +%s)" >> "$GITHUB_OUTPUT"\n` +
      `      - id: t\n        env:\n          TITLE: \${{ github.event.issue.title }}\n        run: echo "x=$TITLE" >> "$GITHUB_OUTPUT"\n      - run: echo \${{ steps.clock.outputs.now }} \${{ matrix.os }} \${{ steps.t.outcome }}\n` +
      `  use:\n    needs: read\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \${{ needs.read.outputs.when }} \${{ needs.read.result }}\n`,
  },
]);

it('the message names the output and the attacker data behind it', async () => {
  const problems = await lint(
    `${ISSUES}jobs:\n  j:\n    runs-on: x\n    steps:\n      - id: meta\n        env:\n          TITLE: \${{ github.event.issue.title }}\n        run: echo "t=$TITLE" >> "$GITHUB_OUTPUT"\n      - run: echo \${{ steps.meta.outputs.t }}\n`,
  );
  expect(problems).toHaveLength(1);
  expect(problems[0]!.message).toContain('steps.meta.outputs.t');
  expect(problems[0]!.message).toContain('github.event.issue.title');
  expect(problems[0]!.message).not.toMatch(/\n/);
});
