import assert from 'node:assert/strict';
import { DATE_LINE_BYTES } from '../../helpers/http-date';
import { describe, it } from 'node:test';
import { Response } from '../../../src/http/response';
import type { ReplySink } from '../../../src/http/sink';
import { isInvalid, setup } from './response-setup';

describe('Response HEAD', () => {
  it('sends the GET headers including Content-Length but no body bytes', async () => {
    const { res, sink } = setup({ method: 'HEAD' });
    await res.json({ a: 1 });
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 7\r\n\r\n' },
    ]);
  });

  it('sends a streamed head with chunked framing and no chunks', async () => {
    const { res, sink } = setup({ method: 'HEAD' });
    const stream = await res.stream();
    await stream.write('ignored');
    await stream.end('also ignored');
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' }]);
  });
});

describe('Response connection handling', () => {
  it('adds Connection: close and closes after the response when the request wants close', async () => {
    const { res, sink } = setup({ version: 'HTTP/1.0', wantsClose: true });
    await res.text('bye');
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye' },
      { type: 'close' },
    ]);
  });

  it('answers an HTTP/1.0 keep-alive request with Connection: keep-alive and stays open', async () => {
    const { res, sink } = setup({ version: 'HTTP/1.0', wantsClose: false });
    await res.empty();
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n' }]);
  });

  it('closes when the handler sets Connection: close itself', async () => {
    const { res, sink } = setup();
    await res.header('connection', 'Close').empty();
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' },
      { type: 'close' },
    ]);
  });
});

describe('Response streaming', () => {
  it('sends chunked coding on HTTP/1.1, one write per chunk', async () => {
    const { res, sink } = setup();
    res.header('Content-Type', 'text/plain').header('Content-Length', '5');
    const stream = await res.stream();
    assert.equal(res.headersSent, true);
    assert.equal(res.sent, false);
    assert.equal(res.finished, false);
    await stream.write('hello ');
    await stream.write(Buffer.alloc(0));
    await stream.write(new Uint8Array([119, 111, 114, 108, 100, 10]));
    await stream.end();
    assert.equal(res.sent, true);
    assert.equal(res.finished, true);
    assert.equal(stream.ended, true);
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n' },
      { type: 'write', data: '6\r\nhello \r\n' },
      { type: 'write', data: '6\r\nworld\n\r\n' },
      { type: 'write', data: '0\r\n\r\n' },
    ]);
    assert.equal(res.bytesWritten, sink.raw.reduce((n, w) => n + w.length, 0));
    assert.equal(res.bytesWritten, 73 + DATE_LINE_BYTES + 11 + 11 + 5);
  });

  it('sends the final data and the last chunk in one write', async () => {
    const { res, sink } = setup();
    const stream = await res.stream();
    await stream.end('tail');
    assert.deepEqual(sink.events.slice(1), [{ type: 'write', data: '4\r\ntail\r\n0\r\n\r\n' }]);
  });

  it('delimits the body by close on HTTP/1.0, even with keep-alive', async () => {
    const { res, sink } = setup({ version: 'HTTP/1.0', wantsClose: false });
    const stream = await res.stream();
    await stream.write('ab');
    await stream.end('c');
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' },
      { type: 'write', data: 'ab' },
      { type: 'write', data: 'c' },
      { type: 'close' },
    ]);
  });

  it('closes after the last chunk when the request wants close', async () => {
    const { res, sink } = setup({ wantsClose: true });
    const stream = await res.stream();
    await stream.end();
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' },
      { type: 'write', data: '0\r\n\r\n' },
      { type: 'close' },
    ]);
  });

  it('ends idempotently and refuses writes after the end', async () => {
    const { res, sink } = setup();
    const stream = await res.stream();
    await stream.end();
    await stream.end();
    await assert.rejects(stream.write('late'), isInvalid);
    assert.equal(sink.events.length, 2);
    await assert.rejects(res.stream(), isInvalid);
  });

  it('end() on the response ends an open stream', async () => {
    const { res, sink } = setup();
    await res.stream();
    await res.end();
    await res.end();
    assert.deepEqual(sink.events.slice(1), [{ type: 'write', data: '0\r\n\r\n' }]);
  });

  it('propagates a sink failure to the writer', async () => {
    const failing: ReplySink = {
      write: async () => {
        throw new Error('transport gone');
      },
      close: async () => undefined,
    };
    const res = new Response(failing, { method: 'GET', version: 'HTTP/1.1', wantsClose: false });
    await assert.rejects(res.text('x'), { message: 'transport gone' });
    assert.equal(res.bytesWritten, 0);
    assert.equal(res.sent, true);
    assert.equal(res.finished, false);
  });
});
