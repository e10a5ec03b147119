/**
 * Micro benchmarks of the protocol codec, in process: requests parsed per second (`parseMessage`, captured
 * Mongrel2 messages from test/fixtures/vectors, JSON and tnetstring headers) against a `JSON.parse` baseline
 * of the same headers, and responses written per second (`serializeResponse` + `encodeReply`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serializeResponse, type ResponseHead } from '../../src/protocol/http-response';
import { encodeReply } from '../../src/protocol/reply-writer';
import { parseMessage } from '../../src/protocol/request-parser';
import { REPO_ROOT } from '../helpers/processes';

/** One micro benchmark's result (median of the repetitions). */
export interface CodecResult {
  readonly name: string;
  readonly group: 'parse' | 'baseline' | 'write';
  readonly bytes: number;
  readonly opsPerSec: number;
  readonly nsPerOp: number;
}

interface Case {
  readonly name: string;
  readonly group: CodecResult['group'];
  readonly bytes: number;
  readonly fn: () => unknown;
}

const VECTORS = path.join(REPO_ROOT, 'test/fixtures/vectors');

function vector(file: string): Buffer {
  return readFileSync(path.join(VECTORS, file));
}

/** The header block of a captured message as JSON text (verbatim for JSON vectors, re-encoded for tnetstring ones). */
function headersAsJson(msg: Buffer): Buffer {
  const parsed = parseMessage(msg);
  if (parsed.protocol === 'json') {
    const sp3 = msg.indexOf(0x20, msg.indexOf(0x20, msg.indexOf(0x20) + 1) + 1);
    const colon = msg.indexOf(0x3a, sp3);
    const len = Number(msg.toString('latin1', sp3 + 1, colon));
    return msg.subarray(colon + 1, colon + 1 + len);
  }
  return Buffer.from(JSON.stringify(parsed.headers), 'latin1');
}

function cases(): Case[] {
  const out: Case[] = [];
  const requests: Array<[string, string]> = [
    ['tnetstring GET (10-tnet-req.bin)', '10-tnet-req.bin'],
    ['tnetstring POST (04-tnet-req.bin)', '04-tnet-req.bin'],
    ['JSON GET (01-json-req.bin)', '01-json-req.bin'],
    ['JSON POST (07-json-req.bin)', '07-json-req.bin'],
  ];
  for (const [label, file] of requests) {
    const msg = vector(file);
    out.push({ name: `parseMessage ${label}`, group: 'parse', bytes: msg.length, fn: () => parseMessage(msg) });
    const json = headersAsJson(msg);
    out.push({ name: `JSON.parse of the same headers (${file}, ${json.length} B)`, group: 'baseline', bytes: json.length, fn: () => JSON.parse(json.toString('latin1')) as unknown });
  }
  const sender = '53f9f1d1-1116-4751-b6ff-4fbe3e43d142';
  const head: ResponseHead = { version: 'HTTP/1.1', status: 200, headers: [['Content-Type', 'text/plain; charset=utf-8']] };
  for (const size of [11, 1024, 65536]) {
    const body = Buffer.alloc(size, 'x');
    out.push({ name: `serializeResponse + encodeReply, ${size} B body`, group: 'write', bytes: size, fn: () => encodeReply(sender, [37], serializeResponse(head, body)) });
  }
  const prebuilt = serializeResponse(head, Buffer.from('/echo/hello'));
  out.push({ name: `encodeReply only (prebuilt ${prebuilt.length} B response)`, group: 'write', bytes: prebuilt.length, fn: () => encodeReply(sender, [37], prebuilt) });
  out.push({
    name: `floor-style template + Buffer.concat (${prebuilt.length} B response)`,
    group: 'baseline',
    bytes: prebuilt.length,
    fn: () => Buffer.concat([Buffer.from(`${sender} 2:37, HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\n`, 'latin1'), Buffer.from('/echo/hello', 'latin1')]),
  });
  return out;
}

let sink: unknown;

/** Ops per second of `fn` over about `timeMs`. */
function measure(fn: () => unknown, timeMs: number): number {
  let batch = 64;
  // Size a batch to ~2 ms so the clock is read rarely.
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink = fn();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns > 2e6 || batch > 1e7) break;
    batch *= 2;
  }
  let ops = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(timeMs * 1e6));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < batch; i++) sink = fn();
    ops += batch;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - t0) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run every case: a warm-up pass, then `repeats` measurements of `timeMs` each, interleaved across cases. */
export function runCodecBench(timeMs: number, repeats: number): CodecResult[] {
  const all = cases();
  for (const c of all) measure(c.fn, Math.min(200, timeMs));
  const samples = all.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) all.forEach((c, i) => samples[i]!.push(measure(c.fn, timeMs)));
  if (sink === Symbol.for('never')) process.stdout.write('');
  return all.map((c, i) => {
    const ops = median(samples[i]!);
    return { name: c.name, group: c.group, bytes: c.bytes, opsPerSec: ops, nsPerOp: 1e9 / ops };
  });
}
