/** The Workbench contract on the simulated engine (the one restore's and upgrade's crash tests use). */
import { workbenchContract } from '../../contract/workbench.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

workbenchContract('the simulated engine (test/support/fake-runtime.ts)', async () => {
  const rt = new FakeRuntime();
  return {
    bench: rt,
    helperImage: 'stateguard/busybox:1.0.0',
    volumes: async (token, contents) =>
      contents.map((files, i) => {
        const source = `${token}-${i}`;
        rt.bench.volume(source).live = new Map(Object.entries(files).map(([p, body]) => [p, Buffer.from(body)]));
        return { volume: String.fromCharCode(97 + i), kind: 'volume' as const, source };
      }),
    files: async (m) =>
      Object.fromEntries(Object.entries(rt.bench.files(m.source)).filter((e): e is [string, string] => e[1] !== null)),
    cleanup: async () => undefined,
  };
});
