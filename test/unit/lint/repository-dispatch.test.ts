/**
 * `on: repository_dispatch` is a valid trigger in every form; GitHub's parser schema named the
 * wrong constant for its string form (docs/architecture.md §9), and stateguard patches around it.
 */
import { expect, it } from '@jest/globals';
import { found, lint, PERMS } from './support.js';

const body = `${PERMS}jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo dispatched\n`;

it.each([
  ['string form', 'on: repository_dispatch\n'],
  ['list form', 'on: [repository_dispatch, push]\n'],
  ['block list form', 'on:\n  - push\n  - repository_dispatch\n'],
  ['map form with types', 'on:\n  repository_dispatch:\n    types: [deploy-request]\n'],
  ['map form, null', 'on:\n  repository_dispatch:\n'],
])('on: repository_dispatch, %s, is valid', async (_name, on) => {
  expect(found(await lint(on + body))).toEqual([]);
});

it('branch_protection_rule stays valid and a misspelt trigger is still refused', async () => {
  expect(found(await lint('on: branch_protection_rule\n' + body))).toEqual([]);
  expect(found(await lint('on: repository_dispatched\n' + body))).toEqual(['SG000@1']);
});
