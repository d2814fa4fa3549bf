// Types for scripts/generate.mjs (plain JS so the build can run it without compiling).
import type { CommandSpec, InputDef } from '../src/commands/spec.js';
type Spec = CommandSpec<readonly InputDef[]>;
export declare const GENERATED: string;
export declare function actionInputs(spec: Spec): InputDef[];
export declare function commandActionYaml(name: string, spec: Spec): string;
export declare function rootActionYaml(commands: Record<string, Spec>): string;
export declare function commandTables(spec: Spec): string;
export declare function readmeWithTables(readme: string, commands: Record<string, Spec>, reasons?: Record<string, string>, composites?: Record<string, CompositeSpec>): string;
export declare function failureReasonsTable(reasons: Record<string, string>): string;
export declare function schemaMarkdown(schema: unknown): string;
import type { CompositeSpec } from '../src/commands/stateful-apply.js';
export interface CompositeInterface {
  inputs: Array<InputDef & { required: boolean }>;
  outputs: Array<{ name: string; description: string; value: string }>;
}
export declare function compositeInterface(composite: CompositeSpec, commands: Record<string, Spec>): CompositeInterface;
export declare function compositeActionYaml(composite: CompositeSpec, commands: Record<string, Spec>): string;
export declare function compositeTables(composite: CompositeSpec, commands: Record<string, Spec>): string;
