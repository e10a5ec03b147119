import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { App } from '../../../src/app/app';
import { currentRequestId, requestMixin } from '../../../src/log/request-context';
import { isValidRequestId } from '../../../src/protocol/request-id';
import { captureLogs, type LogLine } from './log-capture';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('request ids', () => {
  it('makes an id per request, puts it on ctx and echoes it in X-Request-Id, also on framework replies', async () => {
    const app = new App().get('/x', (ctx) => ctx.requestId);
    const a = await app.request('/x');
    const b = await app.request('/x');
    assert.ok(isValidRequestId(a.text()));
    assert.equal(a.headers['x-request-id'], a.text());
    assert.equal(a.result.requestId, a.text());
    assert.notEqual(a.text(), b.text());
    const missing = await app.request('/missing');
    assert.equal(missing.status, 404);
    assert.ok(isValidRequestId(String(missing.headers['x-request-id'])));
  });

  it('honours a valid X-Request-Id, else a traceparent; replaces an invalid one', async () => {
    const app = new App().get('/x', (ctx) => ({ id: ctx.requestId, trace: ctx.trace?.traceId ?? null }));
    assert.deepEqual((await app.request('/x', { headers: { 'x-request-id': 'client-1' } })).json(), { id: 'client-1', trace: null });
    const traced = await app.request('/x', { headers: { traceparent: TRACE } });
    assert.deepEqual(traced.json(), { id: '4bf92f3577b34da6a3ce929d0e0e4736', trace: '4bf92f3577b34da6a3ce929d0e0e4736' });
    const hostile = await app.request('/x', { headers: { 'x-request-id': 'evil\u0001"}' } });
    const id = (hostile.json() as { id: string }).id;
    assert.notEqual(id, 'evil\u0001"}');
    assert.ok(isValidRequestId(id));
    assert.equal(hostile.headers['x-request-id'], id);
  });

  it('keeps a header the handler set itself, and echoes nothing with requestIdHeader: false', async () => {
    const own = new App().get('/x', (ctx) => (ctx.res.header('X-Request-Id', 'mine'), 'ok'));
    assert.equal((await own.request('/x')).headers['x-request-id'], 'mine');
    const off = new App({ requestIdHeader: false }).get('/x', (ctx) => ctx.requestId);
    const res = await off.request('/x', { headers: { 'x-request-id': 'client-1' } });
    assert.equal(res.headers['x-request-id'], undefined);
    assert.notEqual(res.text(), 'client-1');
    const custom = new App({ requestIdHeader: 'X-Correlation-Id' }).get('/x', (ctx) => ctx.requestId);
    const c = await custom.request('/x', { headers: { 'x-correlation-id': 'corr-9' } });
    assert.equal(c.text(), 'corr-9');
    assert.equal(c.headers['x-correlation-id'], 'corr-9');
  });

  it('puts the id on every ctx.log line and on the framework own lines about the request', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).get('/x', (ctx) => {
      ctx.log.info('inside');
      throw new Error('boom');
    });
    const res = await app.request('/x', { headers: { 'x-request-id': 'rid-1' } });
    assert.equal(res.status, 500);
    assert.deepEqual(lines.map((l) => [l.msg, l['requestId']]), [['inside', 'rid-1'], ['handler failed', 'rid-1']]);
  });

  it('with asyncContext, a logger built with requestMixin adds the id to lines written anywhere inside the request', async () => {
    const lines: LogLine[] = [];
    const moduleLogger = pino({ level: 'info', mixin: requestMixin }, { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) });
    const app = new App({ asyncContext: true, logger: moduleLogger }).get('/x', async (ctx) => {
      await new Promise((resolve) => setImmediate(resolve));
      moduleLogger.info('from a module');
      ctx.log.info('from ctx.log'); // bound already: one requestId key, not two
      return currentRequestId() ?? 'none';
    });
    const res = await app.request('/x', { headers: { 'x-request-id': 'rid-2' } });
    assert.equal(res.text(), 'rid-2');
    moduleLogger.info('outside');
    assert.deepEqual(lines.map((l) => [l.msg, l['requestId']]), [['from a module', 'rid-2'], ['from ctx.log', 'rid-2'], ['outside', undefined]]);
    assert.equal(currentRequestId(), undefined);
  });
});
