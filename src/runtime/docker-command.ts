/**
 * What every part of the docker adapter goes through to reach the engine: the process runner, the
 * child environment (an explicit env carries DOCKER_HOST/DOCKER_CONTEXT to every child), `docker
 * <args>`, the Engine API over `docker system dial-stdio`, and the engine ping. Each adapter (DockerCli,
 * ./docker-cli.ts; SwarmCli, ./swarm-cli.ts) makes one and shares it with all its parts, so they run
 * the same commands against the same engine.
 */
import { EnvironmentError } from '../errors.js';
import { describeEngine, firstLine } from './docker-parsers.js';
import { EngineApi, type Dialer } from './engine-api.js';
import { spawnDuplex, spawnProcess } from './process.js';
import type { ExecOptions, ExecResult, ProcessRunner } from './types.js';

export interface DockerCommandOptions {
  runner?: ProcessRunner;
  env?: Readonly<Record<string, string | undefined>>;
  /** opens a byte stream to the Engine API (default: `docker system dial-stdio`; tests pass a fake) */
  dial?: Dialer;
}

/** End a quoted message with exactly one sentence mark. */
function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

export class DockerCommand {
  readonly run: ProcessRunner;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * an explicit env (not process.env) is passed to every child, so DOCKER_HOST/DOCKER_CONTEXT given
   * there are honoured
   */
  private readonly childEnv: Readonly<Record<string, string | undefined>> | undefined;
  private pinged: Promise<void> | undefined;
  private readonly dial: Dialer;
  private api: EngineApi | undefined;

  constructor(opts: DockerCommandOptions = {}) {
    this.run = opts.runner ?? spawnProcess;
    this.dial = opts.dial ?? (() => spawnDuplex('docker', ['system', 'dial-stdio'], this.childEnv));
    this.env = opts.env ?? process.env;
    this.childEnv = opts.env && opts.env !== process.env ? opts.env : undefined;
  }

  withEnv(opts?: ExecOptions): ExecOptions | undefined {
    if (!this.childEnv) return opts;
    return { ...opts, env: { ...this.childEnv, ...opts?.env } };
  }

  /** `docker <args>` with an argument array: private to the adapter (the domain has no docker argv). */
  docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.run('docker', args, this.withEnv(opts));
  }

  /** The Engine API through `docker system dial-stdio` (same DOCKER_HOST, context, ssh, TLS). */
  engine(): EngineApi {
    this.api ??= new EngineApi(this.dial);
    return this.api;
  }

  ping(): Promise<void> {
    this.pinged ??= (async () => {
      const r = await this.docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 30_000 });
      if (r.code !== 0 || r.stdout.trim() === '') {
        this.pinged = undefined;
        throw new EnvironmentError(
          `Cannot reach the Docker engine via ${describeEngine(this.env)}: ` +
            `${sentence(firstLine(r.stderr) || `docker exited ${r.code}`)} ` +
            `Start the engine, or point DOCKER_HOST / 'docker context use' at the host that runs the services.`,
        );
      }
    })();
    return this.pinged;
  }
}
