/** Plan fixtures with the per-module hash filled in the way planModules fills it. */
import { modulePlanHash, planHash } from '../../src/plan/plan.js';
import type { ModulePlan, Plan } from '../../src/drift/types.js';

export const FIXTURE_DECLARED = { image: 'stateguard/busybox:1.0.0', config_hash: 'h-fixture' };

export function withPlanHash(
  m: Omit<ModulePlan, 'plan_hash' | 'declared'> & { declared?: ModulePlan['declared'] },
): ModulePlan {
  const declared = m.declared ?? FIXTURE_DECLARED;
  return { ...m, declared, plan_hash: modulePlanHash(m.name, m.drift, declared) };
}

export function planOf(modules: ModulePlan[], compose: Plan['compose'] = { flavor: 'v1', version: '1.29.2' }): Plan {
  return {
    schema: 'stateguard/plan/v1',
    compose,
    modules,
    summary: { modules: modules.length, drifted: modules.filter((p) => !p.in_sync).length },
    stateful_modules: modules.filter((m) => m.class === 'stateful').map((m) => m.name),
    plan_hash: planHash(modules),
  };
}
