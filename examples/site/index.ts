/**
 * The page example (issue 21, item 9): multipart forms, sessions, login and templates, with a contract scripts can
 * rely on.
 *
 *   POST /form      multipart/form-data → 200 JSON {"fields": {NAME: VALUE}, "files": [{"field", "filename",
 *                   "size", "sha256"}]}; files are streamed through SHA-256, never held whole (also a body above
 *                   Mongrel2's limits.content_length, which arrives as an async upload and is parsed from disk).
 *                   A repeated field name gives an array of values.
 *   GET  /visits    the number of visits of this session as text: 1, 2, 3, … for a client that keeps its cookie,
 *                   whichever worker answers (with REDIS_URL; the memory store counts per worker)
 *   POST /login     form field `user` (urlencoded or multipart) → logs in, regenerates the session → 200 JSON {"user"}
 *   GET  /private   401 without a logged-in session; else 200, a page with the user name (HTML-escaped)
 *   POST /logout    destroys the session
 *   GET  /login     the login form (a page)
 *   GET  /          a page that counts its own visits in the session
 *
 * Sessions live in Redis when REDIS_URL is set (`redis://127.0.0.1:6379`), shared by every worker and host; in
 * memory otherwise (one worker's memory: development only, and the log says so in a pool). Cookies are signed
 * with SESSION_SECRETS (comma-separated; the first signs, all verify), or a development secret.
 *
 * Run it: M2POOL_APP=./examples/site npm start, or npx m2pool start --app ./examples/site …
 * Outside this repository, import from 'm2pool' instead of '../../src'.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { App, HttpError, LiquidTemplates, MemoryStore, RedisStore, type RedisSessionClient, type SessionStore } from '../../src';

/** The views next to this file (tsx runs it from examples/site; the build from dist/examples/site). */
function viewsDir(): string {
  const here = path.join(__dirname, 'views');
  return existsSync(here) ? here : path.resolve(__dirname, '..', '..', '..', 'examples', 'site', 'views');
}

const DEV_SECRET = 'm2pool-example-site-development-secret';
const secrets = (process.env['SESSION_SECRETS'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

/** The Redis client (connected by the start hook, closed by the stop hook), when REDIS_URL is set. */
interface ExampleRedis extends RedisSessionClient {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

function sessionStore(): { store: SessionStore; redis: ExampleRedis | undefined } {
  const url = process.env['REDIS_URL'];
  if (url === undefined || url === '') return { store: new MemoryStore(), redis: undefined };
  // NOTE: require, not import: `redis` is the app's dependency (a dev dependency of m2pool), loaded only when used.
  const { createClient } = require('redis') as { createClient(options: { url: string }): ExampleRedis };
  const redis = createClient({ url });
  return { store: new RedisStore(redis), redis };
}

const { store, redis } = sessionStore();

export const app = new App({
  // The app's own lines (Redis client errors, the secret warning); request lines use the worker's logger.
  logger: pino({ base: { app: 'site' } }),
  sessions: { store, secrets: secrets.length > 0 ? secrets : [DEV_SECRET] },
  templates: new LiquidTemplates({ root: viewsDir() }),
  errorPages: { 404: 'not-found', 500: 'server-error' },
  auth: { currentUser: (ctx) => ctx.session.get<string>('user') },
});

if (secrets.length === 0) {
  app.onStart(() => app.logger.warn({ event: 'site.dev-secret' }, 'SESSION_SECRETS is not set: session cookies are signed with the public development secret'));
}

if (redis !== undefined) {
  // Without a listener a lost connection would be an uncaught 'error'; the client reconnects by itself.
  redis.on('error', (err) => app.logger.warn({ err }, 'redis client error'));
  app.onStart(() => redis.connect());
  app.onStop(() => redis.close());
}

/** What POST /form answers for each file. */
interface FileSummary {
  readonly field: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
}

app.post('/form', async (ctx) => {
  const fields: Record<string, string | string[]> = {};
  const files: FileSummary[] = [];
  for await (const part of ctx.req.parts({ fileSize: 256 * 1024 * 1024, files: 20 })) {
    if (part.kind === 'field') {
      const prev = fields[part.name];
      fields[part.name] = prev === undefined ? part.value : [...(typeof prev === 'string' ? [prev] : prev), part.value];
      continue;
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of part.stream) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    files.push({ field: part.name, filename: part.filename, size, sha256: hash.digest('hex') });
  }
  return { fields, files };
});

app.get('/visits', async (ctx) => {
  const visits = ((await ctx.session.get<number>('visits')) ?? 0) + 1;
  await ctx.session.set('visits', visits);
  return String(visits);
});

app.get('/', async (ctx) => {
  const visits = ((await ctx.session.get<number>('pageViews')) ?? 0) + 1;
  await ctx.session.set('pageViews', visits);
  return ctx.render('index', { title: 'Home', visits });
});

app.get('/login', (ctx) => ctx.render('login', { title: 'Log in' }));

app.post('/login', async (ctx) => {
  const form = ctx.req.contentType === 'multipart/form-data' ? (await ctx.req.multipart({ files: 'discard' })).fields : ctx.req.form();
  const user = form['user'];
  if (typeof user !== 'string' || user.trim() === '' || user.length > 200) throw new HttpError(400, 'give one form field "user" of 1 to 200 characters');
  // A new session id at login: an id planted before it (session fixation) is worth nothing after it.
  await ctx.session.regenerate();
  await ctx.session.set('user', user);
  return { user };
});

app.post('/logout', async (ctx) => {
  await ctx.session.destroy();
  return { user: null };
});

app.get('/private', async (ctx) => ctx.render('private', { title: 'Private', user: await ctx.currentUser() }), { auth: 'api' });
