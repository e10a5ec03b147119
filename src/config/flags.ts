/**
 * Small layer over `node:util` parseArgs: every flag has help text, unknown flags and bad values get a clear
 * message and exit code 2, and all value problems are reported at once.
 * @module
 */
import { parseArgs } from 'node:util';
import { formatHelp } from './help';
import { defaultTextIn, type Scope, type Setting } from './settings';

/** One command-line flag. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly description: string;
  /** Shown in help as `--name PLACEHOLDER` (upper-cased). */
  readonly placeholder?: string;
  /** Shown in help; applied by the caller. */
  readonly defaultText?: string;
}

/** The flag of setting `s` in the command of `scope`: its help text, placeholder and default there. */
export function settingFlag(s: Setting, scope: Scope): FlagSpec {
  const defaultText = defaultTextIn(s, scope);
  return {
    type: s.type.kind === 'bool' ? 'boolean' : 'string',
    ...(s.type.kind === 'strings' ? { multiple: true } : {}),
    description: s.help,
    ...(s.arg === '' ? {} : { placeholder: s.arg }),
    ...(defaultText === undefined ? {} : { defaultText }),
  };
}

/** A command's flags. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Raised for bad command lines; the CLI prints `message` and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed values: strings, string arrays (multiple) or booleans. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Parse `argv` against `specs`; `-h`/`--help` is always accepted. */
export function parseFlags(argv: readonly string[], specs: FlagSpecs, allowPositionals = false): { values: FlagValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type };
  }
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    const values = parsed.values as FlagValues;
    return { values, positionals: parsed.positionals, help: values['help'] === true };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify .*$/s, '') : String(err));
  }
}

/** Help text listing every flag with its description and default, in the common layout ({@link formatHelp}). */
export function renderHelp(usage: string, summary: string, specs: FlagSpecs): string {
  const options = Object.entries(specs).map(([name, spec]): [string, string] => {
    const left = `--${name}${spec.type === 'string' ? ` ${(spec.placeholder ?? 'value').toUpperCase()}` : ''}`;
    const extra = [spec.multiple === true ? 'repeatable' : '', spec.defaultText !== undefined ? `default ${spec.defaultText}` : '']
      .filter(Boolean)
      .join('; ');
    return [left, extra === '' ? spec.description : `${spec.description} (${extra})`];
  });
  return formatHelp({ usage: usage.replace(/<([a-z-]+)>/g, (_, p: string) => p.toUpperCase()), summary: summary.split('\n'), options });
}

/** Reads typed values out of {@link FlagValues}, collecting every problem instead of stopping at the first. */
export class FlagReader {
  readonly issues: string[] = [];
  constructor(private readonly values: FlagValues) {}

  /** A string flag, or `fallback`. */
  string(name: string, fallback?: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : fallback;
  }

  /** A boolean flag: true when given. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** A required string flag. */
  required(name: string): string {
    const v = this.values[name];
    if (typeof v === 'string' && v !== '') return v;
    this.issues.push(`--${name} is required`);
    return '';
  }

  /** A repeatable string flag. */
  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  /** An integer flag within [min, max], or `fallback`. */
  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.values[name];
    if (v === undefined) return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.issues.push(`--${name} must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  }

  /**
   * The value of setting `s` from its flag `flag`, or `fallback` when not given: an integer within its range, one
   * of its choices, or the string as given.
   */
  setting<T>(s: Setting, flag: string, fallback: T): T {
    const { range, choices } = s.type;
    if (range !== undefined) return this.int(flag, fallback as number, range.min, range.max) as T;
    if (choices !== undefined) return this.choice(flag, choices as readonly string[], fallback as string) as T;
    return (this.string(flag) ?? fallback) as T;
  }

  /** A string flag restricted to `choices`. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.values[name];
    if (v === undefined) return fallback;
    if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
    this.issues.push(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    return fallback;
  }

  /** Throw one UsageError listing every problem found so far. */
  check(): void {
    if (this.issues.length > 0) throw new UsageError(this.issues.join('\n'));
  }
}
