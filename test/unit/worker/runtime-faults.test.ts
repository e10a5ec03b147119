/**
 * Issue 11 finding 2: an exception on the request path ends in an outcome for that request, never in a process
 * exit; a message whose sender no reply could address is counted and logged (bounded), and other work goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DispatchSummary, WorkerApp } from '../../../src/adapters/app-contract';
import { WorkerRuntime } from '../../../src/worker/runtime';
import { encode } from '../../../src/protocol/tnetstring';
import { MemoryTransport } from '../../helpers/memory-transport';
import { waitFor } from '../../helpers/wait-for';
import { captureLogs } from '../app/log-capture';

const SENDER = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';

function message(sender: string, connId: number, path: string, headers: Record<string, string>, body = ''): Buffer {
  return Buffer.concat([Buffer.from(`${sender} ${connId} ${path} `, 'latin1'), encode(headers), encode(Buffer.from(body))]);
}

/** Answers every request with a small 200. */
const OK_APP: WorkerApp = {
  async dispatch(msg, sink): Promise<DispatchSummary> {
    await sink.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    return { outcome: 'response', status: 200, route: '/', method: String(msg.headers['METHOD']), bytesSent: 40, closed: false, durationMs: 0 };
  },
};

describe('worker runtime: faults on the request path', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => void unhandled.push(err);
  let transport: MemoryTransport;
  let runtime: WorkerRuntime;
  let lines: ReturnType<typeof captureLogs>['lines'];

  before(() => {
    process.on('unhandledRejection', onUnhandled);
    const logs = captureLogs();
    lines = logs.lines;
    transport = new MemoryTransport();
    runtime = new WorkerRuntime({ transport, app: OK_APP, logger: logs.logger, maxInFlight: 8, maxUploadBytes: 1000, requestLogLevel: 'silent', lingerMs: 10 });
    runtime.start();
  });
  after(async () => {
    await runtime.stop(100);
    process.off('unhandledRejection', onUnhandled);
  });

  test('a sender outside [A-Za-z0-9-] is refused at parse time: counted, logged short, never answered', async () => {
    const hostile = `${'x'.repeat(5000)}!`;
    transport.push(message(hostile, 1, '/', { METHOD: 'GET' }));
    transport.push(message(SENDER, 2, '/', { METHOD: 'GET' }));
    await transport.whenSent(1);
    assert.equal(runtime.stats.malformed, 1);
    assert.equal(transport.sent.length, 1);
    assert.match(transport.sent[0]!.toString('latin1'), new RegExp(`^${SENDER} 1:2, HTTP/1.1 200`));
    const line = lines.find((l) => l['event'] === 'message.malformed');
    assert.ok(line !== undefined && JSON.stringify(line).length < 600, 'the log line is bounded');
  });

  for (const fault of ['throw', 'reject'] as const) {
    test(`a send that ${fault}s on every reject path (400, 404, 501) and on a served request still ends each in an outcome`, async () => {
      const handled = runtime.stats.handled;
      const failures = runtime.stats.sendFailures;
      transport.fault = fault;
      transport.push(message(SENDER, 10, '/', { METHOD: 'GET', 'x-mongrel2-upload-done': '/tmp/upload.abcdef' })); // 400
      transport.push(message(SENDER, 11, '/ws', { METHOD: 'WEBSOCKET_HANDSHAKE' }, 'acceptkey')); // 404: no websocket routes
      transport.push(message(SENDER, 12, '/up', { METHOD: 'POST', UPLOAD_STREAM: '0' })); // 501
      transport.push(message(SENDER, 13, '/', { METHOD: 'GET' })); // served
      await waitFor(() => runtime.stats.handled === handled + 4, { what: 'four outcomes' });
      assert.ok(runtime.stats.sendFailures > failures, 'the failed sends are counted');
      transport.fault = 'none';
      const sent = transport.sent.length;
      transport.push(message(SENDER, 14, '/', { METHOD: 'GET' }));
      await transport.whenSent(sent + 1);
      await waitFor(() => runtime.stats.inFlight === 0, { what: 'no request left in flight' });
      assert.deepEqual(unhandled, [], 'no unhandled rejection (which would exit a worker)');
    });
  }
});

