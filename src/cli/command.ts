/**
 * The part every flag-driven `m2pool` command shares: parse the flags against its specs (a bad one is a
 * UsageError: exit 2), answer `-h`/`--help` with the help text rendered from the same specs, else run the command.
 * @module
 */
import { parseFlags, renderHelp, type FlagSpecs, type FlagValues } from '../config/flags';
import { ExitCode } from '../errors';

/** What a command's help and parsing are made of. */
export interface CommandSpec {
  /** After `Usage: `; `<name>` placeholders are shown upper-cased. */
  readonly usage: string;
  /** What the command does (lines separated by `\n`). */
  readonly summary: string;
  readonly flags: FlagSpecs;
  /** Accept arguments that are not flags. @default false */
  readonly positionals?: boolean;
}

/** A subcommand of `m2pool`: resolves with the exit code. */
export type CommandRun = (argv: string[]) => Promise<number>;

/** The command that parses `argv` by `spec`, prints its help for `--help`, and otherwise runs `body`. */
export function command(spec: CommandSpec, body: (values: FlagValues, positionals: string[]) => Promise<number>): CommandRun {
  const help = renderHelp(spec.usage, spec.summary, spec.flags);
  return async (argv) => {
    const { values, positionals, help: asked } = parseFlags(argv, spec.flags, spec.positionals === true);
    if (asked) {
      process.stdout.write(help);
      return ExitCode.OK;
    }
    return body(values, positionals);
  };
}
