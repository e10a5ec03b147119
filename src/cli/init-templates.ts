/**
 * The files `m2pool init DIR` writes: a small TypeScript project that depends on m2pool (and tsx, to run
 * TypeScript without a build step): its app, a test through `app.request()`, a Mongrel2 config, a pm2 ecosystem
 * file, a tsconfig. `{{NAME}}`, `{{VERSION}}`, `{{TSX}}` are filled in by init-command.ts.
 * @module
 */

/** File path (relative to the project) → content template. */
export const INIT_FILES: Readonly<Record<string, string>> = {
  'package.json': `{
  "name": "{{NAME}}",
  "version": "0.1.0",
  "private": true,
  "type": "commonjs",
  "scripts": {
    "start": "m2pool dev --app src/app.ts",
    "serve": "node --import tsx node_modules/m2pool/dist/src/cli/main.js serve --http 127.0.0.1:8080 --app src/app.ts",
    "test": "node --import tsx --test test/app.test.ts"
  },
  "engines": { "node": ">=20.6" },
  "dependencies": { "m2pool": "^{{VERSION}}" },
  "devDependencies": { "tsx": "^{{TSX}}" }
}
`,
  'tsconfig.json': `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "esModuleInterop": true
  },
  "include": ["src", "test"]
}
`,
  'src/app.ts': `// The app: m2pool's workers load \`app\` from this module. \`npm start\` serves it behind Mongrel2 and reloads on save.
import { App } from 'm2pool';

export const app = new App();

app.get('/', () => 'Hello from {{NAME}}!\\n');

app.get('/hello/:name', (ctx) => \`hello \${ctx.params['name']}\`);

app.post('/echo', async (ctx) => {
  ctx.res.header('Content-Type', ctx.req.contentType ?? 'application/octet-stream');
  await ctx.res.send(ctx.req.body);
});
`,
  'test/app.test.ts': `// In-process tests: app.request() runs the real routing and response code, no Mongrel2 needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { app } from '../src/app';

test('GET /hello/:name says hello', async () => {
  const res = await app.request('/hello/world');
  assert.equal(res.status, 200);
  assert.equal(res.text(), 'hello world');
});

test('POST /echo returns the body with its content type', async () => {
  const res = await app.request('/echo', { method: 'POST', body: 'ping', headers: { 'content-type': 'text/plain' } });
  assert.equal(res.status, 200);
  assert.equal(res.text(), 'ping');
});

test('an unknown path is 404', async () => {
  assert.equal((await app.request('/nope')).status, 404);
});
`,
  'ecosystem.config.js': `// pm2: \`npx pm2 start ecosystem.config.js\` runs Mongrel2 (mongrel2.conf, run dir ./run/mongrel2) and the pool.
// The pool finds Mongrel2 through mongrel2.conf's Handler (no endpoint flags), runs src/app.ts through tsx, and
// logs JSON for pm2. Settings come from the environment (M2POOL_WORKERS=auto, M2POOL_APP, …).
'use strict';
const path = require('node:path');

const CLI = require.resolve('m2pool/package.json').replace(/package\\.json$/, 'dist/src/cli/main.js');

module.exports = {
  apps: [
    {
      name: '{{NAME}}-mongrel2',
      script: CLI,
      args: ['mongrel2', '--config', path.join(__dirname, 'mongrel2.conf')],
      cwd: __dirname,
      kill_timeout: 5000,
    },
    {
      name: '{{NAME}}',
      script: CLI,
      args: ['start', '--mongrel2-config', path.join(__dirname, 'mongrel2.conf')],
      cwd: __dirname,
      stop_exit_codes: [2, 3, 4],
      wait_ready: true,
      listen_timeout: 40000,
      kill_timeout: 45000,
      env: {
        NODE_OPTIONS: '--import tsx',
        M2POOL_APP: process.env.M2POOL_APP || './src/app.ts',
        M2POOL_WORKERS: process.env.M2POOL_WORKERS || 'auto',
      },
    },
  ],
};
`,
  '.gitignore': `node_modules/
run/
`,
};
