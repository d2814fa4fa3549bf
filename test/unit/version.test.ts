/**
 * One version: what `--version` prints and SARIF reports carry (src/version.ts) is the version
 * in package.json, which the release workflows compare with the vX.Y.Z tag.
 */
import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { VERSION } from '../../src/version.js';
import { REPO } from '../support/runner.js';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

it('src/version.ts equals package.json version, and it is plain semver X.Y.Z', () => {
  expect(VERSION).toBe(pkg.version);
  expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
});

it('CHANGELOG.md has a section for this version', () => {
  const changelog = readFileSync(path.join(REPO, 'CHANGELOG.md'), 'utf8');
  expect(changelog).toMatch(new RegExp(`^## \\[${VERSION.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
  expect(changelog).toMatch(/^## \[Unreleased\]$/m);
  expect(changelog).toContain(`[${VERSION}]: `);
});
