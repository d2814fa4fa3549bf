/**
 * What the domain needs from the outside, as interfaces only (docs/architecture.md §1): the engine
 * (`Runtime` and the data it returns) and the logger. Domain folders import these from here, never
 * from an adapter or from the command layer; test/unit/architecture.test.ts holds the line.
 */
export type * from './runtime/types.js';

/** Logger given to commands. Text goes to stderr in --json mode, to the job log in an action. */
export interface Logger {
  info(message: string): void;
  warn(message: string, where?: AnnotationPlace): void;
  error(message: string, where?: AnnotationPlace): void;
  notice(message: string, where?: AnnotationPlace): void;
  /** streamed raw output (e.g. container logs); already scrubbed by the caller */
  raw(chunk: string): void;
}

export interface AnnotationPlace {
  file?: string;
  line?: number;
  column?: number;
  title?: string;
}
