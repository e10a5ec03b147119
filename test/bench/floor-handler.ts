/**
 * The floor of the benchmark: the thinnest correct Mongrel2 handler, written straight on zeromq.js with no
 * m2pool code (docs/mongrel2.md §1, §2.1, §4.1, §4.2). It frames the request just enough to get sender,
 * connection id and path, and answers with Content-Length on a kept-alive connection (closing only when the
 * client asked: HTTP/1.0 without keep-alive, or `Connection: close`). Same answers as the bench apps:
 *   /echo/<x>    200 text/plain, body = the path (examples/hello's /echo/*)
 *   /bytes/<n>   200 application/octet-stream, n bytes (bench-app's /bytes/:n)
 *   /slow?ms=N   200 text/plain "slept N ms\n" after N ms (examples/hello's /slow)
 * Notices (`@*` paths: disconnect, credits) get no answer. Prints `floor.ready` once Mongrel2 connected the
 * request pipe and subscribed to replies.
 * Usage: node floor-handler.js <send_spec> <recv_spec>
 */
import { Pull, XPublisher } from 'zeromq';

const [sendSpec, recvSpec] = process.argv.slice(2);
if (sendSpec === undefined || recvSpec === undefined) {
  process.stderr.write('usage: floor-handler <send_spec> <recv_spec>\n');
  process.exit(2);
}

const pull = new Pull();
// A PUB drops what exceeds its high-water mark; 0 = no limit (here at most one reply per open client connection).
const pub = new XPublisher({ sendHighWaterMark: 0 });
const sizes = new Map<number, Buffer>();

// zeromq.js allows one pending send per socket: a tiny FIFO in front of it.
const outbox: Buffer[] = [];
let sending = false;
async function flush(): Promise<void> {
  sending = true;
  for (let next = outbox.shift(); next !== undefined; next = outbox.shift()) await pub.send(next);
  sending = false;
}
function send(frame: Buffer): void {
  outbox.push(frame);
  if (!sending) void flush();
}

function reply(head: string, type: string, body: Buffer, close: boolean): void {
  // `Connection: close` when closing, as the apps send it (the client then closes first instead of seeing a reset).
  send(Buffer.concat([Buffer.from(`${head}HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`, 'latin1'), body]));
  if (close) send(Buffer.from(head, 'latin1')); // empty body = close, after what is queued (docs/mongrel2.md §4.2)
}

function handle(msg: Buffer): void {
  // UUID SP ID SP PATH SP HEADERS BODY
  const sp1 = msg.indexOf(0x20);
  const sp2 = msg.indexOf(0x20, sp1 + 1);
  const sp3 = msg.indexOf(0x20, sp2 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp3 < 0 || msg[sp2 + 1] === 0x40 /* '@': a notice */) return;
  const id = msg.toString('latin1', sp1 + 1, sp2);
  const head = `${msg.toString('latin1', 0, sp1)} ${id.length}:${id}, `;
  const path = msg.toString('latin1', sp2 + 1, sp3);
  // Headers as tnetstrings or JSON (the Handler's protocol setting).
  const close =
    msg.includes('10:connection,5:close,') ||
    msg.includes('"connection":"close"') ||
    ((msg.includes('7:VERSION,8:HTTP/1.0,') || msg.includes('"VERSION":"HTTP/1.0"')) && !msg.includes('10:connection,10:keep-alive,') && !msg.includes('"connection":"keep-alive"'));
  if (path.startsWith('/bytes/')) {
    const n = Number(path.slice(7));
    let body = sizes.get(n);
    if (body === undefined) sizes.set(n, (body = Buffer.alloc(n, 'x')));
    reply(head, 'application/octet-stream', body, close);
  } else if (path === '/slow') {
    const at = msg.indexOf('ms=', sp3);
    const ms = at < 0 ? 100 : parseInt(msg.toString('latin1', at + 3, at + 9), 10);
    setTimeout(() => reply(head, 'text/plain; charset=utf-8', Buffer.from(`slept ${ms} ms\n`), close), ms);
  } else {
    reply(head, 'text/plain; charset=utf-8', Buffer.from(path, 'latin1'), close);
  }
}

async function main(): Promise<void> {
  const connected = new Promise<void>((resolve) => pull.events.on('handshake', () => resolve()));
  pull.connect(sendSpec!);
  pub.connect(recvSpec!);
  const [subscription] = await pub.receive(); // Mongrel2's SUB subscription: 0x01 + recv_ident
  await connected;
  if (subscription?.[0] === 1) process.stdout.write('floor.ready\n');
  for await (const [msg] of pull) if (msg !== undefined) handle(msg);
}

process.on('SIGTERM', () => process.exit(0)); // a clean exit (lets a profiler write its profile)
void main();
