/**
 * Issue 21, item 4: a multipart async upload stays on disk — the app gets an empty message body and a `bodySource`
 * over the checked temp file, read as a stream — while any other upload is still read into the message body; the
 * temp file is removed after the request either way.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { BodySource } from '../../../src/http/request';
import { encode } from '../../../src/protocol/tnetstring';
import type { DispatchSummary, WorkerApp } from '../../../src/adapters/app-contract';
import { WorkerRuntime, type RuntimeOptions } from '../../../src/worker/runtime';
import { parseUploadStore } from '../../../src/worker/upload-store';
import { MemoryTransport } from '../../helpers/memory-transport';
import { waitFor } from '../../helpers/wait-for';

const SENDER = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';
const THRESHOLD = 100;

function doneMessage(connId: number, file: string, contentType: string, size: number): Buffer {
  const headers = { METHOD: 'POST', PATH: '/up', 'content-type': contentType, 'content-length': String(size), 'x-mongrel2-upload-start': file, 'x-mongrel2-upload-done': file };
  return Buffer.concat([Buffer.from(`${SENDER} ${connId} /up `, 'latin1'), encode(headers), encode(Buffer.alloc(0))]);
}

/** What the app saw of one request. */
interface Seen {
  bodyLength: number;
  source: BodySource | undefined;
  streamed: Buffer | undefined;
}

describe('worker runtime: where an async upload body goes', () => {
  let dir: string;
  let transport: MemoryTransport;
  let other: MemoryTransport;
  let runtime: WorkerRuntime;
  let options: RuntimeOptions;
  let app: WorkerApp & { readsBodySource: boolean };
  const seen: Seen[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'm2p-upbody-'));
    app = {
      readsBodySource: true,
      async dispatch(msg, sink, options): Promise<DispatchSummary> {
        const source = options.bodySource;
        let streamed: Buffer | undefined;
        if (source !== undefined) {
          const chunks: Buffer[] = [];
          for await (const c of source.open()) chunks.push(c as Buffer);
          streamed = Buffer.concat(chunks);
        }
        seen.push({ bodyLength: msg.body.length, source, streamed });
        await sink.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
        return { outcome: 'response', status: 200, route: '/up', method: 'POST', bytesSent: 38, closed: false, durationMs: 0 };
      },
    };
    transport = new MemoryTransport();
    other = new MemoryTransport();
    options = {
      transport,
      app,
      logger: pino({ level: 'silent' }),
      maxInFlight: 4,
      uploadStore: parseUploadStore(path.join(dir, 'upload.XXXXXX'), THRESHOLD),
      maxUploadBytes: 1_000_000,
      requestLogLevel: 'silent',
      lingerMs: 10,
    };
    runtime = new WorkerRuntime(options);
    runtime.start();
  });
  after(async () => {
    await runtime.stop(100);
    await rm(dir, { recursive: true, force: true });
  });

  test('multipart/form-data: empty message body, the file streamed through bodySource, then removed', async () => {
    const file = path.join(dir, 'upload.Mp4rt1');
    const content = Buffer.alloc(5000, 'm');
    await writeFile(file, content);
    transport.push(doneMessage(1, file, 'multipart/form-data; boundary=x', content.length));
    await transport.whenSent(1);
    const s = seen.at(-1)!;
    assert.equal(s.bodyLength, 0, 'not read into the message');
    assert.equal(s.source?.size, content.length);
    assert.ok(s.streamed?.equals(content), 'the stream reads the whole file');
    // The file is removed once the request is over, which is just after its reply was handed over.
    await waitFor(() => !existsSync(file), { what: 'the temp file removed' });
  });

  test('an app that does not read body sources (an adapter) gets the multipart body in the message', async () => {
    app.readsBodySource = false;
    const plain = new WorkerRuntime({ ...options, app, transport: other });
    plain.start();
    try {
      const file = path.join(dir, 'upload.Pla1n0');
      const content = Buffer.alloc(3000, 'p');
      await writeFile(file, content);
      other.push(doneMessage(3, file, 'multipart/form-data; boundary=x', content.length));
      await other.whenSent(1);
      const s = seen.at(-1)!;
      assert.equal(s.bodyLength, content.length);
      assert.equal(s.source, undefined);
    } finally {
      await plain.stop(100);
      app.readsBodySource = true;
    }
  });

  test('another content type is read into the message body as before (no bodySource)', async () => {
    const file = path.join(dir, 'upload.Js0nXY');
    const content = Buffer.from(JSON.stringify({ pad: 'x'.repeat(500) }));
    await writeFile(file, content);
    transport.push(doneMessage(2, file, 'application/json', content.length));
    await transport.whenSent(2);
    const s = seen.at(-1)!;
    assert.equal(s.bodyLength, content.length);
    assert.equal(s.source, undefined);
    await waitFor(() => !existsSync(file), { what: 'the temp file removed' });
  });
});
