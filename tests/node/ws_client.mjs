// WebSocket client for the integration tests: npm `ws`, the implementation Node applications
// use, with a browser's defaults (it offers permessage-deflate). Checks one echo server and
// prints each check; exit status 0 = every check held.
//
//   node ws_client.mjs URL [--prefix P] [--protocol P] [--no-deflate]
//
// --prefix P: the server answers text T with P+T (examples/websocket-echo says "echo: ");
// --protocol P: offer [chat, other]; the server must pick P (without it nothing is offered:
//   ws, as browsers, fails a handshake that picks none of an offer);
// --no-deflate: the server must decline permessage-deflate (--no-ws-compression).
import WebSocket from 'ws';

const args = process.argv.slice(2);
const url = args.shift();
let prefix = '';
let protocol = '';
let deflate = true;
while (args.length) {
  const flag = args.shift();
  if (flag === '--prefix') prefix = args.shift();
  else if (flag === '--protocol') protocol = args.shift();
  else if (flag === '--no-deflate') deflate = false;
  else throw new Error(`unknown flag ${flag}`);
}

function check(cond, what) {
  if (!cond) {
    console.log(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const timer = setTimeout(() => check(false, 'finished within 30 s'), 30000);
const ws = new WebSocket(url, protocol ? ['chat', 'other'] : [], { handshakeTimeout: 10000 });
const queue = [];
let waiting = null;
ws.on('message', (data, isBinary) => {
  const msg = { data: isBinary ? Buffer.from(data) : data.toString('utf8'), isBinary };
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(msg);
  } else {
    queue.push(msg);
  }
});
ws.on('error', (e) => check(false, `no error (${e.message})`));
let closing = false;
ws.on('close', (code, reason) => {
  if (!closing) check(false, `the server did not close first (it closed with ${code} '${reason}')`);
});
const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => (waiting = r)));

ws.on('open', async () => {
  check(ws.protocol === protocol, `subprotocol '${ws.protocol}' is '${protocol}'`);
  const negotiated = ws.extensions;  // the Sec-WebSocket-Extensions the server answered
  check(negotiated.includes('permessage-deflate') === deflate,
        `permessage-deflate ${deflate ? 'negotiated' : 'declined'} ('${negotiated}')`);

  ws.send('héllo');
  let m = await next();
  check(!m.isBinary && m.data === prefix + 'héllo', `text echoed as text: ${JSON.stringify(m.data)}`);

  ws.send(Buffer.from([0, 1, 0xff]));
  m = await next();
  check(m.isBinary && m.data.equals(Buffer.from([0, 1, 0xff])), 'bytes echoed as bytes');

  // One message in three frames.
  ws.send('frag', { fin: false });
  ws.send('ment', { fin: false });
  ws.send('ed', { fin: true });
  m = await next();
  check(m.data === prefix + 'fragmented', 'three fragments reassembled into one message');

  const big = 'pagi '.repeat(12000);  // 60 KB, compressible (one frame under the 64 KiB limit)
  ws.send(big);
  m = await next();
  check(m.data === prefix + big, '60 KB text echoed');

  const pong = new Promise((r) => ws.once('pong', (d) => r(d.toString())));
  ws.ping('are you there');
  check((await pong) === 'are you there', 'ping answered with a pong carrying its data');

  closing = true;
  ws.once('close', (code, reason) => {
    check(code === 1000, `close handshake completed with ${code} '${reason}'`);
    clearTimeout(timer);
    process.exit(0);
  });
  ws.close(1000, 'bye');
});
