/**
 * The Workbench contract on the real compose adapter: the helper scripts that really rename inside
 * real volumes (run once per compose flavor, as the adapter is).
 */
import { expect } from '@jest/globals';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { workbenchContract } from '../contract/workbench.js';
import { describeDocker, docker, IMAGE, removeEngineObjectsMentioning } from '../support/docker.js';

describeDocker('the compose adapter', () => {
  workbenchContract(`DockerCli (compose ${process.env.STATEGUARD_COMPOSE ?? 'default'})`, async () => ({
    bench: new DockerCli(),
    helperImage: IMAGE,
    volumes: async (token, contents) =>
      contents.map((files, i) => {
        const source = `${token}-${i}`;
        expect(docker(['volume', 'create', source]).status).toBe(0);
        // each file through the environment, never through the script text
        const entries = Object.entries(files);
        const env = entries.flatMap(([p, body], n) => ['-e', `P${n}=${p}`, '-e', `C${n}=${body}`]);
        const script = entries
          .map((_, n) => `mkdir -p "$(dirname "/d/$P${n}")" && printf %s "$C${n}" > "/d/$P${n}"`)
          .join(' && ');
        const r = docker(['run', '--rm', '--network', 'none', ...env, '-v', `${source}:/d`, IMAGE, 'sh', '-c', script]);
        expect(r.stderr).toBe('');
        return { volume: String.fromCharCode(97 + i), kind: 'volume' as const, source };
      }),
    files: async (m) => {
      const r = docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${m.source}:/d:ro`,
        IMAGE,
        'sh',
        '-c',
        'cd /d && find . -type f ! -path "./.stateguard-restore/*" | sort | while read -r f; do printf "%s\\036" "${f#./}"; cat "$f"; printf "\\035"; done',
      ]);
      expect(r.stderr).toBe('');
      const out: Record<string, string> = {};
      for (const rec of r.stdout.split('\x1d').filter(Boolean)) {
        const [p, body] = rec.split('\x1e');
        out[p!] = body ?? '';
      }
      return out;
    },
    cleanup: async (token) => removeEngineObjectsMentioning(token),
  }));
});
