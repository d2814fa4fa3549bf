/**
 * The module lock on Swarm (docs/architecture.md §14): a `docker config` named after the lock,
 * labelled like the compose lock. A config's name is unique across the swarm's managers, so two
 * runners on two managers cannot both take it. A part of the Swarm adapter (./swarm-cli.ts); its
 * other records (run records, last-known-good, journal marks) are the compose adapter's
 * (./docker-records.ts).
 */
import { createHash } from 'node:crypto';
import { EnvironmentError } from '../errors.js';
import type { DockerCommand } from './docker-command.js';
import { firstLine } from './docker-parsers.js';
import type { EngineLock, ExecOptions, ExecResult } from './types.js';

/** A config name valid on the engine (≤ 64 characters), derived from the lock's name. */
export function lockConfigName(name: string): string {
  if (name.length <= 64 && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/.test(name)) return name;
  return `stateguard-lock-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

export class SwarmLock {
  constructor(private readonly command: DockerCommand) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  /** True when this call created the config, false when it exists already. */
  async create(name: string, labels: Record<string, string>): Promise<boolean> {
    const config = lockConfigName(name);
    const r = await this.docker(
      [
        'config',
        'create',
        ...Object.entries({ ...labels, 'io.stateguard.lock-name': name }).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        config,
        '-',
      ],
      { input: `stateguard lock ${name}\n` },
    );
    if (r.code === 0) return true;
    if (/already exists|AlreadyExists|conflict/i.test(r.stderr)) return false;
    throw new EnvironmentError(`cannot take the lock ${name} (docker config ${config}): ${firstLine(r.stderr)}`);
  }

  async read(name: string): Promise<EngineLock | null> {
    const config = lockConfigName(name);
    const r = await this.docker(['config', 'inspect', config]);
    if (r.code !== 0) {
      if (/no such config|not found/i.test(r.stderr)) return null;
      throw new EnvironmentError(`docker config inspect ${config} failed: ${firstLine(r.stderr)}`);
    }
    const [c] = JSON.parse(r.stdout.trim() || '[]') as Array<{ ID: string; CreatedAt?: string; Spec?: any }>;
    if (!c) return null;
    return {
      id: c.ID,
      name: String(c.Spec?.Name ?? config),
      labels: c.Spec?.Labels ?? {},
      createdAt: c.CreatedAt ?? '',
    };
  }

  async remove(id: string): Promise<void> {
    const r = await this.docker(['config', 'rm', id]);
    if (r.code !== 0 && !/no such config|not found/i.test(r.stderr)) {
      throw new EnvironmentError(`docker config rm ${id} failed: ${firstLine(r.stderr)}`);
    }
  }
}
