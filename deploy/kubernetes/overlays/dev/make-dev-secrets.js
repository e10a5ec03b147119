#!/usr/bin/env node
'use strict';
// The dev overlay's secrets, made on the machine that deploys it, never committed or shipped: a CURVE key pair for
// the dispatcher and one for the pool (zeromq's curveKeyPair, as `m2pool keygen` writes them) and an admin token,
// in dev-secrets/ next to this file (git-ignored). Files already there are kept, so the keys stay stable across
// deploys; delete the folder for new ones.
//   node deploy/kubernetes/overlays/dev/make-dev-secrets.js && kubectl apply -k deploy/kubernetes/overlays/dev
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { curveKeyPair } = require('zeromq');

const dir = path.join(__dirname, 'dev-secrets');
fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

/** Write `text` to `name` unless it exists ('wx'); the mode applies at creation. */
function write(name, text, mode) {
  try {
    fs.writeFileSync(path.join(dir, name), text, { flag: 'wx', mode });
    return 1;
  } catch (err) {
    if (err.code === 'EEXIST') return 0;
    throw err;
  }
}

let made = 0;
for (const stem of ['dispatcher', 'pool']) {
  if (fs.existsSync(path.join(dir, `${stem}.key`)) && fs.existsSync(path.join(dir, `${stem}.pub`))) continue;
  fs.rmSync(path.join(dir, `${stem}.key`), { force: true });
  fs.rmSync(path.join(dir, `${stem}.pub`), { force: true });
  const { publicKey, secretKey } = curveKeyPair();
  made += write(`${stem}.key`, `${secretKey}\n`, 0o600) + write(`${stem}.pub`, `${publicKey}\n`, 0o644);
}
made += write('admin-token', `${crypto.randomBytes(24).toString('hex')}\n`, 0o600);
process.stdout.write(`${made} dev secret file(s) written to ${path.relative(process.cwd(), dir) || dir}\n`);
