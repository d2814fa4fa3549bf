/**
 * The one place stateguard spawns processes. Always an argument array, never a shell, so no input
 * can be interpolated into a command line.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { ExecOptions, ExecResult, ProcessRunner } from './types.js';

export const spawnProcess: ProcessRunner = (command, args, opts: ExecOptions = {}) =>
  new Promise<ExecResult>((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: { ...process.env, DOCKER_CLI_HINTS: 'false', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    const finish = (result: ExecResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(result);
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          finish({ code: 124, stdout, stderr: stderr + `\n(killed after ${opts.timeoutMs} ms)` });
        }, opts.timeoutMs)
      : undefined;
    if (opts.stdoutSink) {
      child.stdout.pipe(opts.stdoutSink, { end: false });
    } else {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        opts.onStdout?.(chunk);
      });
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      opts.onStderr?.(chunk);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish({ code: err.code === 'ENOENT' ? 127 : 126, stdout, stderr: `${command}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      finish({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {
      /* the child may exit before reading stdin; its exit code tells what happened */
    });
    if (opts.feed) {
      let closed = false;
      child.stdin.once('close', () => (closed = true));
      const write = async (chunk: Buffer): Promise<void> => {
        if (closed || settled) throw new Error(`${command} stopped reading its input`);
        if (!child.stdin.write(chunk)) {
          await new Promise<void>((resolve) => {
            child.stdin.once('drain', resolve);
            child.stdin.once('close', resolve);
          });
        }
      };
      opts.feed(write).then(
        () => child.stdin.end(),
        (err: unknown) => {
          // The producer failed: whatever the child made of a partial input must not count.
          stderr += `\n(input aborted: ${err instanceof Error ? err.message : String(err)})`;
          child.kill('SIGKILL');
          finish({ code: 125, stdout, stderr });
        },
      );
    } else if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });

/** Wraps a runner to count the processes it starts (benchmarks, process-count tests). */
export function countingRunner(inner: ProcessRunner): { runner: ProcessRunner; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runner: (command, args, opts) => {
      calls.push([command, ...args]);
      return inner(command, args, opts);
    },
  };
}

// ---- a byte stream to a long-running child (the Engine API over `docker system dial-stdio`) ----

/**
 * Spawn one process (argument array, never a shell) and hand back its stdin/stdout as one duplex
 * stream, for a protocol spoken over them (HTTP to the Engine API through `docker system
 * dial-stdio`, docs/architecture.md §13). The child is killed when the stream closes; what it wrote
 * to stderr is kept for the error message.
 */
export function spawnDuplex(
  command: string,
  args: readonly string[],
  env?: Record<string, string | undefined>,
): { stream: Duplex; stderr: () => string } {
  const child = spawn(command, [...args], {
    env: { ...process.env, DOCKER_CLI_HINTS: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    if (stderr.length < 4096) stderr += c;
  });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  child.on('error', (err) => stream.destroy(err));
  stream.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return { stream, stderr: () => stderr };
}
