/**
 * The type of a setting's value in the settings table (`settings.ts`): how a string from a flag or an
 * environment variable is coerced (`kind`), the check every source is read with (`check`, from `checks.ts`), and,
 * for the flag readers, the integer range or the choices (so a flag and a config file are refused by the
 * same bounds).
 * @module
 */
import { int, show, type Check } from './checks';

/** How a value arriving as a string (env var, CLI flag) is turned into the config value. */
export type FieldKind = 'int' | 'number' | 'string' | 'strings' | 'bool';

/** Inclusive range of an integer setting. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** The type of one setting's value. */
export interface ValueType<T> {
  readonly kind: FieldKind;
  readonly check: Check<T>;
  /** `int` settings: the accepted range. */
  readonly range?: IntRange;
  /** Settings with a fixed set of values: the values (flags read them with `FlagReader.choice`). */
  readonly choices?: readonly T[];
}

/** An integer in [min, max]. */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): ValueType<number> {
  return { kind: 'int', check: int(min, max), range: { min, max } };
}

/** A finite number in (min, max] (`minExclusive`) or [min, max]. */
export function decimal(min: number, max: number, minExclusive = false): ValueType<number> {
  const check: Check<number> = (v) =>
    typeof v === 'number' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max
      ? { value: v }
      : { problem: `must be a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}, got ${show(v)}` };
  return { kind: 'number', check };
}

/** One of `choices`, checked by `check` (which words its own problem). */
export function oneOf<const T extends string>(choices: readonly T[], check: Check<T>): ValueType<T> {
  return { kind: 'string', check, choices };
}

/** A value of `kind` checked by `check`. */
export function checked<T>(kind: FieldKind, check: Check<T>): ValueType<T> {
  return { kind, check };
}
