/**
 * Signed cookies (issue 21, item 5): a value signed with HMAC-SHA256 reads back; any change to value or tag, a
 * tag made for another cookie name, or an unknown key reads as absent; the first secret signs and every secret
 * verifies (rotation).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { ConfigError } from '../../../src/errors';
import { CookieSigner } from '../../../src/http/signed-cookie';

const OLD = 'old-secret-0123456789';
const NEW = 'new-secret-0123456789';

describe('CookieSigner', () => {
  it('signs value.tag with HMAC-SHA256 over name=value, base64url', () => {
    const signed = new CookieSigner([NEW]).sign('theme', 'dark');
    const tag = createHmac('sha256', NEW).update('theme=dark').digest('base64url');
    assert.equal(signed, `dark.${tag}`);
  });

  it('reads back what it signed, values containing dots included', () => {
    const s = new CookieSigner([NEW]);
    assert.equal(s.unsign('a', s.sign('a', 'x.y.z')), 'x.y.z');
    assert.equal(s.unsign('a', s.sign('a', '')), '');
  });

  it('a tampered value, tag, truncation, other name or unknown key reads as absent', () => {
    const s = new CookieSigner([NEW]);
    const signed = s.sign('user', 'ann');
    const tag = signed.slice(signed.indexOf('.') + 1);
    assert.equal(s.unsign('user', `bob.${tag}`), undefined, 'value changed');
    assert.equal(s.unsign('user', `ann.${tag.slice(0, -1)}${tag.endsWith('A') ? 'B' : 'A'}`), undefined, 'tag changed');
    assert.equal(s.unsign('user', signed.slice(0, -1)), undefined, 'tag cut');
    assert.equal(s.unsign('user', 'ann'), undefined, 'no tag');
    assert.equal(s.unsign('admin', signed), undefined, 'signed for another cookie name');
    assert.equal(new CookieSigner([OLD]).unsign('user', signed), undefined, 'unknown key');
  });

  it('rotation: the first secret signs, every secret verifies', () => {
    const before = new CookieSigner([OLD]).sign('sid', 'v');
    const rotated = new CookieSigner([NEW, OLD]);
    assert.equal(rotated.unsign('sid', before), 'v');
    assert.equal(new CookieSigner([NEW]).unsign('sid', rotated.sign('sid', 'v')), 'v', 'signs with the first');
    assert.equal(new CookieSigner([NEW]).unsign('sid', before), undefined, 'a removed secret no longer verifies');
  });

  it('refuses no secret or a short one', () => {
    assert.throws(() => new CookieSigner([]), ConfigError);
    assert.throws(() => new CookieSigner(['short']), /at least 16 characters/);
  });

  it('get/set through a request and a response; a tampered cookie is refused', async () => {
    const signer = new CookieSigner([NEW]);
    const app = new App();
    app.get('/set', (ctx) => {
      signer.set(ctx.res, 'user', 'ann', { httpOnly: true });
      return 'ok';
    });
    app.get('/get', (ctx) => ({ user: signer.get(ctx.req, 'user') ?? null }));
    const set = await app.request('/set');
    const cookie = String(set.headers['set-cookie']).split(';')[0] as string;
    assert.match(cookie, /^user=ann\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual((await app.request('/get', { headers: { cookie } })).json(), { user: 'ann' });
    const forged = cookie.replace('user=ann', 'user=admin');
    assert.deepEqual((await app.request('/get', { headers: { cookie: forged } })).json(), { user: null });
  });
});
