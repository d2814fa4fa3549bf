/**
 * actions/plan run from the built bundle exactly as a runner runs it, against the real engine, with
 * a local HTTP server (in a separate process, since the runner helper blocks this one) standing in
 * for the GitHub/Forgejo API: the sticky comment is created once, then updated in place.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE, describeDocker, uniqueProject } from '../support/docker.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { runActionBundle } from '../support/runner.js';

/** A fake comments API; every request is appended to a JSON-lines log file. */
const FAKE_API = `
import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';
const log = process.argv[1];
const comments = [{ id: 1, body: 'a human review comment' }];
let nextId = 100;
const server = createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    appendFileSync(log, JSON.stringify({ method: req.method, path: url.pathname, query: url.search, auth: req.headers.authorization ?? null, body: data ? JSON.parse(data).body : null }) + '\\n');
    const send = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/repos/o/r/issues/7/comments' && req.method === 'GET') {
      const page = Number(url.searchParams.get('page') ?? '1');
      return send(200, page === 1 ? comments : []);
    }
    if (url.pathname === '/repos/o/r/issues/7/comments' && req.method === 'POST') {
      const c = { id: nextId++, body: JSON.parse(data).body };
      comments.push(c);
      return send(201, c);
    }
    const m = /^\\/repos\\/o\\/r\\/issues\\/comments\\/(\\d+)$/.exec(url.pathname);
    if (m && req.method === 'PATCH') {
      const c = comments.find((x) => x.id === Number(m[1]));
      if (!c) return send(404, { message: 'Not Found' });
      c.body = JSON.parse(data).body;
      return send(200, c);
    }
    send(404, { message: 'Not Found' });
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const unmasked = (stdout: string): string =>
  stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

interface Logged {
  method: string;
  path: string;
  auth: string | null;
  body: string | null;
}

describeDocker('actions/plan bundle: outputs, summary and the sticky PR comment', () => {
  let server: ChildProcess;
  let apiUrl = '';
  let logFile = '';
  let root = '';
  const requests = (): Logged[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Logged)
      : [];

  beforeAll(async () => {
    root = tempRepo({
      'compose.yaml': `services:\n  web:\n    image: ${IMAGE}\n    environment:\n      WEB_PASSWORD: never-printed-value\n`,
      'modules/web/module.yaml': moduleYaml(
        'web',
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: ${uniqueProject()}, service: web }\n`,
      ),
    });
    logFile = path.join(root, 'api.log');
    server = spawn(process.execPath, ['--input-type=module', '-e', FAKE_API, logFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<string>((resolve, reject) => {
      server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
      server.once('exit', (code) => reject(new Error(`fake API exited ${code}`)));
    });
    apiUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(() => {
    server?.kill();
    cleanupTempRepos();
  });

  const prRun = (inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
    runActionBundle(
      'plan',
      { root: '.', ...inputs },
      {
        cwd: root,
        eventName: 'pull_request',
        event: { pull_request: { number: 7 } },
        env: { GITHUB_API_URL: apiUrl, GITHUB_REPOSITORY: 'o/r', ...env },
      },
    );

  it('first run creates the comment, second run updates the same one, nothing else is posted', () => {
    const first = prRun();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.outputs.changes).toBe('true');
    expect(JSON.parse(first.outputs['drifted-modules']!)).toEqual(['web']);
    expect(first.outputs['plan-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(first.outputs['plan-json']).toMatch(/sg-runner-[^/]+\/stateguard-plan-[0-9a-f]{12}\.json$/);
    expect(first.outputs['failure-reason']).toBe('');
    expect(first.summary).toContain('### stateguard plan: 1 of 1 module drifted');
    expect(first.summary).toContain('| ⚠️ web | stateless | running |');
    const afterFirst = requests();
    // This server sends no Link header: the client pages by number until an empty page.
    expect(afterFirst.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
    expect(afterFirst[2]!.body).toMatch(
      /^<!-- stateguard:plan root=\. modules=modules%2F\*%2Fmodule\.yaml -->\n### stateguard plan/,
    );

    const second = prRun();
    expect(second.status).toBe(0);
    expect(second.outputs['plan-hash']).toBe(first.outputs['plan-hash']);
    const all = requests();
    const writes = all.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /repos/o/r/issues/7/comments',
      'PATCH /repos/o/r/issues/comments/100',
    ]);
    expect(all.every((r) => r.auth === 'token gh-test-token')).toBe(true);
    for (const r of [first, second]) {
      expect(r.stdout).toContain('plan: ');
      // `::add-mask::` is the runner's own masking command; nothing else may show the token.
      expect(unmasked(r.stdout)).not.toContain('gh-test-token');
      expect(r.stdout + r.summary).not.toContain('never-printed-value');
    }
    expect(second.stdout).toContain('updated the plan comment on o/r#7 (comment 100)');
  });

  it('--out is the plan-json output and holds the plan; detailed-exitcode drift does not fail the step', () => {
    const out = path.join(root, 'plans', 'plan.json');
    const r = prRun({ out, 'detailed-exitcode': 'true', comment: 'false' });
    expect(r.status).toBe(0);
    expect(r.outputs['plan-json']).toBe(out);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
      schema: 'stateguard/plan/v1',
      plan_hash: r.outputs['plan-hash'],
    });
  });

  it('an API that cannot be reached is a warning, never a failed plan', () => {
    const before = requests().length;
    const r = prRun({}, { GITHUB_API_URL: 'http://127.0.0.1:1' });
    expect(r.status).toBe(0);
    expect(r.outputs.changes).toBe('true');
    expect(r.stdout).toMatch(/^::warning::plan: could not post the PR comment on o\/r#7: /m);
    expect(unmasked(r.stdout)).not.toContain('gh-test-token');
    expect(requests()).toHaveLength(before);
  });

  it('no comment outside pull request events', () => {
    const before = requests().length;
    const r = runActionBundle(
      'plan',
      { root: '.' },
      { cwd: root, eventName: 'push', env: { GITHUB_API_URL: apiUrl, GITHUB_REPOSITORY: 'o/r' } },
    );
    expect(r.status).toBe(0);
    expect(requests()).toHaveLength(before);
  });

  it('engine unreachable: the action fails closed with docker-unavailable', () => {
    const r = prRun({}, { DOCKER_HOST: 'unix:///nonexistent/sg.sock' });
    expect(r.status).not.toBe(0);
    expect(r.outputs['failure-reason']).toBe('docker-unavailable');
    expect(r.stdout).toContain('DOCKER_HOST=unix:///nonexistent/sg.sock');
  });
});
