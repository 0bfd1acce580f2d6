// What the dashboard knows, updated by the stats poll (once a second) and the
// live feed (every engine-bus message); the panels only read it. Series are
// bounded windows (kWindowS seconds or kMaxPoints points).

export const kWindowS = 180;
const kMaxPoints = 600;
const kMaxMessages = 1000;  // the live panel filters these: about 30 s of a busy engine bus
const kMaxAlerts = 40;

export function createModel() {
  return {
    daemon: null,
    stats: null,
    statsError: null,
    statsAt: 0,           // Date.now() of the last stats answer
    sources: null,
    feed: { transport: '', state: 'connecting', detail: '' },
    received: 0,
    messages: [],
    // Newest first, one list per kind so that a flood of limit alerts never
    // pushes the state change that explains them out of sight.
    alerts: { state: [], limit: [], vpin: [] },  // risk.state, risk.alert.*, vpin.alert.*
    riskState: null,      // the last risk.state payload
    rates: { t: [], marketdata: [], engine: [] },
    latency: { marketdata: { t: [], lines: {} }, engine: { t: [], lines: {} } },
    vpin: {},             // symbol -> {t: [], vpin: [], cdf: [], last}
    portfolio: null,      // the last portfolio.summary payload
    positions: {},        // symbol -> last portfolio.position.* payload
    strategies: {},       // instance -> last strategy.state.* payload
    version: 0,
  };
}

// Drops the points older than the window (or beyond kMaxPoints) from the
// time axis `t` and the value arrays aligned with it.
function trimWindow(t, values) {
  const cutoff = t[t.length - 1] - kWindowS;
  let drop = 0;
  while (drop < t.length && (t[drop] < cutoff || t.length - drop > kMaxPoints)) drop++;
  if (!drop) return;
  t.splice(0, drop);
  for (const v of values) v.splice(0, drop);
}

// One stats answer: rates from the published counters' deltas, and each
// priority's delivery latency percentiles (ms) per bus.
export function applyStats(model, stats) {
  const t = stats.time_ns / 1e9;
  const prev = model.stats;
  if (prev && stats.time_ns <= prev.time_ns) return;  // an answer older than the one shown
  model.stats = stats;
  model.statsError = null;
  if (prev) {
    const dt = (stats.time_ns - prev.time_ns) / 1e9;
    if (dt > 0) {
      const r = model.rates;
      r.t.push(t);
      for (const name of ['marketdata', 'engine']) {
        const now = stats.buses.find((b) => b.name === name);
        const before = prev.buses.find((b) => b.name === name);
        r[name].push(now && before ? Math.max(0, (now.published - before.published) / dt) : null);
      }
      trimWindow(r.t, [r.marketdata, r.engine]);
    }
  }
  for (const bus of stats.buses) {
    const lat = model.latency[bus.name];
    if (!lat) continue;
    lat.t.push(t);
    const n = lat.t.length;
    for (const [priority, s] of Object.entries(bus.latency || {})) {
      for (const [pct, field] of [['p50', 'p50_ns'], ['p99', 'p99_ns'], ['p99.9', 'p999_ns']]) {
        const key = `${priority} ${pct}`;
        const line = (lat.lines[key] ||= new Array(n - 1).fill(null));
        line.push(s[field] != null ? s[field] / 1e6 : null);
      }
    }
    for (const line of Object.values(lat.lines)) while (line.length < n) line.push(null);
    trimWindow(lat.t, Object.values(lat.lines));
  }
  model.version++;
}

function pushAlert(model, m, kind) {
  const list = model.alerts[kind];
  list.unshift({ id: m.id, kind, topic: m.topic, t: m.timestamp_ns, payload: m.payload || {} });
  if (list.length > kMaxAlerts) list.length = kMaxAlerts;
}

function last(topic) {
  return topic.slice(topic.lastIndexOf('.') + 1);
}

// One envelope from the live feed.
export function applyMessage(model, m) {
  model.received++;
  model.messages.unshift(m);
  if (model.messages.length > kMaxMessages) model.messages.length = kMaxMessages;
  const topic = m.topic || '';
  const p = m.payload && typeof m.payload === 'object' ? m.payload : {};
  if (topic === 'risk.state') {
    model.riskState = { ...p, at_ns: m.timestamp_ns };
    pushAlert(model, m, 'state');
  } else if (topic.startsWith('risk.alert.')) {
    pushAlert(model, m, 'limit');
  } else if (topic.startsWith('vpin.alert.')) {
    pushAlert(model, m, 'vpin');
  } else if (topic.startsWith('vpin.toxicity.')) {
    const sym = p.symbol || last(topic);
    const s = (model.vpin[sym] ||= { t: [], vpin: [], cdf: [], last: null });
    s.t.push((p.end_ns || m.timestamp_ns) / 1e9);
    s.vpin.push(p.vpin ?? null);
    s.cdf.push(p.cdf ?? null);
    s.last = p;
    trimWindow(s.t, [s.vpin, s.cdf]);
  } else if (topic === 'portfolio.summary') {
    model.portfolio = p;
  } else if (topic.startsWith('portfolio.position.')) {
    model.positions[p.symbol || last(topic)] = p;
  } else if (topic.startsWith('strategy.state.')) {
    model.strategies[p.instance || topic.slice('strategy.state.'.length)] = p;
  }
  model.version++;
}

// The first configured engine of `kind` in the last stats (an instance may
// have another name: [engines.risk_eu] kind = "risk"), or undefined: the
// panels of engines that do not run stay hidden.
export function engine(model, kind) {
  return model.stats ? model.stats.engines.find((e) => e.kind === kind && e.configured !== false) : undefined;
}

// A topic filter: a glob (`risk.*`, `*.AAPL`) when it has a `*` or `?`,
// else a substring of the topic.
export function topicMatcher(filter) {
  const f = filter.trim();
  if (!f) return () => true;
  if (!/[*?]/.test(f)) return (topic) => topic.includes(f);
  const re = new RegExp('^' + f.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.') + '$');
  return (topic) => re.test(topic);
}
