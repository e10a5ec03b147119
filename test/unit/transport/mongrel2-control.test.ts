/** Parsing Mongrel2's control-port answers (docs/mongrel2.md §6.6). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetStatus } from '../../../src/transport/mongrel2-control';

test('status what=net as Mongrel2 1.12.2 answered it: an unidentified connection and one with a request', () => {
  // Captured from a live Mongrel2 (one idle connection, one whose request waited for a handler).
  const reply = Buffer.from('187:7:headers,86:2:id,2:fd,4:type,9:last_ping,9:last_read,10:last_write,10:bytes_read,13:bytes_written,]4:rows,76:34:2:-1#2:22#1:0#1:0#1:0#1:0#1:0#1:0#]34:1:2#2:23#1:1#1:0#1:0#1:0#2:36#1:0#]]}', 'latin1');
  assert.deepEqual(parseNetStatus(reply), [
    { id: -1, fd: 22, type: 0, lastPing: 0, lastRead: 0, lastWrite: 0, bytesRead: 0, bytesWritten: 0 },
    { id: 2, fd: 23, type: 1, lastPing: 0, lastRead: 0, lastWrite: 0, bytesRead: 36, bytesWritten: 0 },
  ]);
});

test('an empty table, and answers that are not one', () => {
  assert.deepEqual(parseNetStatus(Buffer.from('110:7:headers,86:2:id,2:fd,4:type,9:last_ping,9:last_read,10:last_write,10:bytes_read,13:bytes_written,]4:rows,0:]}')), []);
  assert.throws(() => parseNetStatus(Buffer.from('5:hello,')), /not a table/);
  assert.throws(() => parseNetStatus(Buffer.from('23:7:headers,0:]4:rows,0:]}')), /unexpected columns/);
});
