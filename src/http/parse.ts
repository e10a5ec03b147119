/**
 * Small pure parsers used by `Request`: query strings, Cookie headers, media types.
 * Results are null-prototype, frozen objects so a key like `__proto__` is plain data.
 * @module
 */

/** Parsed `a=1&a=2&b=3`: a repeated key becomes an array in arrival order. */
export type MultiValueRecord = Readonly<Record<string, string | string[]>>;

const EMPTY_RECORD: MultiValueRecord = Object.freeze(Object.create(null) as Record<string, string>);

/** Parse an `application/x-www-form-urlencoded` string (a query string or a form body). */
export function parseUrlEncoded(text: string): MultiValueRecord {
  if (text === '') return EMPTY_RECORD;
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (typeof prev === 'string') out[key] = [prev, value];
    else prev.push(value);
  }
  return freezeRecord(out);
}

/**
 * Parse one or more `Cookie` header values (`a=1; b=2`). The first occurrence of a name wins
 * (RFC 6265 §5.4 sends the most specific path first). Values are percent-decoded when valid and
 * unquoted; pairs without `=` are skipped.
 */
export function parseCookies(headerValues: readonly string[]): Readonly<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  for (const header of headerValues) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const name = pair.slice(0, eq).trim();
      if (name === '' || out[name] !== undefined) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      out[name] = value.includes('%') ? tryDecodeURIComponent(value) : value;
    }
  }
  return Object.freeze(out);
}

/** The media type of a Content-Type value, lowercased, without parameters (`text/html; q=1` → `text/html`). */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const type = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** Split a comma-separated header (`Connection: keep-alive, Upgrade`) into lowercase tokens. */
export function headerTokens(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}

/** `decodeURIComponent`, or the input unchanged when it is not valid percent-encoding. */
export function tryDecodeURIComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `decodeURI` (keeps `%2F` and other reserved escapes), or the input unchanged when it is malformed. */
export function tryDecodeURI(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

function freezeRecord(record: Record<string, string | string[]>): MultiValueRecord {
  for (const value of Object.values(record)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(record);
}
