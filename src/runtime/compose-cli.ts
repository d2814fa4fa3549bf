/**
 * A compose project through the compose CLI (v2 `docker compose`, else v1 `docker-compose`): which
 * flavor answers and its version, the one command line for a target, the one reading of a compose
 * file (`config`, with each service's config hash as `up` writes it), the hashes of a service with
 * an override file, and the `up`/`down` of a project. DockerCli (./docker-cli.ts) hands its compose
 * methods to this part; the Swarm adapter (./swarm-cli.ts) has the stack's own and asks it only for
 * the flavor.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EnvironmentError, UserError } from '../errors.js';
import {
  commandLine,
  composeRenderError,
  enabledProfiles,
  parseRenderedJson,
  profilesOf,
  splitByProfiles,
} from './compose-render.js';
import type { DockerCommand } from './docker-command.js';
import { builtImageName, firstLine, parseConfigHashes, parseRenderedYaml } from './docker-parsers.js';
import type {
  ComposeInfo,
  ComposeTarget,
  ExecOptions,
  ExecResult,
  RenderedProject,
  RenderedService,
  RenderOptions,
  ServiceValues,
} from './types.js';

/** The top-level `version` of a compose file (v1 refuses an override file whose version differs). */
function composeVersion(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { version?: unknown } | null;
    return typeof doc?.version === 'string' || typeof doc?.version === 'number' ? String(doc.version) : undefined;
  } catch {
    return undefined;
  }
}

/** Build the compose command line for a target (DockerCli.composeArgs, for unit tests of both flavors). */
export function composeArgs(flavor: 'v1' | 'v2', target: ComposeTarget, args: readonly string[]): [string, string[]] {
  const base = target.files.flatMap((f) => ['-f', f]).concat(['-p', target.project], args);
  return flavor === 'v2' ? ['docker', ['compose', ...base]] : ['docker-compose', base];
}

export class ComposeCli {
  private flavor: Promise<'v1' | 'v2'> | undefined;
  private v2: Promise<string | null> | undefined;
  private info: Promise<ComposeInfo> | undefined;

  /** `forced`: a compose flavor to use instead of probing (`v1`/`v2`; any other value probes) */
  constructor(
    private readonly command: DockerCommand,
    forced: string | undefined,
  ) {
    if (forced === 'v1' || forced === 'v2') this.flavor = Promise.resolve(forced);
  }

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  composeFlavor(): Promise<'v1' | 'v2'> {
    this.flavor ??= (async () => ((await this.v2Version()) !== null ? ('v2' as const) : ('v1' as const)))();
    return this.flavor;
  }

  /** `docker compose version --short` once, or null when the v2 plugin does not answer. */
  private v2Version(): Promise<string | null> {
    this.v2 ??= (async () => {
      const r = await this.docker(['compose', 'version', '--short']);
      const v = r.stdout.trim().replace(/^v/, '');
      return r.code === 0 && /^\d/.test(v) ? v : null;
    })();
    return this.v2;
  }

  composeInfo(): Promise<ComposeInfo> {
    // Runs beside the engine ping at the start of a plan, so v1's Python start-up (~0.5 s) costs
    // no extra wall time there.
    this.info ??= (async () => {
      const flavor = await this.composeFlavor();
      if (flavor === 'v2') {
        const version = await this.v2Version();
        if (version === null) {
          throw new EnvironmentError(
            'STATEGUARD_COMPOSE=v2, but `docker compose version` does not answer: install the compose v2 plugin, or ' +
              'set STATEGUARD_COMPOSE=v1 or auto.',
            'compose-error',
          );
        }
        return { flavor, version };
      }
      const r = await this.command.run('docker-compose', ['version', '--short'], this.command.withEnv());
      if (r.code === 127) {
        throw new EnvironmentError(
          'Neither `docker compose` (v2) nor `docker-compose` (v1) is installed; install one of them.',
          'compose-error',
        );
      }
      const version = r.stdout.trim().replace(/^v/, '');
      if (r.code !== 0 || !/^\d/.test(version)) {
        throw new EnvironmentError(
          `docker-compose version failed: ${firstLine(r.stderr) || `exit ${r.code}`}`,
          'compose-error',
        );
      }
      return { flavor, version };
    })();
    this.info.catch(() => (this.info = undefined));
    return this.info;
  }

  private async compose(target: ComposeTarget, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const [cmd, full] = composeArgs(await this.composeFlavor(), target, args);
    const r = await this.command.run(cmd, full, this.command.withEnv(opts));
    if (r.code === 127 && cmd === 'docker-compose') {
      throw new EnvironmentError(
        'Neither `docker compose` (v2) nor `docker-compose` (v1) is installed; install one of them.',
        'compose-error',
      );
    }
    return r;
  }

  /**
   * The one reading of a compose file (docs/architecture.md §2, "Reading compose files"): what compose
   * renders, with the runner's environment and COMPOSE_PROFILES, and each service's config hash as `up`
   * writes it. v2: `config --format json` (beside it, with every profile, to name the profiled services
   * left out), then `config --hash` of that rendered model: v2's `config --hash` of the source file
   * leaves `env_file` out of the hash `up` writes, so it never matches a container's label (and a
   * changed value in the file never changes it); the rendered model holds those values, and its hash
   * is the label's. v1: `config` (YAML, parsed safely) and `config --hash '*'`.
   */
  async renderProject(target: ComposeTarget, opts: RenderOptions = {}): Promise<RenderedProject> {
    const withHashes = opts.hashes !== false;
    const flavor = await this.composeFlavor();
    if (flavor === 'v2') return this.renderV2(target, withHashes);
    const configArgs = ['config'];
    const noHashes: ExecResult = { code: 0, stdout: '', stderr: '' };
    const [config, hashes] = await Promise.all([
      this.compose(target, configArgs),
      withHashes ? this.compose(target, ['config', '--hash', '*']) : noHashes,
    ]);
    if (config.code !== 0) throw await this.renderError(target, configArgs, config, flavor);
    if (hashes.code !== 0) throw await this.renderError(target, ['config', '--hash', '*'], hashes, flavor);
    const parsed = parseRenderedYaml(config.stdout);
    const { active, inactive } = splitByProfiles(parsed.services, enabledProfiles(this.command.env));
    this.nameBuiltImages(flavor, target.project, active);
    return { services: active, hashes: parseConfigHashes(hashes.stdout), volumes: parsed.volumes, inactive };
  }

  private async renderV2(target: ComposeTarget, withHashes: boolean): Promise<RenderedProject> {
    const configArgs = ['config', '--format', 'json'];
    const [config, everyProfile] = await Promise.all([
      this.compose(target, configArgs),
      this.compose(target, ['--profile', '*', ...configArgs]),
    ]);
    if (config.code !== 0) throw await this.renderError(target, configArgs, config, 'v2');
    const rendered = parseRenderedJson(config.stdout);
    const inactive: Record<string, string[]> = {};
    if (everyProfile.code === 0) {
      for (const [name, svc] of Object.entries(parseRenderedJson(everyProfile.stdout).services)) {
        if (!(name in rendered.services)) inactive[name] = profilesOf(svc);
      }
    }
    const hashes = withHashes
      ? await this.hashRendered(target, config.stdout, '*')
      : { code: 0, stdout: '', stderr: '' };
    if (hashes.code !== 0) throw await this.renderError(target, ['config', '--hash', '*'], hashes, 'v2');
    this.nameBuiltImages('v2', target.project, rendered.services);
    return {
      services: rendered.services,
      hashes: parseConfigHashes(hashes.stdout),
      volumes: rendered.volumes,
      inactive,
    };
  }

  /**
   * v2: `config --hash` of a rendered model (what `up` hashes, env_file values included). The model is
   * written to a private temporary file (it holds interpolated values) and removed at once.
   */
  private async hashRendered(target: ComposeTarget, rendered: string, service: string): Promise<ExecResult> {
    const dir = await mkdtemp(path.join(tmpdir(), 'stateguard-render-'));
    try {
      const file = path.join(dir, 'rendered.json');
      await writeFile(file, rendered, { mode: 0o600 });
      const projectDir = path.dirname(target.files[0] ?? file);
      return await this.compose({ project: target.project, files: [file] }, [
        '--project-directory',
        projectDir,
        'config',
        '--hash',
        service,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A service with only `build:` runs compose's default image name, which differs by flavor. */
  private nameBuiltImages(flavor: 'v1' | 'v2', project: string, services: Record<string, RenderedService>): void {
    for (const [name, svc] of Object.entries(services)) {
      if (typeof svc.image !== 'string' || svc.image.trim() === '') svc.image = builtImageName(flavor, project, name);
    }
  }

  /**
   * compose refused to render: its whole reason and the command. When v1 refused, v2 (if installed)
   * is asked to render the same file, so the message says so only when it is true.
   */
  private async renderError(
    target: ComposeTarget,
    args: readonly string[],
    r: ExecResult,
    flavor: 'v1' | 'v2',
  ): Promise<UserError> {
    const [cmd, full] = composeArgs(flavor, target, args);
    let v2Renders: string | null = null;
    // v1 asks the engine for its version on some commands: an engine it cannot reach is no v1 limit
    if (flavor === 'v1' && !/server API version|Cannot connect|Connection (aborted|refused)/i.test(r.stderr)) {
      const v2 = await this.v2Version();
      if (v2 !== null) {
        const [c2, a2] = composeArgs('v2', target, ['config', '--quiet']);
        const check = await this.command.run(c2, a2, this.command.withEnv());
        if (check.code === 0) v2Renders = v2;
      }
    }
    return composeRenderError(target, commandLine(cmd, full), r, v2Renders);
  }

  async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    // Never pull or build here: the caller checked that the image is on the engine. v1 has no
    // --pull flag (it pulls a missing image), hence that check.
    const noPull = (await this.composeFlavor()) === 'v2' ? ['--pull', 'never'] : [];
    const args = ['up', '-d', '--no-deps', '--force-recreate', '--no-build', ...noPull, service];
    if (imageOverride === undefined) return this.compose(target, args);
    return this.withImageOverride(target, service, imageOverride, (t) => this.compose(t, args));
  }

  /** Run with an override file beside the declared ones: same project and labels, only the image differs. */
  private async withImageOverride<T>(
    target: ComposeTarget,
    service: string,
    image: string,
    fn: (t: ComposeTarget) => Promise<T>,
  ): Promise<T> {
    return this.withServiceOverride(target, service, { image }, fn);
  }

  /** An override file (private: it may hold values) beside the declared ones, removed at once. */
  private async withServiceOverride<T>(
    target: ComposeTarget,
    service: string,
    body: Record<string, unknown>,
    fn: (t: ComposeTarget) => Promise<T>,
  ): Promise<T> {
    const dir = await mkdtemp(path.join(tmpdir(), 'stateguard-override-'));
    try {
      const version = composeVersion(target.files[0]);
      const file = path.join(dir, 'override.yaml');
      await writeFile(file, stringifyYaml({ ...(version ? { version } : {}), services: { [service]: body } }), {
        mode: 0o600,
      });
      return await fn({ ...target, files: [...target.files, file] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** `compose up -d` of the given services (or all): the tests' and the demo's, not the domain's. */
  composeUp(target: ComposeTarget, services: readonly string[] = []): Promise<ExecResult> {
    return this.compose(target, ['up', '-d', ...services]);
  }

  /** `compose down` (with `-v` only when removeVolumes): the tests' and the demo's teardown. */
  composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
    return this.compose(target, ['down', '--remove-orphans', ...(removeVolumes ? ['-v'] : [])]);
  }

  async configHashWithImage(target: ComposeTarget, service: string, image: string): Promise<string | null> {
    const r = await this.withImageOverride(target, service, image, async (t) => {
      if ((await this.composeFlavor()) === 'v1') return this.compose(t, ['config', '--hash', service]);
      // v2: the hash of the rendered model, as renderProject computes it (docs/architecture.md §3)
      const config = await this.compose(t, ['config', '--format', 'json']);
      return config.code === 0 ? this.hashRendered(target, config.stdout, service) : config;
    });
    return r.code === 0 ? (parseConfigHashes(r.stdout)[service] ?? null) : null;
  }

  // ---- the drift allowlist's proof (docs/architecture.md §3, "Drift allowlist") ----
  async configHashWithValues(target: ComposeTarget, service: string, values: ServiceValues): Promise<string | null> {
    // A value is literal: compose would interpolate a `$` in the override file, so it is escaped.
    const literal = (o: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.replace(/\$/g, '$$$$')]));
    const body = {
      ...(Object.keys(values.environment).length > 0 ? { environment: literal(values.environment) } : {}),
      ...(Object.keys(values.labels).length > 0 ? { labels: literal(values.labels) } : {}),
    };
    const r = await this.withServiceOverride(target, service, body, async (t) => {
      if ((await this.composeFlavor()) === 'v1') return this.compose(t, ['config', '--hash', service]);
      // v2: the hash of the rendered model, as renderProject computes it (docs/architecture.md §3)
      const config = await this.compose(t, ['config', '--format', 'json']);
      return config.code === 0 ? this.hashRendered(target, config.stdout, service) : config;
    });
    return r.code === 0 ? (parseConfigHashes(r.stdout)[service] ?? null) : null;
  }
}
