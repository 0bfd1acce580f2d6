// The dashboard's model (web/src/model.js), in node's test runner: rates from
// the stats' counters, latency series that stay aligned as priorities appear,
// bounded windows, how each topic lands in the panels, and the topic filter
// (checked against a second matcher written here, a recursive glob).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createModel, applyStats, applyMessage, engine, topicMatcher, kWindowS } from '../../web/src/model.js';

const s = 1e9;
const stats = (t_s, published, latency = {}) => ({
  time_ns: t_s * s,
  buses: [
    { name: 'marketdata', published: published.marketdata, latency: latency.marketdata || {} },
    { name: 'engine', published: published.engine, latency: latency.engine || {} },
  ],
  engines: [],
});

test('rates are the published counters\' deltas over the stats times', () => {
  const m = createModel();
  applyStats(m, stats(100, { marketdata: 0, engine: 10 }));
  assert.deepEqual(m.rates.t, []);  // one answer: no delta yet
  applyStats(m, stats(102, { marketdata: 50, engine: 30 }));
  applyStats(m, stats(102.5, { marketdata: 60, engine: 30 }));
  assert.deepEqual(m.rates.t, [102, 102.5]);
  assert.deepEqual(m.rates.marketdata, [25, 20]);
  assert.deepEqual(m.rates.engine, [10, 0]);
});

test('an answer older than the one shown changes nothing', () => {
  const m = createModel();
  applyStats(m, stats(100, { marketdata: 0, engine: 0 }));
  applyStats(m, stats(101, { marketdata: 10, engine: 10 }));
  const version = m.version;
  applyStats(m, stats(100.5, { marketdata: 5, engine: 5 }));
  assert.equal(m.version, version);
  assert.deepEqual(m.rates.t, [101]);
  assert.equal(m.stats.time_ns, 101 * s);
});

test('latency lines stay aligned with the time axis when a priority appears later', () => {
  const m = createModel();
  const normal = { p50_ns: 1e6, p99_ns: 2e6, p999_ns: 3e6 };
  applyStats(m, stats(1, { marketdata: 0, engine: 0 }, { engine: { normal } }));
  applyStats(m, stats(2, { marketdata: 0, engine: 0 }, { engine: { normal, high: { p50_ns: 5e5, p99_ns: 7e5, p999_ns: null } } }));
  const lat = m.latency.engine;
  assert.deepEqual(lat.t, [1, 2]);
  assert.deepEqual(Object.keys(lat.lines).sort(), ['high p50', 'high p99', 'high p99.9', 'normal p50', 'normal p99', 'normal p99.9']);
  for (const line of Object.values(lat.lines)) assert.equal(line.length, lat.t.length);
  assert.deepEqual(lat.lines['normal p99'], [2, 2]);
  assert.deepEqual(lat.lines['high p50'], [null, 0.5]);
  assert.deepEqual(lat.lines['high p99.9'], [null, null]);
});

test('series keep only the window', () => {
  const m = createModel();
  for (let t = 0; t <= kWindowS + 20; t++) applyStats(m, stats(t, { marketdata: t, engine: 2 * t }));
  const r = m.rates;
  assert.equal(r.t[r.t.length - 1], kWindowS + 20);
  assert.ok(r.t[0] >= 20, `oldest point ${r.t[0]}`);
  assert.equal(r.marketdata.length, r.t.length);
  assert.equal(r.engine.length, r.t.length);
  assert.ok(r.engine.every((v) => v === 2));
});

test('each topic lands in its panel', () => {
  const m = createModel();
  const msg = (topic, payload, t = 1) => ({ id: topic + t, topic, timestamp_ns: t * s, payload });
  applyMessage(m, msg('risk.state', { from: 'ACTIVE', to: 'HALTED', state: 'HALTED', reason: 'flash crash' }, 5));
  applyMessage(m, msg('risk.alert.drawdown', { kind: 'drawdown', message: 'drawdown warning' }));
  applyMessage(m, msg('vpin.alert.AAPL', { symbol: 'AAPL', message: 'VPIN 0.97' }));
  applyMessage(m, msg('vpin.toxicity.AAPL', { symbol: 'AAPL', vpin: 0.4, cdf: null, end_ns: 7 * s }));
  applyMessage(m, msg('vpin.toxicity.AAPL', { symbol: 'AAPL', vpin: 0.5, cdf: 0.9, end_ns: 8 * s }));
  applyMessage(m, msg('portfolio.summary', { equity: 1000 }));
  applyMessage(m, msg('portfolio.position.MSFT', { symbol: 'MSFT', qty: 3 }));
  applyMessage(m, msg('strategy.state.momentum', { instance: 'momentum', state: 'HALTED' }));
  applyMessage(m, msg('features.1s.AAPL', { close: 1 }));

  assert.equal(m.riskState.state, 'HALTED');
  assert.equal(m.riskState.at_ns, 5 * s);
  assert.deepEqual([m.alerts.state.length, m.alerts.limit.length, m.alerts.vpin.length], [1, 1, 1]);
  assert.equal(m.alerts.state[0].payload.to, 'HALTED');
  assert.equal(m.alerts.vpin[0].payload.symbol, 'AAPL');
  assert.deepEqual(m.vpin.AAPL.t, [7, 8]);
  assert.deepEqual(m.vpin.AAPL.vpin, [0.4, 0.5]);
  assert.deepEqual(m.vpin.AAPL.cdf, [null, 0.9]);
  assert.equal(m.portfolio.equity, 1000);
  assert.equal(m.positions.MSFT.qty, 3);
  assert.equal(m.strategies.momentum.state, 'HALTED');
  assert.equal(m.received, 9);
  assert.equal(m.messages[0].topic, 'features.1s.AAPL');
});

test('the message and alert lists are bounded, newest first; a flood of limit alerts keeps the state change', () => {
  const m = createModel();
  applyMessage(m, { id: 'halt', topic: 'risk.state', timestamp_ns: 0, payload: { from: 'ACTIVE', to: 'HALTED' } });
  for (let i = 0; i < 1500; i++) applyMessage(m, { id: String(i), topic: 'risk.alert.x', timestamp_ns: i, payload: {} });
  assert.equal(m.messages.length, 1000);
  assert.equal(m.messages[0].id, '1499');
  assert.equal(m.alerts.limit.length, 40);
  assert.equal(m.alerts.limit[0].id, '1499');
  assert.deepEqual(m.alerts.state.map((a) => a.id), ['halt']);
  assert.equal(m.received, 1501);
});

// The second matcher: a glob by recursion, `*` any run, `?` one character.
function globReference(pattern, topic) {
  if (!pattern.length) return !topic.length;
  if (pattern[0] === '*') return globReference(pattern.slice(1), topic) || (topic.length > 0 && globReference(pattern, topic.slice(1)));
  if (!topic.length) return false;
  return (pattern[0] === '?' || pattern[0] === topic[0]) && globReference(pattern.slice(1), topic.slice(1));
}

test('the topic filter: substring without wildcards, else a glob as the reference', () => {
  const topics = ['risk.state', 'risk.alert.drawdown', 'vpin.alert.AAPL', 'vpin.toxicity.AAPL', 'features.1s.AAPL',
    'a+b.(c)', 'x.y$z', 'risk', 'dashboard.probe.t1'];
  for (const t of topics) assert.ok(topicMatcher('')(t), 'empty filter matches all');
  assert.ok(topicMatcher('AAPL')('vpin.alert.AAPL'));
  assert.ok(!topicMatcher('MSFT')('vpin.alert.AAPL'));
  assert.ok(topicMatcher('  risk.  ')('risk.state'), 'trimmed');
  const globs = ['risk.*', '*.AAPL', 'vpin.*.AAPL', 'risk.?tate', '*', '?isk*', 'a+b.(c)*', 'x.y$?', 'risk.alert.*.x', '*probe*'];
  for (const g of globs) {
    const match = topicMatcher(g);
    for (const t of topics) assert.equal(match(t), globReference(g, t), `${g} on ${t}`);
  }
});

test('a panel finds its engine by kind, configured instances only', () => {
  const m = createModel();
  applyStats(m, {
    time_ns: 1,
    buses: [],
    engines: [
      { name: 'external', kind: 'external', configured: false },
      { name: 'risk_eu', kind: 'risk', configured: true },
    ],
  });
  assert.equal(engine(m, 'risk').name, 'risk_eu');
  assert.equal(engine(m, 'external'), undefined);
  assert.equal(engine(m, 'vpin'), undefined);
});
