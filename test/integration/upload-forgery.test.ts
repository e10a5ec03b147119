/**
 * Issue 11 finding 1 against a real Mongrel2: forged `X-Mongrel2-Upload-*` headers naming files planted INSIDE
 * the upload directory (matching name, subdirectory, symlink, unix socket) are refused with 400 on a 404 route and
 * on a real route, counted, and no planted file is read or deleted; a genuine large upload still works and its
 * temp file is removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpConnection, rawRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'planted secret bytes';

describe('forged async uploads (real Mongrel2)', { timeout: 60_000 }, () => {
  let m2: TestMongrel2;
  let worker: TestProcess;
  let socketServer: Server;
  let planted: string[] = [];

  before(async () => {
    m2 = await startTestMongrel2({ handlers: [{ route: '/', protocol: 'tnetstring' }] });
    const dir = m2.uploadDir;
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    const names = { match: 'upload.PLANT1', secret: 'secret.txt', nested: 'sub/upload.NESTED', link: 'upload.SYMLNK', socket: 'upload.SOCKET' };
    await writeFile(path.join(dir, names.match), SECRET);
    await writeFile(path.join(dir, names.secret), SECRET);
    await writeFile(path.join(dir, names.nested), SECRET);
    await symlink(path.join(dir, names.secret), path.join(dir, names.link));
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(path.join(dir, names.socket), resolve));
    planted = Object.values(names).map((n) => path.join(dir, n));
    worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--upload-store', path.join(dir, 'upload.XXXXXX'), '--upload-threshold', '20480']);
  });
  after(async () => {
    await worker?.stop();
    await new Promise<void>((resolve) => (socketServer === undefined ? resolve() : socketServer.close(() => resolve())));
    await m2?.stop();
  });

  const refusals = (): number => worker.logs.filter((l) => l['event'] === 'upload.refused').length;

  for (const route of ['/no-such-route', '/inspect/forged']) {
    test(`forged start+done on ${route}: 400 for every planted name, nothing read, nothing deleted`, async () => {
      const before = refusals();
      for (const file of planted) {
        // A small body: a client that declares more than limits.content_length makes Mongrel2 take the upload path
        // itself and overwrite these headers, so only this form reaches the worker with the forged values.
        const res = await rawRequest(m2.port, {
          method: 'POST',
          path: route,
          headers: [['X-Mongrel2-Upload-Start', file], ['X-Mongrel2-Upload-Done', file]],
          body: 'x',
        });
        assert.equal(res.status, 400, file);
        assert.equal(res.body.toString().includes(SECRET), false, `${file} was read back`);
      }
      for (const file of planted) assert.equal(existsSync(file), true, `${file} was deleted`);
      // The log line travels over the worker's stdout, which may lag the response: wait for it, then count.
      await waitFor(() => refusals() - before >= planted.length, { what: 'upload.refused lines' });
      assert.equal(refusals() - before, planted.length, 'every refusal is logged as upload.refused');
    });
  }

  test('a forged start without a done is answered 400 at once (the connection is not left waiting)', async () => {
    const file = planted[0] as string;
    const res = await rawRequest(m2.port, { path: '/inspect/start-only', headers: [['X-Mongrel2-Upload-Start', file]] }, { timeoutMs: 5_000 });
    assert.equal(res.status, 400);
    assert.equal(existsSync(file), true);
  });

  test('a genuine upload over limits.content_length still works and its temp file is removed', async () => {
    const body = randomBytes(64 * 1024);
    const res = await rawRequest(m2.port, { method: 'POST', path: '/inspect/upload', headers: [['Content-Type', 'application/octet-stream']], body });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body.toString()) as { body: string; headers: Record<string, string> };
    assert.deepEqual(Buffer.from(seen.body, 'base64'), body);
    const leftovers = async (): Promise<string[]> =>
      (await readdir(m2.uploadDir)).filter((n) => /^upload\.[A-Za-z0-9]{6}$/.test(n) && !planted.includes(path.join(m2.uploadDir, n)));
    // The worker unlinks the file once the response is handed over, so the client may see the response first.
    await waitFor(async () => (await leftovers()).length === 0, { what: 'the temp file Mongrel2 wrote to be unlinked' });
    for (const file of planted) assert.equal(existsSync(file), true);
  });

  test('a genuine chunked upload (Mongrel2 always takes the upload path for it) still works', async () => {
    const data = randomBytes(3000).toString('hex');
    const chunks = [data.slice(0, 2500), data.slice(2500)].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
    const conn = await HttpConnection.open(m2.port);
    try {
      conn.send(Buffer.from(`POST /inspect/chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`, 'latin1'));
      const res = await conn.read();
      assert.equal(res.status, 200);
      const seen = JSON.parse(res.body.toString()) as { body: string };
      assert.equal(Buffer.from(seen.body, 'base64').toString('latin1'), data);
    } finally {
      conn.close();
    }
  });
});
