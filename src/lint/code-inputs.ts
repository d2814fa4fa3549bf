/**
 * Inputs of `uses:` actions that are code (docs/rules.md SG201, docs/architecture.md §9): the action
 * runs the input's text as a script, so an expression interpolated there is injected exactly as in
 * a `run:`. To cover another action, add a row: the action's `owner/repo` (lower case) and the
 * input's name as the action spells it.
 */

export interface CodeInput {
  /** `owner/repo`, lower case (matched case-insensitively, any ref) */
  readonly action: string;
  /** the input's name as written in `with:` */
  readonly input: string;
  /** what runs it, for the message */
  readonly language: string;
}

export const CODE_INPUTS: readonly CodeInput[] = [
  { action: 'actions/github-script', input: 'script', language: 'JavaScript' },
  { action: 'azure/cli', input: 'inlineScript', language: 'a shell' },
  { action: 'azure/powershell', input: 'inlineScript', language: 'PowerShell' },
  { action: 'amadevus/pwsh-script', input: 'script', language: 'PowerShell' },
  { action: 'mikefarah/yq', input: 'cmd', language: 'a shell' },
  { action: 'jannekem/run-python-script-action', input: 'script', language: 'Python' },
  { action: 'appleboy/ssh-action', input: 'script', language: 'a remote shell' },
  { action: 'addnab/docker-run-action', input: 'run', language: 'a shell in a container' },
];

/** `owner/repo` (lower case) of a remote action's `uses:` (`owner/repo@ref`, no sub-path), or undefined. */
function parseUsesRef(uses: string): string | undefined {
  const m = /^([^/@\s]+)\/([^/@\s]+)@\S+$/.exec(uses.trim());
  return m ? `${m[1]!.toLowerCase()}/${m[2]!.toLowerCase()}` : undefined;
}

/** The code inputs a step gives: each input of the table present in its `with:` as a string. */
export function codeInputsOf(step: Record<string, unknown>): { entry: CodeInput; text: string }[] {
  if (typeof step.uses !== 'string') return [];
  const action = parseUsesRef(step.uses);
  if (action === undefined) return [];
  const w = step.with;
  if (typeof w !== 'object' || w === null || Array.isArray(w)) return [];
  const out: { entry: CodeInput; text: string }[] = [];
  for (const entry of CODE_INPUTS) {
    if (entry.action !== action) continue;
    const text = (w as Record<string, unknown>)[entry.input];
    if (typeof text === 'string') out.push({ entry, text });
  }
  return out;
}
