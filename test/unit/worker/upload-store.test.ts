import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RawMessage } from '../../../src/protocol/types';
import { checkUploadNotice, isStoreName, parseUploadStore, readUpload, uploadStoreOfDir, type UploadStore } from '../../../src/worker/upload-store';

function notice(headers: Record<string, string>, body = ''): RawMessage {
  return { sender: 's', connId: 1, path: '/u', headers: { METHOD: 'POST', ...headers }, body: Buffer.from(body), protocol: 'tnetstring' };
}

describe('upload store: template and names', () => {
  test('a template must be absolute and end in XXXXXX', () => {
    assert.throws(() => parseUploadStore('tmp/upload.XXXXXX'), /absolute/);
    assert.throws(() => parseUploadStore('/tmp/upload.XXXX'), /XXXXXX/);
    assert.throws(() => parseUploadStore('/tmp/XXXXXX/'), /XXXXXX/);
    const store = parseUploadStore('/srv//run/tmp/up.XXXXXX', 100);
    assert.deepEqual([store.dir, store.prefix, store.threshold], ['/srv/run/tmp', 'up.', 100]);
    assert.equal(uploadStoreOfDir('/tmp/').prefix, 'upload.');
  });

  test("only the template's directory and basename with a 6-char [A-Za-z0-9] run match", () => {
    const store = parseUploadStore('/run/tmp/upload.XXXXXX');
    assert.equal(isStoreName(store, '/run/tmp/upload.6QSMrV'), true);
    for (const bad of [
      '/run/tmp/upload.6QSMr', // 5 chars
      '/run/tmp/upload.6QSMrVx', // 7 chars
      '/run/tmp/upload.6QS-rV', // not mkstemp's alphabet
      '/run/tmp/other.6QSMrV', // wrong prefix
      '/run/tmp/sub/upload.6QSMrV', // subdirectory
      '/run/tmp/../tmp/upload.6QSMrV', // not normalised
      '/run/tmp/./upload.6QSMrV',
      '/run//tmp/upload.6QSMrV',
      '/run/upload.6QSMrV', // parent directory
      'run/tmp/upload.6QSMrV', // relative
      '/run/tmp/upload.6QSMr\0',
      '/etc/passwd',
    ]) {
      assert.equal(isStoreName(store, bad), false, bad);
    }
  });

  test("a notice has Mongrel2's shape only with an empty body and a length above the threshold, or chunked", () => {
    const store = parseUploadStore('/run/tmp/upload.XXXXXX', 20480);
    const f = '/run/tmp/upload.AbC123';
    const start = { 'x-mongrel2-upload-start': f };
    assert.equal(checkUploadNotice(store, notice({ ...start, 'content-length': '20481' }), f), undefined);
    assert.equal(checkUploadNotice(store, notice({ ...start, 'transfer-encoding': 'chunked' }), f), undefined);
    assert.equal(checkUploadNotice(store, notice({ ...start, 'content-length': '20480' }), f), 'shape');
    assert.equal(checkUploadNotice(store, notice({ ...start }), f), 'shape');
    assert.equal(checkUploadNotice(store, notice({ ...start, 'content-length': '1e9' }), f), 'shape');
    assert.equal(checkUploadNotice(store, notice({ ...start, 'content-length': '30000' }, 'x'), f), 'shape', 'a body is never inline on an upload');
    assert.equal(checkUploadNotice(store, notice({ ...start, 'content-length': '30000' }), '/run/tmp/sub/upload.AbC123'), 'name');
  });
});

describe('upload store: files planted inside the directory', () => {
  let dir = '';
  let store: UploadStore;
  let socketServer: Server;
  const planted = (name: string): string => path.join(dir, name);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'm2p-upload-'));
    store = parseUploadStore(path.join(dir, 'upload.XXXXXX'));
    await writeFile(planted('upload.GOOD01'), 'genuine body');
    await writeFile(planted('secret.txt'), 'secret');
    await symlink(planted('secret.txt'), planted('upload.SYMLNK'));
    await mkdir(planted('upload.DIRECT'));
    await mkdir(planted('sub'));
    await writeFile(planted('sub/upload.NESTED'), 'nested');
    await writeFile(planted('upload.HARD01'), 'two links');
    await link(planted('upload.HARD01'), planted('hard-copy'));
    execFileSync('mkfifo', [planted('upload.FIFO01')]);
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(planted('upload.SOCKET'), resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => socketServer.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  test('a regular file with a matching name is read', async () => {
    const read = await readUpload(planted('upload.GOOD01'), 1000);
    assert.equal(read.kind === 'ok' ? read.body.toString() : read.kind, 'genuine body');
    assert.deepEqual(await readUpload(planted('upload.GOOD01'), 3), { kind: 'too-large', size: 12 });
  });

  test('a symlink, a directory, a FIFO, a unix socket and a hard-linked file are refused', async () => {
    for (const name of ['upload.SYMLNK', 'upload.DIRECT', 'upload.FIFO01', 'upload.HARD01']) {
      assert.deepEqual(await readUpload(planted(name), 1000), { kind: 'refused', reason: 'not-regular' }, name);
    }
    assert.deepEqual(await readUpload(planted('upload.SOCKET'), 1000), { kind: 'refused', reason: 'unreadable' });
    assert.deepEqual(await readUpload(planted('upload.GONE00'), 1000), { kind: 'refused', reason: 'unreadable' });
  });

  test('a file in a subdirectory or with another name never passes the name check', () => {
    const shape = { 'content-length': '999999' };
    for (const name of ['sub/upload.NESTED', 'secret.txt', 'hard-copy']) {
      assert.equal(checkUploadNotice(store, notice(shape), planted(name)), 'name', name);
    }
    assert.equal(checkUploadNotice(store, notice(shape), planted('upload.GOOD01')), undefined);
  });

  test('refusing leaves every planted file in place', () => {
    for (const name of ['upload.SYMLNK', 'secret.txt', 'upload.DIRECT', 'sub/upload.NESTED', 'upload.HARD01', 'upload.FIFO01', 'upload.SOCKET']) {
      assert.equal(existsSync(planted(name)), true, name);
    }
  });
});
