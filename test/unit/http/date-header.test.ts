import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { dateHeaderLine } from '../../../src/http/date-header';
import { assertImfFixdate } from '../../helpers/http-date';
import { setup } from './response-setup';

describe('Date header (RFC 9110 §6.6.1)', () => {
  it('formats the time as IMF-fixdate', () => {
    assert.equal(dateHeaderLine(784111777000), 'Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n');
    assert.equal(dateHeaderLine(784111777999), 'Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n');
    assert.equal(dateHeaderLine(784111778000), 'Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n');
  });

  it('is on every response, once, and is the current time', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const res = await new App().get('/', () => 'hi').request('/');
    const after = Date.now();
    const date = res.headers['date'];
    assertImfFixdate(date);
    const at = new Date(date as string).getTime();
    assert.ok(at >= before && at <= after, `${String(date)} is not between ${new Date(before).toUTCString()} and ${new Date(after).toUTCString()}`);
    const missing = await new App().request('/missing');
    assertImfFixdate(missing.headers['date']);
  });

  it('is not duplicated when the handler set its own', async () => {
    const { res, sink } = setup();
    await res.header('date', 'Tue, 15 Nov 1994 08:12:31 GMT').text('x');
    const head = sink.raw[0] ?? '';
    assert.equal(head.match(/^date:/gim)?.length, 1, head);
    assert.match(head, /\r\ndate: Tue, 15 Nov 1994 08:12:31 GMT\r\n/);
  });

  it('is sent on streamed and bodiless responses too', async () => {
    const streamed = setup();
    const stream = await streamed.res.stream();
    await stream.end('x');
    assert.match(streamed.sink.raw[0] ?? '', /\r\nDate: [^\r]+ GMT\r\n/);
    const empty = setup();
    await empty.res.empty(204);
    assert.match(empty.sink.raw[0] ?? '', /^HTTP\/1\.1 204 No Content\r\nDate: [^\r]+ GMT\r\n\r\n$/);
  });
});
