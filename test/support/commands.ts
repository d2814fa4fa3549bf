/**
 * Shared ways to drive the real CLI and action layers in unit tests (over a fake engine), and a
 * local fake of GitHub's issue-comments API on 127.0.0.1 for the PR comment path.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runAction, type ActionCore } from '../../src/action.js';
import { runCli } from '../../src/cli.js';
import type { Runtime } from '../../src/runtime/types.js';
import { REPO } from './runner.js';

export interface RecordedAction {
  code: number;
  outputs: Record<string, string>;
  failed: string[];
  logs: string[];
  summaries: string[];
}

export function recordingCore(rec: RecordedAction): ActionCore {
  return {
    setOutput: (k, v) => void (rec.outputs[k] = v),
    setSecret: () => undefined,
    setFailed: (m) => void rec.failed.push(m),
    info: (m) => void rec.logs.push(m),
    warning: (m) => void rec.logs.push(m),
    error: (m) => void rec.logs.push(m),
    notice: (m) => void rec.logs.push(m),
    writeSummary: async (s) => void rec.summaries.push(s),
  };
}

/** Run action `name` with `inputs` (hyphenated names, as the runner sets INPUT_*) and extra env. */
export async function actionRun(
  name: string,
  inputs: Record<string, string>,
  rt: Runtime,
  opts: { env?: Record<string, string>; cwd?: string; now?: () => Date } = {},
): Promise<RecordedAction> {
  const rec: RecordedAction = { code: -1, outputs: {}, failed: [], logs: [], summaries: [] };
  const env: Record<string, string> = { ...opts.env };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  rec.code = await runAction(name, {
    env,
    cwd: opts.cwd ?? REPO,
    core: recordingCore(rec),
    runtime: () => rt,
    now: opts.now ?? (() => new Date()),
  });
  return rec;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cliRun(
  args: string[],
  rt: Runtime,
  opts: { env?: Record<string, string>; cwd?: string; now?: () => Date } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: opts.env ?? {},
    cwd: opts.cwd ?? REPO,
    now: opts.now ?? (() => new Date()),
    runtime: () => rt,
  });
  return { code, stdout, stderr };
}

/** A fake comments API (GitHub/Forgejo shape) on loopback; records every request body. */
export async function fakeCommentsApi(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  let nextId = 1;
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(data);
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET') return void res.end('[]');
      res.statusCode = 201;
      res.end(JSON.stringify({ id: nextId++, body: '' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}
