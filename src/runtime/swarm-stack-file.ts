/**
 * The one-service stack file the Swarm adapter (./swarm-cli.ts) deploys to recreate one service
 * (docs/architecture.md §14): never the whole stack, so no other service may change. Pure: no
 * docker here.
 */

/** Every `$` in every string value as `$$`: text that was interpolated once stays as it is. */
export function escapeDollars(value: any): any {
  if (typeof value === 'string') return value.replace(/\$/g, '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  }
  return value;
}

/**
 * The stack file holding only `service` and the top-level objects it references. `docker stack
 * config` has already interpolated it (and turned `$$` into `$`): every `$` is escaped again so
 * the deploy does not interpolate a second time.
 */
export function oneServiceStack(doc: any, service: string, imageOverride?: string): any {
  return escapeDollars(oneServiceDoc(doc, service, imageOverride));
}

function oneServiceDoc(doc: any, service: string, imageOverride?: string): any {
  const svc = { ...doc.services[service] };
  if (imageOverride !== undefined) svc.image = imageOverride;
  const out: any = { version: doc.version ?? '3.9', services: { [service]: svc } };
  const pick = (top: string, names: string[]): void => {
    const all = (doc[top] ?? {}) as Record<string, unknown>;
    const kept = Object.fromEntries(names.filter((n) => n in all).map((n) => [n, all[n]]));
    if (Object.keys(kept).length) out[top] = kept;
  };
  const vols = (Array.isArray(svc.volumes) ? svc.volumes : []).map((v: any) =>
    typeof v === 'string' ? v.split(':')[0] : String(v?.source ?? ''),
  );
  const nets = Array.isArray(svc.networks) ? svc.networks : Object.keys(svc.networks ?? {});
  const refs = (k: string): string[] =>
    (Array.isArray(svc[k]) ? svc[k] : []).map((x: any) => (typeof x === 'string' ? x : String(x?.source ?? '')));
  pick('volumes', vols);
  pick('networks', nets.map(String));
  pick('configs', refs('configs'));
  pick('secrets', refs('secrets'));
  return out;
}
