import { describe, expect, it } from '@jest/globals';
import { closest, editDistance } from '../../src/model/suggest.js';

const KEYS = ['expected_state', 'timeout_seconds'];
const MODULES = ['db', 'db-init', 'web', 'cache'];

describe('validate suggestions: the closest known word, only when close', () => {
  it.each([
    ['expected_sate', KEYS, 'expected_state'],
    ['expected-state', KEYS, 'expected_state'],
    ['timeout_secnods', KEYS, 'timeout_seconds'],
    ['Expected_State', KEYS, 'expected_state'],
    ['retries', KEYS, undefined],
    ['dbx', MODULES, 'db'],
    ['db-int', MODULES, 'db-init'],
    ['wbe', MODULES, 'web'],
    ['api', MODULES, undefined],
    ['x', MODULES, undefined],
    ['db', MODULES, undefined],
    ['cahce', MODULES, 'cache'],
  ] as const)('%s among %j -> %s', (word, known, want) => {
    expect(closest(word, known)).toBe(want);
  });

  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('projcet', 'project')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
