// EventSource client for the integration tests: npm `eventsource`, the WHATWG EventSource
// (reconnection, Last-Event-ID, retry) on Node's fetch. Prints each check; exit status 0 =
// every check held.
//
//   node sse_client.mjs ticker URL   examples/sse-ticker: named events with ids, two-line
//                                    data, retry; the reconnect after the stream ends sends
//                                    Last-Event-ID 3 and gets the 204 that ends EventSource
//   node sse_client.mjs echo URL     native:echo (held with keepalive comments): one "end"
//                                    event, comments unseen by the page
import { EventSource } from 'eventsource';

const [mode, url] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) {
    console.log(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

setTimeout(() => check(false, 'finished within 30 s'), 30000);

// Each request EventSource makes: its Last-Event-ID and when it went out.
const requests = [];
let streamEnded = 0;
async function recordingFetch(input, init) {
  requests.push({ lastEventId: new Headers(init.headers).get('last-event-id'), at: Date.now() });
  const response = await fetch(input, init);
  if (response.status !== 200 || !response.body) return response;
  // Pass the body on, noting when the stream ends (for the reconnect delay).
  const reader = response.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        streamEnded = Date.now();
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) { return reader.cancel(reason); },
  });
  return new Response(body, { status: response.status, statusText: response.statusText,
                              headers: response.headers });
}

const es = new EventSource(url, { fetch: recordingFetch });
const seen = [];
const record = (e) => seen.push({ type: e.type, data: e.data, id: e.lastEventId });
es.addEventListener('message', record);

if (mode === 'ticker') {
  es.addEventListener('tick', record);
  es.addEventListener('done', record);
  es.onerror = (e) => {
    if (es.readyState !== EventSource.CLOSED) return;  // reconnecting: wait for the outcome
    check(e.code === 204, `EventSource stopped on the ticker's 204 (code ${e.code})`);
    check(JSON.stringify(seen) === JSON.stringify([
      { type: 'tick', data: '1', id: '1' },
      { type: 'tick', data: '2', id: '2' },
      { type: 'done', data: 'finished\nafter 2 ticks', id: '3' },
    ]), `named events, ids and two-line data, none repeated: ${JSON.stringify(seen)}`);
    check(requests.length === 2 && requests[0].lastEventId === null,
          `first request without Last-Event-ID (${requests.length} requests)`);
    check(requests[1].lastEventId === '3', `reconnect sent Last-Event-ID ${requests[1].lastEventId}`);
    // retry: 50 was applied: the reconnect did not wait EventSource's 3 s default.
    const delay = requests[1].at - streamEnded;
    check(streamEnded > 0 && delay < 2500, `reconnected ${delay} ms after the stream ended (retry: 50)`);
    process.exit(0);
  };
} else if (mode === 'echo') {
  es.addEventListener('end', (e) => {
    record(e);
    // Keepalive comments (every 50 ms) come next: none may reach the page as an event.
    setTimeout(() => {
      check(JSON.stringify(seen) === JSON.stringify([{ type: 'end', data: 'done', id: '' }]),
            `one "end" event, no comment seen as an event: ${JSON.stringify(seen)}`);
      check(es.readyState === EventSource.OPEN, 'stream still open');
      es.close();
      process.exit(0);
    }, 300);
  });
  es.onerror = (e) => check(false, `no error (${e.message ?? e.code})`);
} else {
  check(false, `known mode ${mode}`);
}
