/**
 * The e2e gate's decision (docs/architecture.md §8), pure: from the environment's *names* to run / skip / refuse.
 *
 * It never returns, formats or compares a variable's value beyond classifying it, so no value can
 * leak through a reason. Ambiguity is never "on": a switch that is neither clearly on nor clearly
 * off is refused, so a typo such as `STAGING_E2E=ture` cannot silently run — or silently skip — a
 * staging suite.
 */

export type Mode = 'optional' | 'required';

export type SwitchState =
  { kind: 'on' } | { kind: 'off'; why: 'unset' | 'empty' | 'off-value' } | { kind: 'ambiguous' };

/** Portable environment variable names: what every shell and runner accepts. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ON_VALUES = ['1', 'true'] as const;
export const OFF_VALUES = ['0', 'false'] as const;

export function readSwitch(env: Readonly<Record<string, string | undefined>>, name: string): SwitchState {
  const v = env[name];
  if (v === undefined) return { kind: 'off', why: 'unset' };
  if (v === '') return { kind: 'off', why: 'empty' };
  if ((OFF_VALUES as readonly string[]).includes(v)) return { kind: 'off', why: 'off-value' };
  if ((ON_VALUES as readonly string[]).includes(v)) return { kind: 'on' };
  return { kind: 'ambiguous' };
}

/** Required names that are unset, empty or only whitespace (a blank value configures nothing). */
export function missingVariables(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): string[] {
  return names.filter((n) => (env[n] ?? '').trim() === '');
}

export function describeSwitchOff(name: string, why: 'unset' | 'empty' | 'off-value'): string {
  switch (why) {
    case 'unset':
      return `${name} is not set`;
    case 'empty':
      return `${name} is empty`;
    case 'off-value':
      return `${name} is switched off (set to 0 or false)`;
  }
}

export type GateDecision =
  | { action: 'run' }
  | { action: 'skip'; reason: string; failInRequiredMode: boolean; cause: 'switch-off' | 'missing-variables' }
  | { action: 'refuse'; reason: string };

export function decideGate(input: {
  switchName: string;
  switchState: SwitchState;
  missing: readonly string[];
  mode: Mode;
}): GateDecision {
  const { switchName, switchState, missing, mode } = input;
  const how = `set ${switchName}=1 (or true) to run it`;
  if (switchState.kind === 'ambiguous') {
    return {
      action: 'refuse',
      reason:
        `${switchName} is set to a value that is neither on (1, true) nor off (unset, empty, 0, false); ` +
        `the value is not shown. An ambiguous switch is never taken as on: set it to exactly 1/true or 0/false.`,
    };
  }
  if (switchState.kind === 'off') {
    return {
      action: 'skip',
      cause: 'switch-off',
      failInRequiredMode: mode === 'required',
      reason: `${describeSwitchOff(switchName, switchState.why)}; ${how}.`,
    };
  }
  if (missing.length > 0) {
    return {
      action: 'skip',
      cause: 'missing-variables',
      failInRequiredMode: mode === 'required',
      reason:
        `${switchName} is on, but ` +
        `${missing.length} required variable${missing.length === 1 ? ' is' : 's are'} missing or empty: ` +
        `${missing.join(', ')}. Set ${missing.length === 1 ? 'it' : 'them'} (e.g. from repository secrets via env:) ` +
        `to run the gate.`,
    };
  }
  return { action: 'run' };
}
