/**
 * The one layout of every `m2pool … --help` text:
 *
 *     Usage: m2pool <command> ARGS
 *
 *     What the command does.
 *
 *     Options:
 *       --flag VALUE  what it sets (default …) [M2POOL_ENV]
 *       -h, --help    show this help
 * @module
 */

/** The parts of a help text. */
export interface HelpText {
  /** After `Usage: `, e.g. `m2pool scale N|+N|-N [options]`. */
  readonly usage: string;
  /** Lines describing the command. */
  readonly summary: readonly string[];
  /** `[flag with value placeholder, description]` rows; `-h, --help` is added last. */
  readonly options: ReadonlyArray<readonly [string, string]>;
}

/** Render a {@link HelpText} in the common layout (ends with a newline). */
export function formatHelp(help: HelpText): string {
  const rows = [...help.options, ['-h, --help', 'show this help'] as const];
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [`Usage: ${help.usage}`, '', ...help.summary, '', 'Options:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`), ''].join('\n');
}
