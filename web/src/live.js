// The live feed: every message on the engine bus, as envelopes
// ({id, topic, message_type, priority, source, timestamp_ns, payload}).
// Over the daemon's WebSocket (GET /ws; protocol in nautilusd(8)): an auth
// frame first when there is a token (a browser cannot set headers on an
// upgrade), then one subscription. Where the daemon runs no websocket engine
// (told by the caller: no upgrade is tried, so no failed request is logged)
// or the upgrade fails, the NDJSON stream GET /api/v1/bus/engine/subscribe
// carries the same envelopes.
import { getToken, authHeaders } from './api.js';

const kPattern = '*';
const kSubscriptionId = 'dashboard-engine';
const kPingMs = 20000;
const kRetryMs = [500, 1000, 2000, 5000];

export class LiveFeed {
  // onMessage(envelope); onStatus({transport, state, detail}).
  constructor({ onMessage, onStatus, transport = 'auto' }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.preferred = transport;  // 'auto' | 'ws' | 'ndjson'
    this.generation = 0;
    this.failures = 0;
  }

  // haveWebSocket: whether the daemon runs its websocket engine (GET /ws).
  start(haveWebSocket = this.haveWebSocket) {
    this.haveWebSocket = haveWebSocket;
    const gen = ++this.generation;
    const stream = this.preferred === 'ndjson' || (this.preferred === 'auto' && (!haveWebSocket || this.wsMissing));
    if (stream) this.openStream(gen);
    else this.openSocket(gen);
  }

  // A new token: reconnect so the feed runs with its rights.
  restart() {
    if (this.haveWebSocket === undefined) return;  // not started yet
    this.stop();
    this.start();
  }

  stop() {
    this.generation++;
    clearInterval(this.pinger);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, 'dashboard reconnect');
      this.socket = null;
    }
    if (this.abort) this.abort.abort();
    this.abort = null;
  }

  retryLater(gen) {
    const delay = kRetryMs[Math.min(this.failures, kRetryMs.length - 1)];
    this.failures++;
    setTimeout(() => {
      if (gen === this.generation) this.start();
    }, delay);
  }

  openSocket(gen) {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    let opened = false;
    const ws = new WebSocket(url);
    this.socket = ws;
    this.onStatus({ transport: 'WebSocket', state: 'connecting' });
    ws.onopen = () => {
      opened = true;
      this.failures = 0;
      const token = getToken();
      if (token) ws.send(JSON.stringify({ op: 'auth', token }));
      ws.send(JSON.stringify({ op: 'subscribe', id: kSubscriptionId, bus: 'engine', pattern: kPattern }));
      this.pinger = setInterval(() => ws.readyState === 1 && ws.send('{"op":"ping"}'), kPingMs);
    };
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame.op === 'message' && frame.message) this.onMessage(frame.message);
      else if (frame.op === 'ack' && frame.id === kSubscriptionId) this.onStatus({ transport: 'WebSocket', state: 'live' });
      else if (frame.op === 'error') {
        this.onStatus({ transport: 'WebSocket', state: 'error', detail: `${frame.code || 'error'}: ${frame.message || ''}` });
      }
    };
    ws.onclose = (ev) => {
      clearInterval(this.pinger);
      if (gen !== this.generation) return;
      if (!opened && this.preferred === 'auto') {
        // No /ws on this daemon (or it refused the upgrade): the NDJSON stream.
        this.wsMissing = true;
        this.openStream(gen);
        return;
      }
      this.onStatus({ transport: 'WebSocket', state: 'offline', detail: ev.reason || `closed (${ev.code})` });
      this.retryLater(gen);
    };
  }

  async openStream(gen) {
    this.abort = new AbortController();
    this.onStatus({ transport: 'NDJSON', state: 'connecting' });
    try {
      const res = await fetch(`/api/v1/bus/engine/subscribe?pattern=${encodeURIComponent(kPattern)}`, {
        headers: authHeaders(),
        signal: this.abort.signal,
        cache: 'no-store',
      });
      if (!res.ok || !res.body) {
        let detail = `HTTP ${res.status}`;
        try {
          detail = (await res.json()).error.message;
        } catch {
          // not JSON: keep the status
        }
        throw new Error(detail);
      }
      this.failures = 0;
      this.onStatus({ transport: 'NDJSON', state: 'live' });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || gen !== this.generation) break;
        buffered += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            this.onMessage(JSON.parse(line));
          } catch {
            // a torn or foreign line: skip it
          }
        }
      }
      if (gen !== this.generation) return;
      this.onStatus({ transport: 'NDJSON', state: 'offline', detail: 'stream ended' });
    } catch (e) {
      if (gen !== this.generation || e.name === 'AbortError') return;
      this.onStatus({ transport: 'NDJSON', state: 'offline', detail: e.message });
    }
    this.retryLater(gen);
  }
}
