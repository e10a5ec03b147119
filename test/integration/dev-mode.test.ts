/**
 * `m2pool dev`: a TypeScript app (through tsx) behind the Mongrel2 it brings up. Under 24 keep-alive clients in a
 * closed loop, saving a changed route applies it by a rolling reload with no failed request; saving a broken
 * file is refused and the previous code keeps serving. The pool has an admin token, which the watcher's reloads carry.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { freePort } from '../helpers/ports';
import { CLI, REPO_ROOT, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const CLIENTS = 24;

/** The app as saved: `greeting` is what GET /hello/:name answers before the name. */
function appSource(greeting: string): string {
  return `import { App } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/src/index.js'))};\n` +
    `export const app = new App();\n` +
    `app.get('/hello/:name', (ctx): string => \`${greeting} \${ctx.params['name']}\`);\n`;
}

interface Tally {
  readonly bodies: Map<string, number>;
  readonly failures: string[];
}

/** `CLIENTS` keep-alive connections, each sending GET /hello/dev as soon as its previous answer came. */
function closedLoop(port: number): { tally: Tally; stop(): Promise<void> } {
  const tally: Tally = { bodies: new Map(), failures: [] };
  let running = true;
  const client = async (): Promise<void> => {
    const conn = await HttpConnection.open(port);
    try {
      while (running) {
        conn.send(buildRequest({ path: '/hello/dev' }));
        const res = await conn.read({ timeoutMs: 15_000 });
        const body = res.body.toString();
        if (res.status !== 200) tally.failures.push(`status ${res.status}: ${body}`);
        else tally.bodies.set(body, (tally.bodies.get(body) ?? 0) + 1);
      }
    } catch (err) {
      tally.failures.push(String(err));
    } finally {
      conn.close();
    }
  };
  const clients = Array.from({ length: CLIENTS }, () => client());
  return {
    tally,
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}

test('m2pool dev: a saved change is applied under load with 0 failed requests; a broken save is refused', { timeout: 180_000 }, async (t) => {
  // Inside the checkout (.tmp/ is git-ignored) so tsx resolves from the project, as it would in a user's.
  await mkdir(path.join(REPO_ROOT, '.tmp'), { recursive: true });
  const dir = await mkdtemp(path.join(REPO_ROOT, '.tmp', 'dev-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'src'));
  const appFile = path.join(dir, 'src', 'app.ts');
  await writeFile(appFile, appSource('hello'));
  const [port, adminPort] = [await freePort(), await freePort()];
  // With an admin token (after --, for `m2pool start`): the watcher's reloads must carry it.
  const dev = spawnNode([CLI, 'dev', '--app', './src/app.ts', '--port', String(port), '--admin', `127.0.0.1:${adminPort}`, '--', '--admin-token', 'dev-token-0123456789'], { cwd: dir });
  t.after(() => dev.stop(45_000));
  await dev.waitForLog((l) => l['raw'] === 'm2pool dev is up.', 90_000);

  const load = closedLoop(port);
  await waitFor(() => (load.tally.bodies.get('hello dev') ?? 0) >= 200, { timeoutMs: 30_000, what: '200 answers from the first version' });
  await writeFile(appFile, appSource('hi'));
  await waitFor(() => (load.tally.bodies.get('hi dev') ?? 0) >= 200, { timeoutMs: 60_000, what: '200 answers from the saved change' });

  await writeFile(appFile, `${appSource('hi')}this is not TypeScript ((\n`);
  const refused = await dev.waitForLog((l) => typeof l['raw'] === 'string' && l['raw'].includes('reload refused (422)'), 60_000);
  assert.match(String(refused['raw']), /app\.ts failed to load/);
  const before = load.tally.bodies.get('hi dev') ?? 0;
  await waitFor(() => (load.tally.bodies.get('hi dev') ?? 0) >= before + 200, { timeoutMs: 30_000, what: 'the previous code to keep serving' });
  await load.stop();

  assert.deepEqual(load.tally.failures, []);
  assert.deepEqual([...load.tally.bodies.keys()].sort(), ['hello dev', 'hi dev']);
});

test('m2pool dev refuses a TypeScript app where tsx is not installed, saying how to install it', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-dev-notsx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dev = spawnNode([CLI, 'dev', '--app', './src/app.ts'], { cwd: dir });
  const [code] = await dev.exited;
  assert.equal(code, 2);
  assert.match(dev.stderr(), /tsx is not installed in this project: npm install --save-dev tsx/);
});
