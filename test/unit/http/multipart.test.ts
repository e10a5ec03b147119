/**
 * Multipart forms through `app.request()` (issue 21, item 4): fields and files parsed in body order, streamed, the
 * helpers (buffer, temp file), each limit answered 413 with a message naming it, malformed bodies 400, and a body
 * read from a file (the async-upload path) parsed the same way.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { Request } from '../../../src/http/request';
import { buildRawMessage, RecordingOutlet } from '../../../src/app/testing/testing';
import { UploadBody } from '../../../src/worker/upload-store';
import { multipartBody } from '../../helpers/multipart';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An app whose /form answers what it parsed, streaming each file through a hash. */
function formApp(limits?: Parameters<Request['parts']>[0]): App {
  const app = new App();
  app.post('/form', async (ctx) => {
    const fields: Record<string, string> = {};
    const files: unknown[] = [];
    for await (const part of ctx.req.parts(limits)) {
      if (part.kind === 'field') fields[part.name] = part.value;
      else {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of part.stream) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        files.push({ field: part.name, filename: part.filename, size, sha256: hash.digest('hex') });
      }
    }
    return { fields, files };
  });
  return app;
}

describe('multipart/form-data', () => {
  it('parses fields and files in body order, streaming each file', async () => {
    const a = randomBytes(100_000);
    const b = Buffer.from('second file');
    const { body, contentType } = multipartBody([
      { name: 'title', value: 'héllo' },
      { name: 'doc', filename: 'a.bin', data: a },
      { name: 'note', value: '' },
      { name: 'doc2', filename: 'b.txt', data: b, type: 'text/plain' },
    ]);
    const res = await formApp().request('/form', { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.equal(res.status, 200, res.text());
    assert.deepEqual(res.json(), {
      fields: { title: 'héllo', note: '' },
      files: [
        { field: 'doc', filename: 'a.bin', size: a.length, sha256: sha256(a) },
        { field: 'doc2', filename: 'b.txt', size: b.length, sha256: sha256(b) },
      ],
    });
  });

  it('skips a file the handler did not read and still yields the parts after it', async () => {
    const app = new App();
    app.post('/form', async (ctx) => {
      const names: string[] = [];
      for await (const part of ctx.req.parts()) names.push(part.name);
      return names;
    });
    const { body, contentType } = multipartBody([{ name: 'f', filename: 'x', data: randomBytes(300_000) }, { name: 'after', value: '1' }]);
    const res = await app.request('/form', { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.deepEqual(res.json(), ['f', 'after']);
  });

  it('multipart(): fields (repeated names as arrays) and files in memory or in temp files removed by cleanup()', async () => {
    const data = randomBytes(5000);
    const { body, contentType } = multipartBody([{ name: 'tag', value: 'a' }, { name: 'tag', value: 'b' }, { name: 'f', filename: 'f.bin', data }]);
    const app = new App();
    let tempPath = '';
    app.post('/memory', async (ctx) => {
      const form = await ctx.req.multipart();
      return { fields: form.fields, same: form.files[0]?.data?.equals(data), size: form.files[0]?.size };
    });
    app.post('/temp', async (ctx) => {
      const form = await ctx.req.multipart({ files: 'temp' });
      tempPath = form.files[0]?.path ?? '';
      const same = (await readFile(tempPath)).equals(data);
      await form.cleanup();
      return { same, gone: !existsSync(tempPath) };
    });
    const init = { method: 'POST', headers: { 'content-type': contentType }, body };
    assert.deepEqual((await app.request('/memory', init)).json(), { fields: { tag: ['a', 'b'] }, same: true, size: 5000 });
    assert.deepEqual((await app.request('/temp', init)).json(), { same: true, gone: true });
  });

  const limitCases: Array<[string, Parameters<Request['parts']>[0], ReturnType<typeof multipartBody>, RegExp]> = [
    ['file size', { fileSize: 1000 }, multipartBody([{ name: 'f', filename: 'x', data: randomBytes(1001) }]), /file in field "f" is larger than the limit of 1000 bytes/],
    ['file count', { files: 1 }, multipartBody([{ name: 'a', filename: 'x', data: Buffer.from('1') }, { name: 'b', filename: 'y', data: Buffer.from('2') }]), /more than 1 files/],
    ['field count', { fields: 2 }, multipartBody([{ name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'c', value: '3' }]), /more than 2 fields/],
    ['field size', { fieldSize: 10 }, multipartBody([{ name: 'a', value: 'x'.repeat(11) }]), /field "a" is longer than the limit of 10 bytes/],
  ];
  for (const [what, limits, { body, contentType }, message] of limitCases) {
    it(`answers 413 past the ${what} limit, with a message naming it`, async () => {
      const res = await formApp(limits).request('/form', { method: 'POST', headers: { 'content-type': contentType }, body });
      assert.equal(res.status, 413);
      assert.match(res.text(), message);
    });
  }

  it('accepts a file of exactly the size limit', async () => {
    const data = randomBytes(1000);
    const { body, contentType } = multipartBody([{ name: 'f', filename: 'x', data }]);
    const res = await formApp({ fileSize: 1000 }).request('/form', { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.equal(res.status, 200);
  });

  it('answers 400 for a truncated body or a missing boundary, 415 for another content type', async () => {
    const { body, contentType } = multipartBody([{ name: 'a', value: '1' }, { name: 'f', filename: 'x', data: randomBytes(2000) }]);
    const cut = await formApp().request('/form', { method: 'POST', headers: { 'content-type': contentType }, body: body.subarray(0, body.length - 600) });
    assert.equal(cut.status, 400);
    assert.match(cut.text(), /malformed multipart body/);
    const noBoundary = await formApp().request('/form', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body });
    assert.equal(noBoundary.status, 400);
    const json = await formApp().request('/form', { method: 'POST', body: { a: 1 } });
    assert.equal(json.status, 415);
    assert.match(json.text(), /expected a multipart\/form-data body, got application\/json/);
  });

  it('form() on a multipart body says to use multipart() (415), instead of failing silently', async () => {
    const app = new App();
    app.post('/f', (ctx) => ctx.req.form());
    const { body, contentType } = multipartBody([{ name: 'a', value: '1' }]);
    const res = await app.request('/f', { method: 'POST', headers: { 'content-type': contentType }, body });
    assert.equal(res.status, 415);
    assert.match(res.text(), /await req\.multipart\(\)/);
  });

  it('a body that stayed on disk (async upload) is read from the file, not from memory', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'm2p-mp-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const data = randomBytes(200_000);
    const { body, contentType } = multipartBody([{ name: 'x', value: 'y' }, { name: 'f', filename: 'big.bin', data }]);
    const file = path.join(dir, 'upload');
    await writeFile(file, body);
    const handle = await open(file, 'r');
    const source = new UploadBody(handle, body.length);
    t.after(() => source.close());
    const app = formApp();
    const msg = buildRawMessage('/form', { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(body.length) } });
    assert.equal(msg.body.length, 0);
    const outlet = new RecordingOutlet();
    const result = await app.dispatch(msg, outlet, { bodySource: source });
    assert.equal(result.status, 200);
    assert.deepEqual(JSON.parse(outlet.body().toString()), {
      fields: { x: 'y' },
      files: [{ field: 'f', filename: 'big.bin', size: data.length, sha256: sha256(data) }],
    });
  });

  it('a body schema validates the fields of a multipart body', async () => {
    const app = new App();
    const schema = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (v: unknown) => ((v as Record<string, unknown>)['user'] === 'ann' ? { value: v } : { issues: [{ message: 'user must be ann', path: ['user'] }] }),
      },
    };
    app.post('/v', (ctx) => ctx.body, { body: schema });
    const ok = multipartBody([{ name: 'user', value: 'ann' }, { name: 'f', filename: 'x', data: Buffer.from('zz') }]);
    const res = await app.request('/v', { method: 'POST', headers: { 'content-type': ok.contentType }, body: ok.body });
    assert.deepEqual(res.json(), { user: 'ann' });
    const bad = multipartBody([{ name: 'user', value: 'bob' }]);
    assert.equal((await app.request('/v', { method: 'POST', headers: { 'content-type': bad.contentType }, body: bad.body })).status, 400);
  });
});
