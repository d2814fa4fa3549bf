/**
 * The Docker Engine API, reached through the docker CLI (`docker system dial-stdio`), so that
 * DOCKER_HOST, contexts, ssh and TLS work exactly as for every other docker command
 * (docs/architecture.md §13). Used where the CLI cannot say what is needed: creating a container
 * from a recorded definition (Config and HostConfig as inspected). Request bodies travel over the
 * child's stdin, never in argv; the API's answers are bounded.
 */
/* eslint-disable @typescript-eslint/no-base-to-string --
   parsed YAML/JSON values are turned into text as they are, whatever their type; a later check
   refuses what is not the text it expects */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { EnvironmentError } from '../errors.js';

/** Opens one byte stream to the engine (a `docker system dial-stdio` child per connection). */
export type Dialer = () => { stream: Duplex; stderr: () => string };

/** The newest API version this code was tested with; a newer engine is spoken to at this version. */
export const MAX_API_VERSION = '1.41';
/** The oldest it accepts (HostConfig.Mounts and the create fields used here are older than this). */
export const MIN_API_VERSION = '1.30';

const MAX_RESPONSE = 4 * 1024 * 1024;
const TIMEOUT_MS = 120_000;

export interface ApiResponse {
  status: number;
  text: string;
}

function versionNumber(v: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : NaN;
}

/** The version to speak: the server's, at most MAX_API_VERSION; null when the server is too old. */
export function pickApiVersion(server: string): string | null {
  const n = versionNumber(server);
  if (!(n >= versionNumber(MIN_API_VERSION))) return null;
  return n > versionNumber(MAX_API_VERSION) ? MAX_API_VERSION : server;
}

/** The engine's error message from an API answer (`{"message": …}`), else the first line of the text. */
export function apiMessage(r: ApiResponse): string {
  try {
    const m = (JSON.parse(r.text) as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') return m;
  } catch {
    /* not JSON */
  }
  return r.text.trim().split('\n')[0]?.slice(0, 300) || `HTTP ${r.status}`;
}

export class EngineApi {
  private version: Promise<string> | undefined;

  constructor(private readonly dial: Dialer) {}

  /** One request on its own connection; rejects only when the engine could not be reached. */
  raw(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return new Promise<ApiResponse>((resolve, reject) => {
      let dialed: ReturnType<Dialer> | undefined;
      const agent = new http.Agent({ keepAlive: false });
      (agent as unknown as { createConnection: () => Duplex }).createConnection = () => {
        dialed = this.dial();
        return dialed.stream;
      };
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
      const req = http.request(
        {
          method,
          path,
          host: 'docker',
          agent,
          headers: {
            Connection: 'close',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE) chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            agent.destroy();
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      // (a dial-stdio stream is no socket: no socket timeouts, a timer of our own)
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)), TIMEOUT_MS);
      req.on('error', (err) => {
        clearTimeout(timer);
        agent.destroy();
        const said = dialed?.stderr().trim().split('\n')[0] ?? '';
        reject(
          new EnvironmentError(
            `the Docker Engine API (docker system dial-stdio) did not answer ${method} ${path.split('?')[0]}: ` +
              `${said || err.message}`,
          ),
        );
      });
      req.end(payload);
    });
  }

  /** The API version spoken (the server's, capped at MAX_API_VERSION), read once. */
  apiVersion(): Promise<string> {
    this.version ??= (async () => {
      const r = await this.raw('GET', '/version');
      let server = '';
      try {
        server = String((JSON.parse(r.text) as { ApiVersion?: unknown }).ApiVersion ?? '');
      } catch {
        /* reported below */
      }
      const v = r.status === 200 ? pickApiVersion(server) : null;
      if (!v) {
        throw new EnvironmentError(
          `the Docker engine speaks API ${server || '(unreadable)'}; stateguard needs at least ${MIN_API_VERSION}`,
        );
      }
      return v;
    })();
    this.version.catch(() => (this.version = undefined));
    return this.version;
  }

  /** A request at the negotiated version (`/v1.41/containers/create?…`). */
  async call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return this.raw(method, `/v${await this.apiVersion()}${path}`, body);
  }
}
