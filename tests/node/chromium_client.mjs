// A real browser against the examples: headless Chromium (Debian's `chromium`), driven over
// the DevTools protocol with npm `ws`, opens a page whose origin is the SSE server's (the page
// itself is served by the driver through Fetch interception, so the app need not serve it),
// runs a WebSocket echo against WS_URL and an EventSource on SSE_PATH, and prints what the
// page saw, one line per outcome, for the test to compare.
//
//   node chromium_client.mjs WS_URL SSE_BASE SSE_PATH
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const [wsUrl, sseBase, ssePath] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'pagi-chromium-'));
const browser = spawn('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-extensions', '--remote-debugging-port=0',
  // A page fulfilled by the driver has no address, so Chromium counts it as public and
  // would block its requests to loopback (Local Network Access).
  '--disable-features=LocalNetworkAccessChecks',
  `--user-data-dir=${profile}`, 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe'], detached: true });  // its own group, ended as one
let done = false;
function finish(code, text) {
  if (done) return;
  done = true;
  if (text) console.log(text);
  const cleanUp = () => {
    // Chromium's helpers may still be writing the profile for a moment after the group is
    // killed: retry, and leave a stray temp dir rather than fail a run whose checks held.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    } catch (e) {
      console.error(`note: ${profile} not removed: ${e.code}`);
    }
    process.exit(code);
  };
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  if (browser.exitCode !== null || browser.signalCode !== null) cleanUp();
  else browser.once('exit', cleanUp);
}
setTimeout(() => finish(1, 'FAILED: finished within 60 s'), 60000);

const page = `<!doctype html><title>pagi</title><script>
window.run = async (wsUrl, ssePath) => {
  const out = [];
  const ws = new WebSocket(wsUrl);
  ws.binaryType = 'arraybuffer';
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('ws error')); });
  out.push('ws open, deflate ' + ws.extensions.includes('permessage-deflate'));
  const next = () => new Promise((r) => { ws.onmessage = (e) => r(e.data); });
  ws.send('h\\u00e9llo');
  out.push('text ' + (await next()));
  ws.send(new Uint8Array([0, 1, 255]));
  out.push('bytes ' + Array.from(new Uint8Array(await next())).join(','));
  const closed = new Promise((r) => { ws.onclose = r; });
  ws.close(1000, 'bye');
  const c = await closed;
  out.push('closed ' + c.code + ' clean ' + c.wasClean);
  const es = new EventSource(ssePath);
  const seen = [];
  await new Promise((res) => {
    for (const t of ['tick', 'done', 'message']) {
      es.addEventListener(t, (e) => seen.push(t + ' id=' + e.lastEventId + ' ' + JSON.stringify(e.data)));
    }
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) res(); };
  });
  out.push(...seen, 'eventsource closed');
  return out.join('\\n');
};
</script>`;

let stderr = '';
browser.stderr.on('data', async (chunk) => {
  stderr += chunk;
  const m = stderr.match(/DevTools listening on (ws:\/\/[^\s]+)/);
  if (!m || browser.connected === 'yes') return;
  browser.connected = 'yes';
  try {
    console.log(await drive(m[1]));
    finish(0);
  } catch (e) {
    finish(1, `FAILED: ${e.message}\n${(drive.logs || []).join('\n')}`);
  }
});
browser.on('exit', (code) => finish(1, `FAILED: chromium exited (${code})\n${stderr.slice(-2000)}`));

async function drive(browserUrl) {
  const port = new URL(browserUrl).port;
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = targets.find((t) => t.type === 'page');
  const cdp = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise((res, rej) => { cdp.once('open', res); cdp.once('error', rej); });
  let id = 0;
  const pending = new Map();
  const handlers = {};
  cdp.on('message', (raw) => {
    const msg = JSON.parse(raw);
    if (msg.id && pending.has(msg.id)) {
      const { res, rej } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) rej(new Error(JSON.stringify(msg.error)));
      else res(msg.result);
    } else if (msg.method && handlers[msg.method]) {
      handlers[msg.method](msg.params);
    }
  });
  const call = (method, params = {}) => new Promise((res, rej) => {
    pending.set(++id, { res, rej });
    cdp.send(JSON.stringify({ id, method, params }));
  });
  // The page comes from here, at a URL of the SSE server's origin.
  handlers['Fetch.requestPaused'] = (p) => call('Fetch.fulfillRequest', {
    requestId: p.requestId, responseCode: 200,
    responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }],
    body: Buffer.from(page).toString('base64'),
  });
  const logs = [];
  handlers['Log.entryAdded'] = (p) => logs.push(`${p.entry.level}: ${p.entry.text}`);
  await call('Log.enable');
  drive.logs = logs;
  await call('Fetch.enable', { patterns: [{ urlPattern: '*/pagi-test-page.html' }] });
  const loaded = new Promise((r) => { handlers['Page.loadEventFired'] = r; });
  await call('Page.enable');
  await call('Page.navigate', { url: `${sseBase}/pagi-test-page.html` });
  await loaded;
  const r = await call('Runtime.evaluate', {
    expression: `run(${JSON.stringify(wsUrl)}, ${JSON.stringify(ssePath)})`,
    awaitPromise: true, returnByValue: true,
  });
  if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
  return r.result.value;
}
