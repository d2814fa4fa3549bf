/**
 * SARIF 2.1.0 (OASIS) output, in the subset GitHub code scanning reads: tool.driver.rules with help
 * text, results with ruleId/ruleIndex/level/message and a physical location with a region.
 * Pure: the caller decides where the document goes.
 */
export interface SarifRuleInput {
  id: string;
  name: string;
  severity: 'error' | 'warning' | 'note';
  summary: string;
  why: string;
  fix: string;
  tags?: readonly string[];
}

export interface SarifResultInput {
  ruleId: string;
  level: 'error' | 'warning' | 'note';
  message: string;
  /** repository-relative path, forward slashes */
  file: string;
  line: number;
  column: number;
  /** set when an in-source comment suppressed it: the reason written there */
  suppression?: { justification: string };
}

export interface SarifToolInput {
  name: string;
  version: string;
  informationUri?: string;
}

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A relative path as a SARIF uri-reference: each segment percent-encoded, separators kept. */
export function sarifUri(file: string): string {
  return file
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export function toSarif(
  tool: SarifToolInput,
  rules: readonly SarifRuleInput[],
  results: readonly SarifResultInput[],
): object {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            semanticVersion: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules: rules.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.summary },
              fullDescription: { text: `${r.summary} ${r.why}` },
              help: {
                text: `${r.summary}\n\nWhy: ${r.why}\n\nHow to fix: ${r.fix}`,
                markdown: `**${r.id} ${r.name}**: ${r.summary}\n\n**Why:** ${r.why}\n\n**How to fix:** ${r.fix}`,
              },
              defaultConfiguration: { level: r.severity },
              properties: { tags: [...(r.tags ?? [])] },
            })),
          },
        },
        // Columns are counted in JavaScript string indexes.
        columnKind: 'utf16CodeUnits',
        results: results.map((p) => {
          const ruleIndex = index.get(p.ruleId);
          return {
            ruleId: p.ruleId,
            ...(ruleIndex !== undefined ? { ruleIndex } : {}),
            level: p.level,
            message: { text: p.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: sarifUri(p.file) },
                  region: { startLine: Math.max(1, p.line), startColumn: Math.max(1, p.column) },
                },
              },
            ],
            ...(p.suppression
              ? { suppressions: [{ kind: 'inSource', justification: p.suppression.justification }] }
              : {}),
          };
        }),
      },
    ],
  };
}
