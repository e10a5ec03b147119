/** Builds `multipart/form-data` bodies for tests, byte by byte as a browser sends them (RFC 7578). */
import { randomBytes } from 'node:crypto';

/** One part: a field (`value`) or a file (`filename` + `data`). */
export type TestPart =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly data: Buffer; readonly type?: string };

/** A multipart body and the Content-Type (with its boundary) that goes with it. */
export interface TestMultipart {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Encode `parts`; `truncate` drops that many bytes from the end (a malformed body). */
export function multipartBody(parts: readonly TestPart[], options: { boundary?: string } = {}): TestMultipart {
  const boundary = options.boundary ?? `----m2pool${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`));
      chunks.push(part.data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
