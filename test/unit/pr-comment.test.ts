/** The sticky PR comment logic over an in-memory fake of the GitHub/Forgejo comments API (no network). */
import { describe, expect, it } from '@jest/globals';
import { GitHubClient, nextLink } from '../../src/report/github.js';
import { renderPlanMarkdown } from '../../src/report/plan-render.js';
import { planCommentMarker, pullRequestFromEnv, upsertStickyComment } from '../../src/report/pr-comment.js';
import type { Plan } from '../../src/drift/types.js';
import { withPlanHash } from '../support/plans.js';

interface Req {
  method: string;
  url: string;
  auth: string | null;
  body?: { body: string };
}

/** A fake comments API: pages of `pageSize`, Link headers optional (GitHub/Forgejo send them). */
function fakeApi(
  opts: { comments?: Array<{ id: number; body: string }>; pageSize?: number; link?: boolean; failWith?: number } = {},
) {
  const comments = [...(opts.comments ?? [])];
  const reqs: Req[] = [];
  let nextId = 1000;
  const pageSize = opts.pageSize ?? 2;
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { body: string }) : undefined;
    reqs.push({ method, url: url.href, auth: headers.get('authorization'), body });
    if (opts.failWith)
      return new Response(JSON.stringify({ message: 'Resource not accessible by integration' }), {
        status: opts.failWith,
      });
    const list = /^\/api\/repos\/o\/r\/issues\/7\/comments$/.exec(url.pathname);
    if (list && method === 'GET') {
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = comments.slice((page - 1) * pageSize, page * pageSize);
      const h = new Headers({ 'content-type': 'application/json' });
      if (opts.link !== false && page * pageSize < comments.length) {
        h.set(
          'link',
          `<${url.origin}${url.pathname}?per_page=100&page=${page + 1}>; rel="next", <${url.origin}${url.pathname}?page=9>; rel="last"`,
        );
      } else if (opts.link !== false && page > 1) {
        // GitHub's last page: a Link header without rel="next"
        h.set('link', `<${url.origin}${url.pathname}?per_page=100&page=${page - 1}>; rel="prev"`);
      }
      return new Response(JSON.stringify(items), { status: 200, headers: h });
    }
    if (list && method === 'POST') {
      const c = { id: nextId++, body: body!.body };
      comments.push(c);
      return new Response(JSON.stringify(c), { status: 201 });
    }
    const patch = /^\/api\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (patch && method === 'PATCH') {
      const c = comments.find((x) => x.id === Number(patch[1]));
      if (!c) return new Response('{"message":"Not Found"}', { status: 404 });
      c.body = body!.body;
      return new Response(JSON.stringify(c), { status: 200 });
    }
    return new Response('{"message":"Not Found"}', { status: 404 });
  }) as typeof fetch;
  return { comments, reqs, fetchImpl };
}

const PLAN: Plan = {
  schema: 'stateguard/plan/v1',
  compose: { flavor: 'v2', version: '2.26.1' },
  modules: [
    withPlanHash({
      name: 'store-init',
      class: 'sidecar',
      expected_state: 'exited-success',
      compose: { project: 'platform', service: 'store-init', file: 'compose/core/compose.yaml' },
      observed: { container_id: 'abc', state: 'exited', exit_code: 1, image: 'stateguard/busybox:1.0.0', health: null },
      drift: [
        {
          key: 'container.state.exited_success',
          declared: 'exited (0)',
          observed: 'exited (1)',
          reason: 'exited-nonzero',
        },
      ],
      in_sync: false,
    }),
  ],
  summary: { modules: 1, drifted: 1 },
  stateful_modules: [],
  plan_hash: 'a'.repeat(64),
};
const target = { apiUrl: 'http://api.test/api', repository: 'o/r', number: 7 };
const marker = planCommentMarker({ root: '.', modules: 'modules/*/module.yaml' });

describe('upsertStickyComment', () => {
  it('first run creates, second run updates the same comment, nothing else is posted', async () => {
    const api = fakeApi({
      comments: [
        { id: 1, body: 'LGTM' },
        { id: 2, body: 'another bot' },
        { id: 3, body: 'human' },
      ],
    });
    const client = new GitHubClient({ apiUrl: target.apiUrl, token: 'tok-123', fetch: api.fetchImpl });
    const first = await upsertStickyComment(client, target, marker, 'plan v1');
    expect(first.action).toBe('created');
    const second = await upsertStickyComment(client, target, marker, 'plan v2');
    expect(second).toEqual({ action: 'updated', id: first.id });
    expect(api.comments.filter((c) => c.body.includes('stateguard:plan'))).toEqual([
      { id: first.id, body: `${marker}\nplan v2` },
    ]);
    expect(api.reqs.filter((r) => r.method !== 'GET').map((r) => r.method)).toEqual(['POST', 'PATCH']);
    expect(api.reqs.every((r) => r.auth === 'token tok-123')).toBe(true);
    expect(api.reqs.some((r) => r.url.includes('tok-123'))).toBe(false);
  });

  it('finds the marker on a later page (Link header pagination)', async () => {
    const api = fakeApi({
      comments: [
        { id: 1, body: 'a' },
        { id: 2, body: 'b' },
        { id: 3, body: 'c' },
        { id: 4, body: `${marker}\nold` },
      ],
      pageSize: 2,
    });
    const client = new GitHubClient({ apiUrl: target.apiUrl, token: 't', fetch: api.fetchImpl });
    expect(await upsertStickyComment(client, target, marker, 'new')).toEqual({ action: 'updated', id: 4 });
    expect(api.reqs.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it('pages by number when the server sends no Link header, and stops on an empty page', async () => {
    const api = fakeApi({
      comments: [
        { id: 1, body: 'a' },
        { id: 2, body: 'b' },
        { id: 3, body: `${marker}\nold` },
      ],
      pageSize: 2,
      link: false,
    });
    const client = new GitHubClient({ apiUrl: target.apiUrl, token: 't', fetch: api.fetchImpl });
    expect(await upsertStickyComment(client, target, marker, 'new')).toEqual({ action: 'updated', id: 3 });
  });

  it('a plan of another scope (other root/glob) is a different comment', async () => {
    const other = planCommentMarker({ root: 'platform-b', modules: 'modules/*/module.yaml' });
    const api = fakeApi({ comments: [{ id: 5, body: `${other}\nB plan` }] });
    const client = new GitHubClient({ apiUrl: target.apiUrl, token: 't', fetch: api.fetchImpl });
    expect((await upsertStickyComment(client, target, marker, 'A plan')).action).toBe('created');
    expect(api.comments.find((c) => c.id === 5)!.body).toBe(`${other}\nB plan`);
  });

  it('an API error is thrown with status and path, never the token', async () => {
    const api = fakeApi({ failWith: 403 });
    const client = new GitHubClient({ apiUrl: target.apiUrl, token: 'ghs_secret', fetch: api.fetchImpl });
    const err = (await upsertStickyComment(client, target, marker, 'x').catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      'GET /api/repos/o/r/issues/7/comments returned HTTP 403: Resource not accessible by integration',
    );
    expect(err.message).not.toContain('ghs_secret');
  });
});

describe('planCommentMarker', () => {
  it('cannot be closed early by a hostile root or glob', () => {
    const m = planCommentMarker({ root: 'x --> <script>', modules: 'a\n-->b' });
    expect(m.startsWith('<!-- stateguard:plan ')).toBe(true);
    expect(m.indexOf('-->')).toBe(m.length - 3);
    expect(m).not.toContain('\n');
  });
  it('differs by root, glob and module', () => {
    const a = planCommentMarker({ root: '.', modules: 'm/*.yaml' });
    expect(
      new Set([
        a,
        planCommentMarker({ root: 'b', modules: 'm/*.yaml' }),
        planCommentMarker({ root: '.', modules: 'n/*.yaml' }),
        planCommentMarker({ root: '.', modules: 'm/*.yaml', module: 'x' }),
      ]).size,
    ).toBe(4);
  });
});

describe('pullRequestFromEnv', () => {
  const read = (json: unknown) => () => JSON.stringify(json);
  const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REPOSITORY: 'o/r', GITHUB_EVENT_PATH: '/e.json' };
  it.each([
    [
      'pull_request with pull_request.number',
      env,
      { pull_request: { number: 7 } },
      { target: { apiUrl: 'https://api.github.com', repository: 'o/r', number: 7 } },
    ],
    [
      'pull_request_target, Forgejo API URL',
      { ...env, GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_API_URL: 'https://git.example/api/v1/' },
      { number: 9 },
      { target: { apiUrl: 'https://git.example/api/v1', repository: 'o/r', number: 9 } },
    ],
    ['push event', { ...env, GITHUB_EVENT_NAME: 'push' }, {}, { skip: "event 'push' is not a pull request" }],
    [
      'no repository',
      { ...env, GITHUB_REPOSITORY: '' },
      { number: 1 },
      { skip: 'GITHUB_REPOSITORY is not set to owner/name' },
    ],
    [
      'number not a number',
      env,
      { pull_request: { number: '7; DROP' } },
      { skip: 'the event payload has no pull request number' },
    ],
  ])('%s', (_n, e, payload, want) => {
    expect(pullRequestFromEnv(e, read(payload))).toEqual(want);
  });
});

describe('rendering', () => {
  it('markdown holds the drift and the hash, and is bounded', () => {
    const md = renderPlanMarkdown(PLAN);
    expect(md).toContain('### stateguard plan: 1 of 1 module drifted');
    // The module's own hash — what apply takes — not the whole plan's (which apply would refuse).
    expect(md).toContain(
      `| ⚠️ store-init | sidecar | exited-success | platform/store-init | exited (1) | container.state.exited_success: declared exited (0), observed exited (1) (exited-nonzero) | \`${PLAN.modules[0]!.plan_hash}\` |`,
    );
    expect(md).not.toContain(PLAN.plan_hash);
    expect(md).toContain('Planned with compose v2 2.26.1.');
    const many: Plan = {
      ...PLAN,
      modules: Array.from({ length: 500 }, (_, i) => ({ ...PLAN.modules[0]!, name: `m${i}` })),
      summary: { modules: 500, drifted: 500 },
    };
    const bounded = renderPlanMarkdown(many, { maxChars: 5000 });
    expect(bounded.length).toBeLessThanOrEqual(5000);
    expect(bounded).toMatch(/…and \d+ more modules \(see the plan JSON\)\./);
  });
  it('nextLink parses rel="next"', () => {
    expect(nextLink('<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"')).toBe('https://a/x?page=2');
    expect(nextLink('<https://a/x?page=1>; rel="prev"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});
