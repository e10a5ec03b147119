import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, M2PoolError } from '../../../src/errors';
import { serializeCookie } from '../../../src/http/cookie';

function isInvalid(message: string): (err: unknown) => boolean {
  return (err) => err instanceof M2PoolError && err.code === ErrorCode.RESPONSE_INVALID && err.message === message;
}

describe('serializeCookie', () => {
  it('writes every attribute in a fixed order', () => {
    const value = serializeCookie('sid', 'abc', {
      maxAge: 3600.9,
      domain: 'example.com',
      path: '/app',
      expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
      httpOnly: true,
      secure: true,
      sameSite: 'None',
    });
    assert.equal(
      value,
      'sid=abc; Max-Age=3600; Domain=example.com; Path=/app; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=None',
    );
  });

  it('percent-encodes the value so separators cannot escape it', () => {
    assert.equal(serializeCookie('n', 'a;b c,"d"\r\n'), 'n=a%3Bb%20c%2C%22d%22%0D%0A');
  });

  it('omits false flags', () => {
    assert.equal(serializeCookie('n', 'v', { httpOnly: false, secure: false }), 'n=v');
  });

  it('rejects a name that is not a token', () => {
    assert.throws(() => serializeCookie('a b', 'v'), isInvalid('invalid cookie name "a b"'));
    assert.throws(() => serializeCookie('a;b', 'v'), isInvalid('invalid cookie name "a;b"'));
    assert.throws(() => serializeCookie('', 'v'), isInvalid('invalid cookie name ""'));
  });

  it('rejects a path or domain with ; or control characters', () => {
    assert.throws(() => serializeCookie('n', 'v', { path: '/a; Secure' }), isInvalid('invalid cookie path "/a; Secure"'));
    assert.throws(() => serializeCookie('n', 'v', { path: '/a\r\nX: y' }), isInvalid('invalid cookie path "/a\\r\\nX: y"'));
    assert.throws(() => serializeCookie('n', 'v', { domain: '' }), isInvalid('invalid cookie domain ""'));
  });

  it('rejects SameSite=None without Secure', () => {
    assert.throws(() => serializeCookie('n', 'v', { sameSite: 'None' }), isInvalid('cookie sameSite None requires secure'));
  });

  it('rejects an invalid date and a non-finite maxAge', () => {
    assert.throws(() => serializeCookie('n', 'v', { expires: new Date(Number.NaN) }), isInvalid('invalid cookie expires date'));
    assert.throws(() => serializeCookie('n', 'v', { maxAge: Number.POSITIVE_INFINITY }), isInvalid('invalid cookie maxAge Infinity'));
  });
});
