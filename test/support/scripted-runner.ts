/**
 * A process runner for adapter unit tests: answers each command line from a script (first matching
 * pattern), records every argument array, and spawns nothing.
 */
import type { ExecOptions, ExecResult, ProcessRunner } from '../../src/runtime/types.js';

export type Reply = ExecResult | ((args: string[], opts?: ExecOptions) => ExecResult);

export function scripted(replies: Array<[RegExp, Reply]>): {
  runner: ProcessRunner;
  calls: Array<{ cmd: string; args: string[]; opts?: ExecOptions }>;
} {
  const calls: Array<{ cmd: string; args: string[]; opts?: ExecOptions }> = [];
  return {
    calls,
    runner: async (cmd, args, opts) => {
      calls.push({ cmd, args: [...args], opts });
      const line = [cmd, ...args].join(' ');
      const hit = replies.find(([re]) => re.test(line));
      if (!hit) return { code: 127, stdout: '', stderr: `unscripted: ${line}` };
      return typeof hit[1] === 'function' ? hit[1]([...args], opts) : hit[1];
    },
  };
}

export const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
