import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCommand, startHelp } from '../../../src/cli/start-command';
import { settingsOf } from '../../../src/config/settings';

const POOL_SETTINGS = settingsOf('pool');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { deps: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {} }, out: () => out.join(''), err: () => err.join('') };
}

test('--help documents every flag with its env var', async () => {
  const c = capture();
  assert.equal(await startCommand(['--help'], c.deps), 0);
  const help = c.out();
  assert.equal(help, startHelp());
  for (const f of POOL_SETTINGS) {
    assert.ok(help.includes(`--${f.flag} ${f.arg}`), `--${f.flag} missing from --help`);
    assert.ok(help.includes(`[${f.env}]`), `${f.env} missing from --help`);
  }
  assert.match(help, /--config FILE/);
});

test('an unknown flag or a stray argument is a usage error (exit 2) with a pointer to --help', async () => {
  const c = capture();
  assert.equal(await startCommand(['--app', 'x', '--wrokers', '3'], c.deps), 2);
  assert.match(c.err(), /^m2pool start: Unknown option '--wrokers'/);
  assert.match(c.err(), /m2pool start --help/);
  const d = capture();
  assert.equal(await startCommand(['--app', 'x', 'extra'], d.deps), 2);
});

test('every configuration problem is printed at once and nothing starts', async () => {
  const c = capture();
  const code = await startCommand(['--workers', 'three', '--send-spec', 'http://x', '--admin', '0.0.0.0:1', '--log-level', 'loud'], {
    ...c.deps,
    env: { M2POOL_DRAIN_TIMEOUT_MS: '-5' },
  });
  assert.equal(code, 2);
  const err = c.err();
  assert.match(err, /^m2pool start: 6 configuration problems:\n/);
  for (const needle of [
    'app: is required',
    'workers: must be an integer from 0 to 1024, got "three" (from --workers)',
    'sendSpecs: "http://x" is not a tcp://, ipc:// or inproc:// endpoint (from --send-spec)',
    'logLevel: must be one of',
    'drainTimeoutMs: must be an integer from 0 to 2147483647, got -5 (from M2POOL_DRAIN_TIMEOUT_MS)',
    'adminToken: is required when admin listens on a non-loopback address (0.0.0.0:1)',
  ]) {
    assert.ok(err.includes(needle), `missing: ${needle}\n${err}`);
  }
  assert.equal(c.out(), '');
});
