/** `stateguard snapshot`: a module's data volumes archived while it is stopped (docs/architecture.md §7). */
import { crashHook } from './restore.js';
import { hostname } from 'node:os';
import path from 'node:path';
import { takeSnapshot } from '../backup/snapshot.js';
import { ExitCode } from '../errors.js';
import { describeHolder } from '../ops/lock.js';
import { downtimeWords, progressIntervalMs } from '../report/progress.js';
import { cell, loadValidModules, pickModule } from './common.js';
import {
  defineCommand,
  DOWNTIME_OUTPUT,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  ROOT_INPUT,
} from './spec.js';

export const snapshotCommand = defineCommand({
  name: 'snapshot',
  title: 'stateguard snapshot',
  description: "Snapshot a module's declared data volumes while its containers are stopped, then start them again.",
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module to snapshot.' },
    {
      name: 'out-dir',
      kind: 'string',
      required: true,
      description: 'Directory that receives MODULE-YYYYMMDDTHHMMSSZ.tar.gz and its .sha256 (created if missing).',
    },
    {
      name: 'ready-timeout-seconds',
      kind: 'integer',
      default: '120',
      description:
        'How long to wait for the stopped containers to be running (and healthy, where they have a healthcheck) ' +
        'again; past it: snapshot-failed.',
    },
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'backup-ref', description: 'Path of the written archive (feed it to backup-ref).' },
    { name: 'sha256', description: 'sha256 of the archive.' },
    { name: 'bytes', description: 'Size of the archive.' },
    {
      ...DOWNTIME_OUTPUT,
      description:
        'Milliseconds from the stop being issued to the module running (and healthy) again; empty when nothing ' +
        'was running (nothing was stopped) and when the snapshot failed.',
    },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const intervalMs = progressIntervalMs(ctx.env);
    const set = await loadValidModules(opts, ctx);
    const mod = pickModule(set, opts.module);
    const result = await takeSnapshot({
      module: mod,
      runtime: ctx.runtime(mod.runtime),
      outDir: path.resolve(ctx.cwd, opts.outDir),
      now: ctx.now(),
      log: ctx.log,
      readyTimeoutSeconds: opts.readyTimeoutSeconds,
      holder: describeHolder(ctx.env, hostname(), process.pid),
      hooks: { crash: crashHook(ctx.env) },
      clock: () => ctx.now(),
      progressIntervalMs: intervalMs,
    });
    return {
      exitCode: ExitCode.ok,
      json: result,
      text:
        `snapshot of ${mod.name} written: ${result.path}\n` +
        `  ${result.bytes} bytes, ${result.entries} entries, volumes ` +
        `${result.volumes.join(', ')}, taken ${result.taken_at}\n` +
        `  sha256 ${result.sha256}\n` +
        `  ${downtimeWords(result.downtime_ms)}`,
      outputs: {
        'backup-ref': result.path,
        sha256: result.sha256,
        bytes: String(result.bytes),
        'downtime-ms': result.downtime_ms === null ? '' : String(result.downtime_ms),
        'failure-reason': '',
      },
      summary:
        `### stateguard snapshot: ` +
        `${cell(mod.name)}\n\n| archive | volumes | entries | bytes | sha256 |\n|---|---|---|---|---|\n` +
        `| ${cell(result.path)} | ${cell(result.volumes.join(', '))} | ${result.entries} | ${result.bytes} | ` +
        `\`${result.sha256}\` |`,
    };
  },
});
