/**
 * SG103 dispatch-input-unsafe (docs/rules.md SG103, docs/architecture.md §9): the shape of every
 * workflow input that feeds consent, whatever its name.
 */
import {
  CONSENT,
  RESTORE_CONFIRM_INPUT,
  ROLE_NAMES,
  type Invocation,
  type Role,
  type WorkflowFacts,
} from '../facts.js';
import type { Path, WorkflowFile } from '../workflow.js';
import { isObj, type Report } from './context.js';

/**
 * Which inputs feed which consent: by their usual names, and wherever they flow (the workflow input a
 * consent value of a call that takes consent is read from); and the confirm token of the call each
 * confirm input feeds (the last one), for the message about a default equal to it.
 */
function consentInputs(invocations: readonly Invocation[]): {
  roles: Map<string, Set<Role>>;
  tokens: Map<string, string>;
} {
  const roles = new Map<string, Set<Role>>();
  const addRole = (name: string, role: Role): void => {
    const set = roles.get(name) ?? new Set<Role>();
    set.add(role);
    roles.set(name, set);
  };
  for (const role of ['allow', 'confirm', 'backup'] as Role[]) addRole(ROLE_NAMES[role].input, role);
  addRole(RESTORE_CONFIRM_INPUT, 'confirm');
  const tokens = new Map<string, string>();
  for (const inv of invocations) {
    if (!CONSENT.has(inv.command)) continue;
    for (const sink of inv.sinks) {
      if (sink.source.kind !== 'input') continue;
      addRole(sink.source.name, sink.role);
      if (sink.role === 'confirm') tokens.set(sink.source.name, inv.confirmToken);
    }
  }
  return { roles, tokens };
}

export function checkDispatchInputUnsafe(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const { dispatchInputs, callInputs } = facts;
  const { roles, tokens } = consentInputs(facts.invocations);
  for (const [trigger, inputs] of [
    ['workflow_dispatch', dispatchInputs],
    ['workflow_call', callInputs],
  ] as const) {
    const base: Path = ['on', trigger, 'inputs'];
    for (const [declared, input] of Object.entries(inputs)) {
      const set = roles.get(declared.toLowerCase());
      if (!set) continue;
      const p = [...base, declared];
      const what = `${trigger === 'workflow_dispatch' ? 'dispatch' : 'workflow_call'} input '${declared}'`;
      const has = (k: string): boolean => isObj(input) && k in input;
      const get = (k: string): unknown => (isObj(input) ? input[k] : undefined);
      const feeds = (role: Role): string =>
        declared.toLowerCase() === ROLE_NAMES[role].input ? '' : ` (it feeds ${ROLE_NAMES[role].with})`;
      if (set.has('allow')) {
        if (get('type') !== 'boolean') {
          report(
            'SG103',
            has('type') ? wf.at([...p, 'type']) : wf.at(p, 'key'),
            `${what}${feeds('allow')} must be 'type: boolean' (got ` +
              `${has('type') ? JSON.stringify(get('type')) : 'no type'})`,
          );
        }
        if (get('default') !== false) {
          report(
            'SG103',
            has('default') ? wf.at([...p, 'default']) : wf.at(p, 'key'),
            `${what}${feeds('allow')} must have 'default: false' (got ` +
              `${has('default') ? JSON.stringify(get('default')) : 'no default'})`,
          );
        }
      }
      for (const role of ['confirm', 'backup'] as Role[]) {
        if (!set.has(role)) continue;
        if (get('required') !== true) {
          report(
            'SG103',
            has('required') ? wf.at([...p, 'required']) : wf.at(p, 'key'),
            `${what}${feeds(role)} must be 'required: true' (got ` +
              `${has('required') ? JSON.stringify(get('required')) : 'not required'})`,
          );
        }
        if (has('default')) {
          const token = tokens.get(declared.toLowerCase());
          const isToken = role === 'confirm' && token !== undefined && String(get('default')) === token;
          report(
            'SG103',
            wf.at([...p, 'default']),
            `${what}${feeds(role)} must not have a default (got ` +
              `${JSON.stringify(get('default'))}${
                isToken ? ', the confirm token itself: every run would ' + 'confirm' : ''
              }): the operator types it for each run`,
          );
        }
      }
    }
  }
}
