import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError, isHttpError } from '../../../src/http/http-error';

describe('HttpError', () => {
  it('exposes 4xx messages and defaults the message to the status text', () => {
    const err = new HttpError(404);
    assert.equal(err.status, 404);
    assert.equal(err.message, 'Not Found');
    assert.equal(err.expose, true);
    assert.equal(err.name, 'HttpError');
    assert.equal(err.details, undefined);
    assert.equal(err.headers, undefined);
  });

  it('hides 5xx messages unless told otherwise', () => {
    assert.equal(new HttpError(503, 'db down').expose, false);
    assert.equal(new HttpError(503, 'try later', { expose: true }).expose, true);
    assert.equal(new HttpError(400, 'secret', { expose: false }).expose, false);
  });

  it('carries details, headers and cause', () => {
    const cause = new Error('root');
    const err = new HttpError(401, 'login', { details: { realm: 'x' }, headers: { 'WWW-Authenticate': 'Basic' }, cause });
    assert.deepEqual(err.details, { realm: 'x' });
    assert.deepEqual(err.headers, { 'WWW-Authenticate': 'Basic' });
    assert.equal(err.cause, cause);
  });

  it('refuses a status outside 400..599', () => {
    assert.throws(() => new HttpError(302), RangeError);
    assert.throws(() => new HttpError(600), RangeError);
  });

  it('is recognised by isHttpError', () => {
    assert.equal(isHttpError(new HttpError(400)), true);
    assert.equal(isHttpError(new Error('x')), false);
    assert.equal(isHttpError({ status: 400 }), false);
  });
});
