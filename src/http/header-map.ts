/**
 * Ordered, case-insensitive response header storage. Validates on every insert, so a bad name or a
 * CR/LF/NUL (or other control char, or a char above U+00FF) in a value fails where it is set, long before
 * anything is sent.
 * @module
 */

import { assertHeaderName, assertHeaderValue } from '../protocol/http-response';

interface Entry {
  /** The spelling of the first set, used on the wire. */
  readonly name: string;
  readonly values: string[];
}

/** A header value as accepted by the setters. Numbers are written in decimal. */
export type HeaderInput = string | number | readonly (string | number)[];

/** Response headers in insertion order; lookups ignore case. */
export class HeaderMap {
  readonly #entries = new Map<string, Entry>();

  /** Replace every value of `name`. */
  set(name: string, value: HeaderInput): void {
    this.#entries.set(name.toLowerCase(), { name, values: checked(name, value) });
  }

  /** Add values after the existing ones (e.g. a second Set-Cookie). */
  append(name: string, value: HeaderInput): void {
    const values = checked(name, value);
    const entry = this.#entries.get(name.toLowerCase());
    if (entry === undefined) this.#entries.set(name.toLowerCase(), { name, values });
    else entry.values.push(...values);
  }

  /** Every value of `name`, or undefined when it is not set. */
  get(name: string): readonly string[] | undefined {
    return this.#entries.get(name.toLowerCase())?.values;
  }

  /** Whether `name` is set (case-insensitive). */
  has(name: string): boolean {
    return this.#entries.has(name.toLowerCase());
  }

  /** Whether a header whose lowercased name is `key` is set (no case folding: for names lowercased once, up front). */
  hasLowercase(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Remove every value of `name`. */
  delete(name: string): void {
    this.#entries.delete(name.toLowerCase());
  }

  /**
   * The header lines as wire text, `Name: value\r\n` per value, skipping `omit` names. Names and values were
   * checked when they were set, so nothing is validated again here.
   */
  render(omit: ReadonlySet<string>): string {
    let text = '';
    for (const [key, entry] of this.#entries) {
      if (omit.has(key)) continue;
      for (const value of entry.values) text += `${entry.name}: ${value}\r\n`;
    }
    return text;
  }

  /** One `[name, value]` pair per value (repeated headers become separate lines), skipping `omit` names. */
  lines(omit: ReadonlySet<string>): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [key, entry] of this.#entries) {
      if (omit.has(key)) continue;
      for (const value of entry.values) out.push([entry.name, value]);
    }
    return out;
  }
}

function checked(name: string, value: HeaderInput): string[] {
  assertHeaderName(name);
  const values = (Array.isArray(value) ? value : [value]).map(String);
  for (const v of values) assertHeaderValue(name, v);
  return values;
}
