/**
 * A tiny REST client for the issue-comment endpoints that GitHub and Forgejo/Gitea share
 * (`/repos/{owner}/{repo}/issues/{n}/comments`, `/repos/{owner}/{repo}/issues/comments/{id}`).
 * It uses global fetch and honours GITHUB_API_URL (Forgejo sets it to `<host>/api/v1`).
 *
 * The token goes only into the Authorization header: it is never part of a URL, an error message
 * or a log line.
 */

export interface IssueComment {
  id: number;
  body: string;
}

export class GitHubApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'GitHubApiError';
  }
}

export interface GitHubClientOptions {
  /** e.g. https://api.github.com or https://codeberg.org/api/v1 */
  apiUrl: string;
  token: string;
  fetch?: typeof fetch;
  /** bound on pages read when listing (100 per page on GitHub, the server's limit on Forgejo) */
  maxPages?: number;
  timeoutMs?: number;
}

export function apiUrlFrom(env: Readonly<Record<string, string | undefined>>): string {
  return (env.GITHUB_API_URL?.trim() || 'https://api.github.com').replace(/\/+$/, '');
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (m) return m[1]!;
  }
  return null;
}

export class GitHubClient {
  private readonly api: string;
  private readonly token: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxPages: number;
  private readonly timeoutMs: number;

  constructor(opts: GitHubClientOptions) {
    this.api = opts.apiUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? fetch;
    this.maxPages = opts.maxPages ?? 50;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private repoPath(repository: string): string {
    const [owner, name, ...rest] = repository.split('/');
    if (!owner || !name || rest.length > 0)
      throw new Error(`GITHUB_REPOSITORY must be owner/name, got ${JSON.stringify(repository)}`);
    return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
  }

  private async request(method: string, url: string, body?: unknown): Promise<Response> {
    const res = await this.fetchImpl(url, {
      method,
      headers: {
        Accept: 'application/vnd.github+json, application/json',
        // `token` works on GitHub and Forgejo/Gitea alike.
        Authorization: `token ${this.token}`,
        'User-Agent': 'stateguard',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) {
      let detail = '';
      try {
        const j = (await res.json()) as { message?: unknown };
        if (typeof j.message === 'string') detail = `: ${j.message.slice(0, 200)}`;
      } catch {
        /* no JSON body */
      }
      // The path only (no query, no token), so the message is safe to log.
      throw new GitHubApiError(`${method} ${new URL(url).pathname} returned HTTP ${res.status}${detail}`, res.status);
    }
    return res;
  }

  /** Every comment of an issue/PR, following Link headers (GitHub, Forgejo) or page numbers. */
  async listIssueComments(repository: string, issue: number): Promise<IssueComment[]> {
    const out: IssueComment[] = [];
    const seen = new Set<number>();
    let url: string | null = `${this.api}${this.repoPath(repository)}/issues/${issue}/comments?per_page=100&page=1`;
    for (let page = 1; url && page <= this.maxPages; page++) {
      const res = await this.request('GET', url);
      const items = (await res.json()) as Array<{ id?: unknown; body?: unknown }>;
      if (!Array.isArray(items))
        throw new GitHubApiError(`listing comments returned ${typeof items}, not an array`, res.status);
      let fresh = 0;
      for (const c of items) {
        if (typeof c.id !== 'number' || seen.has(c.id)) continue;
        seen.add(c.id);
        fresh++;
        out.push({ id: c.id, body: typeof c.body === 'string' ? c.body : '' });
      }
      const header = res.headers.get('link');
      const link = nextLink(header);
      // Follow a next link only on the API's own origin: the token must never go to another host.
      if (link) url = new URL(link, this.api).origin === new URL(this.api).origin ? new URL(link, this.api).href : null;
      // A Link header without rel="next" is the last page.
      else if (header) url = null;
      // No Link header at all: keep paging while pages bring new comments (a server that ignores `page` stops here).
      else
        url =
          items.length > 0 && fresh > 0
            ? `${this.api}${this.repoPath(repository)}/issues/${issue}/comments?per_page=100&page=${page + 1}`
            : null;
    }
    return out;
  }

  async createIssueComment(repository: string, issue: number, body: string): Promise<IssueComment> {
    const res = await this.request('POST', `${this.api}${this.repoPath(repository)}/issues/${issue}/comments`, {
      body,
    });
    const j = (await res.json()) as { id: number; body?: string };
    return { id: j.id, body: j.body ?? body };
  }

  async updateIssueComment(repository: string, commentId: number, body: string): Promise<IssueComment> {
    const res = await this.request('PATCH', `${this.api}${this.repoPath(repository)}/issues/comments/${commentId}`, {
      body,
    });
    const j = (await res.json()) as { id: number; body?: string };
    return { id: j.id ?? commentId, body: j.body ?? body };
  }
}
