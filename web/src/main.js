// The nautilus dashboard: engines, buses, risk, VPIN, the market-data hub,
// portfolio and strategies, live. Data: GET /api/v1/stats once a second (and
// the hub's sources every 5 s), plus the engine bus's messages over the live
// feed (live.js). Read-only until an operator token is given.
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';

import { api, getToken, setToken } from './api.js';
import { LiveFeed } from './live.js';
import { Chart } from './chart.js';
import { createModel, applyStats, applyMessage, engine, topicMatcher } from './model.js';

const model = createModel();
const kPriorityColors = {
  flash_crash: '#ff4d6d', urgent: '#ff8c42', high: '#ffd166', normal: '#4cc9f0', low: '#8d99ae',
};
const kPalette = ['#4cc9f0', '#ffd166', '#06d6a0', '#ef476f', '#b388ff', '#ff8c42', '#90be6d', '#f9c74f'];
const kDash = { p50: [2, 3], p99: [], 'p99.9': [8, 4] };
const kStaleMs = 3000;  // stats polled each second: older than this is said

// ---------- formatting

const fmtInt = (v) => (v == null ? '—' : Math.round(v).toLocaleString('en-US'));
const fmtNum = (v, d = 2) => (v == null || Number.isNaN(v) ? '—' : Number(v).toFixed(d));
const fmtPct = (v, d = 1) => (v == null ? '—' : (v * 100).toFixed(d) + '%');
const fmtMoney = (v) =>
  v == null ? '—' : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtSigned = (v) => (v == null ? '—' : (v >= 0 ? '+' : '') + fmtMoney(v));
const fmtTime = (ns) => (ns ? new Date(ns / 1e6).toLocaleTimeString('en-GB', { hour12: false }) : '');
const fmtAge = (ms) => (ms == null || ms < 0 ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtUptime = (s) => {
  if (s == null) return '';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
};
const pnlClass = (v) => (v == null ? '' : v > 0 ? 'up' : v < 0 ? 'down' : '');

function Card({ title, testid, wide, children, extra }) {
  return html`<section class=${'card' + (wide ? ' wide' : '')} data-testid=${testid}>
    <header><h2>${title}</h2>${extra}</header>
    ${children}
  </section>`;
}

function Stat({ label, value, cls }) {
  return html`<div class="stat"><span class="label">${label}</span><span class=${'value ' + (cls || '')}>${value}</span></div>`;
}

// ---------- header: daemon, feed, token

function TokenForm({ onChange }) {
  const [token, setLocal] = useState(getToken());
  const [draft, setDraft] = useState('');
  const save = (e) => {
    e.preventDefault();
    const t = draft.trim();
    if (!t) return;
    setToken(t);
    setLocal(t);
    setDraft('');
    onChange();
  };
  const forget = () => {
    setToken('');
    setLocal('');
    onChange();
  };
  if (token) {
    return html`<div class="token" data-testid="token-state">
      <span class="pill ok">operator</span>
      <button type="button" class="ghost" onClick=${forget} data-testid="token-forget">Forget token</button>
    </div>`;
  }
  return html`<form class="token" onSubmit=${save} data-testid="token-form">
    <span class="pill muted">read-only</span>
    <input type="password" autocomplete="off" placeholder="operator token" value=${draft}
      onInput=${(e) => setDraft(e.target.value)} data-testid="token-input" aria-label="operator token" />
    <button type="submit" data-testid="token-save">Use token</button>
  </form>`;
}

function Header({ onToken }) {
  const d = model.daemon;
  const f = model.feed;
  const feedCls = f.state === 'live' ? 'ok' : f.state === 'connecting' ? 'warn' : 'bad';
  return html`<header class="top">
    <div class="brand"><span class="logo">◉</span> nautilus</div>
    <div class="meta">
      ${d ? html`<span>nautilusd ${d.version}</span><span>pid ${d.pid}</span><span>up ${fmtUptime(d.uptime_s)}</span>` : ''}
      ${model.statsError ? html`<span class="pill bad" data-testid="stats-error">stats: ${model.statsError}</span>` : ''}
      ${!model.statsError && model.statsAt && Date.now() - model.statsAt > kStaleMs
        ? html`<span class="pill warn" data-testid="stats-stale">stats ${fmtAge(Date.now() - model.statsAt)} old: the daemon answers slowly</span>` : ''}
      <span class=${'pill ' + feedCls} data-testid="feed-state" title=${f.detail || ''}>
        ${f.transport || 'feed'} ${f.state}${f.detail && f.state !== 'live' ? ': ' + f.detail : ''}
      </span>
    </div>
    <${TokenForm} onChange=${onToken} />
  </header>`;
}

// ---------- engines

function EnginesPanel() {
  const [notice, setNotice] = useState(null);
  const [busy, setBusy] = useState('');
  const engines = (model.stats && model.stats.engines) || [];
  const act = async (name, action) => {
    setBusy(name);
    try {
      const info = await api.engineAction(name, action);
      setNotice({ ok: true, text: `${action} ${name}: ${info.state}` });
      // The answer is the engine as it now is: shown before the next poll.
      const row = model.stats && model.stats.engines.find((x) => x.name === name);
      if (row) Object.assign(row, info);
      model.version++;
      refreshStats();
    } catch (e) {
      const hint = e.status === 401 || e.status === 403 ? ' — enter an operator token above' : '';
      setNotice({ ok: false, text: `${action} ${name} refused (${e.status || ''} ${e.code || ''}): ${e.message}${hint}` });
    } finally {
      setBusy('');
    }
  };
  return html`<${Card} title="Engines" testid="engines" wide
      extra=${notice && html`<span class=${'notice ' + (notice.ok ? 'ok' : 'bad')} data-testid="engine-notice">${notice.text}</span>`}>
    <table class="grid">
      <thead><tr><th>engine</th><th>kind</th><th>state</th><th class="num">messages</th><th class="num">errors</th>
        <th class="num">restarts</th><th class="num">queue</th><th class="num">p99</th><th class="num">last message</th><th>last error</th><th></th></tr></thead>
      <tbody>
        ${engines.map((e) => {
          const running = e.state === 'RUNNING' || e.state === 'DEGRADED' || e.state === 'STARTING';
          const action = running ? 'stop' : 'start';
          return html`<tr key=${e.name} data-engine=${e.name}>
            <td class="name">${e.name}</td>
            <td class="muted">${e.kind}</td>
            <td><span class=${'pill state-' + e.state.toLowerCase()} data-testid="engine-state">${e.state}</span></td>
            <td class="num">${fmtInt(e.messages)}</td>
            <td class=${'num' + (e.errors ? ' bad' : '')}>${fmtInt(e.errors)}</td>
            <td class="num">${fmtInt(e.restart_attempts)}</td>
            <td class="num">${fmtInt(e.queue_depth)}</td>
            <td class="num">${e.latency && e.latency.count ? fmtNum(e.latency.p99_ns / 1e6, 2) + ' ms' : '—'}</td>
            <td class="num">${e.messages ? fmtAge(e.last_message_age_ms) : '—'}</td>
            <td class="error-text" title=${e.last_error}>${e.last_error}</td>
            <td><button type="button" class=${running ? 'danger' : ''} disabled=${busy === e.name}
              onClick=${() => act(e.name, action)} data-testid=${'engine-' + action}>${action}</button></td>
          </tr>`;
        })}
      </tbody>
    </table>
  <//>`;
}

// ---------- buses

function BusesPanel() {
  const [bus, setBus] = useState('engine');
  const buses = (model.stats && model.stats.buses) || [];
  const r = model.rates;
  const lat = model.latency[bus];
  const keys = Object.keys(lat.lines).sort();
  const latSeries = keys.map((k) => {
    const [priority, pct] = k.split(' ');
    return { label: k, stroke: kPriorityColors[priority] || '#ccc', dash: kDash[pct] };
  });
  return html`<${Card} title="Buses" testid="buses" wide>
    <table class="grid compact">
      <thead><tr><th>bus</th><th>backend</th><th>state</th><th class="num">msgs/s</th><th class="num">published</th><th class="num">delivered</th>
        <th class="num">dropped</th><th class="num">rejected</th><th class="num">handler errors</th><th class="num">dead letters</th><th class="num">queue</th></tr></thead>
      <tbody>${buses.map((b) => {
        const rate = r[b.name] && r[b.name].length ? r[b.name][r[b.name].length - 1] : null;
        return html`<tr key=${b.name} data-bus=${b.name}>
          <td class="name">${b.name}</td><td class="muted">${b.backend}</td><td>${b.state}</td>
          <td class="num" data-testid="bus-rate">${fmtNum(rate, 1)}</td><td class="num">${fmtInt(b.published)}</td>
          <td class="num">${fmtInt(b.delivered)}</td><td class=${'num' + (b.dropped ? ' warn' : '')}>${fmtInt(b.dropped)}</td>
          <td class="num">${fmtInt(b.rejected)}</td><td class="num">${fmtInt(b.handler_errors)}</td>
          <td class="num" title="dead-lettering exists on the redis:// backend only">${b.dead_letters != null ? fmtInt(b.dead_letters) : 'n/a'}</td>
          <td class="num">${fmtInt(b.queue_depth)}</td>
        </tr>`;
      })}</tbody>
    </table>
    <${WebSocketLine} />
    <div class="charts two">
      <${Chart} title="messages per second" unit="/s" testid="chart-rate"
        series=${[{ label: 'marketdata', stroke: kPalette[0] }, { label: 'engine', stroke: kPalette[1] }]}
        data=${[r.t, r.marketdata, r.engine]} />
      <div>
        <div class="tabs">${['engine', 'marketdata'].map((b) => html`<button type="button" class=${b === bus ? 'tab on' : 'tab'}
          onClick=${() => setBus(b)}>${b}</button>`)}</div>
        <${Chart} title=${`${bus} bus delivery latency per priority (p50 dotted, p99 solid, p99.9 dashed; since start)`}
          unit=" ms" testid="chart-latency" series=${latSeries} data=${[lat.t, ...keys.map((k) => lat.lines[k])]} />
      </div>
    </div>
  <//>`;
}

// The websocket engine's fan-out, when it runs (this page is one of its clients).
function WebSocketLine() {
  const e = engine(model, 'websocket');
  if (!e || !e.metrics) return null;
  const m = e.metrics;
  return html`<div class="stats" data-testid="websocket-stats">
    <${Stat} label="websocket clients" value=${fmtInt(m.connections)} />
    <${Stat} label="subscriptions" value=${fmtInt(m.subscriptions)} />
    <${Stat} label="bus subscriptions" value=${fmtInt(m.bus_subscriptions)} />
    <${Stat} label="messages sent" value=${fmtInt(m.messages_sent)} />
    <${Stat} label="slow clients cut" value=${fmtInt(m.slow_disconnects)} cls=${m.slow_disconnects ? 'warn' : ''} />
    <${Stat} label="conflated" value=${fmtInt(m.conflated)} />
  </div>`;
}

// ---------- risk

function RiskPanel() {
  const e = engine(model, 'risk');
  if (!e) return null;
  const m = e.metrics || {};
  // The live risk.state message is newer than the last poll when it arrives.
  const live = model.riskState;
  const state = live && (!m.state || live.at_ns >= (model.stats.time_ns - 1e9)) ? live.state : m.state;
  const reason = live && state === live.state ? live.reason : m.state_reason;
  const limits = [...(m.limits || [])].sort((a, b) => (b.usage || 0) - (a.usage || 0)).slice(0, 10);
  const cfg = (m.config && m.config.limits) || {};
  return html`<${Card} title="Risk" testid="risk">
    <div class="risk-head">
      <span class=${'big-state state-' + String(state || 'unknown').toLowerCase()} data-testid="risk-state">${state || '—'}</span>
      <span class="reason" data-testid="risk-reason">${reason || ''}</span>
    </div>
    <div class="stats">
      <${Stat} label="equity" value=${fmtMoney(m.equity)} />
      <${Stat} label="realised" value=${fmtSigned(m.realized_pnl)} cls=${pnlClass(m.realized_pnl)} />
      <${Stat} label="unrealised" value=${fmtSigned(m.unrealized_pnl)} cls=${pnlClass(m.unrealized_pnl)} />
      <${Stat} label="gross exposure" value=${fmtMoney(m.gross_exposure)} />
      <${Stat} label="orders/s" value=${fmtInt(m.orders_last_second)} />
    </div>
    <h3>limits (highest usage)</h3>
    <ul class="limits">${limits.map((l) => {
      const c = cfg[l.kind] || {};
      const usage = l.usage || 0;
      return html`<li key=${l.kind + (l.symbol || '')}>
        <span class="limit-name">${l.kind.replaceAll('_', ' ')}${l.symbol ? ' · ' + l.symbol : ''}</span>
        <span class="bar" title=${`${fmtNum(l.value)} of ${fmtNum(l.limit)}`}>
          <span class=${'fill level-' + l.level} style=${`width:${Math.min(usage, 1) * 100}%`}></span>
          ${c.warn_at ? html`<span class="mark" style=${`left:${Math.min(c.warn_at, 1) * 100}%`}></span>` : ''}
        </span>
        <span class="num">${fmtPct(usage)}</span>
      </li>`;
    })}</ul>
    <${Alerts} />
  <//>`;
}

function AlertList({ alerts, testid, what }) {
  return html`<ul class="alerts" data-testid=${testid}>
    ${alerts.length === 0 ? html`<li class="muted">none since the page opened</li>` : ''}
    ${alerts.map((a) => html`<li key=${a.id} class=${'alert-' + a.kind}>
      <span class="when">${fmtTime(a.t)}</span>
      <span class="what">${what(a)}</span>
      <span class="detail" title=${a.payload.reason || a.payload.message || ''}>${a.payload.reason || a.payload.message || ''}</span>
    </li>`)}
  </ul>`;
}

function Alerts() {
  return html`<h3>trading state changes</h3>
    <${AlertList} alerts=${model.alerts.state.slice(0, 3)} testid="risk-alerts" what=${(a) => `${a.payload.from} → ${a.payload.to}`} />
    <h3>limit alerts</h3>
    <${AlertList} alerts=${model.alerts.limit.slice(0, 6)} testid="limit-alerts" what=${(a) => a.topic.slice('risk.alert.'.length)} />`;
}

// ---------- VPIN

function VpinPanel() {
  const e = engine(model, 'vpin');
  if (!e) return null;
  const symbols = (e.metrics && e.metrics.symbols) || {};
  const names = Object.keys(symbols).sort();
  const cfg = (e.metrics && e.metrics.config) || {};
  const series = names.map((s, i) => ({ label: s, stroke: kPalette[i % kPalette.length] }));
  // One time axis for all symbols: the union of bucket end times.
  const times = [...new Set(names.flatMap((s) => (model.vpin[s] ? model.vpin[s].t : [])))].sort((a, b) => a - b);
  const aligned = (field) =>
    names.map((s) => {
      const v = model.vpin[s];
      if (!v) return times.map(() => null);
      const at = new Map(v.t.map((t, i) => [t, v[field][i]]));
      return times.map((t) => (at.has(t) ? at.get(t) : null));
    });

  return html`<${Card} title="VPIN (flow toxicity)" testid="vpin">
    <table class="grid compact">
      <thead><tr><th>symbol</th><th class="num">VPIN</th><th class="num">CDF</th><th class="num">buckets</th><th class="num">bucket fill</th><th class="num">hot run</th><th></th></tr></thead>
      <tbody>${names.map((s) => {
        const v = symbols[s];
        const warming = v.cdf == null;
        return html`<tr key=${s}><td class="name">${s}</td><td class="num">${fmtNum(v.vpin, 3)}</td>
          <td class=${'num' + (v.cdf != null && v.cdf >= (cfg.cdf_threshold || 1) ? ' bad' : '')}>${fmtNum(v.cdf, 3)}</td>
          <td class="num">${fmtInt(v.buckets)}</td><td class="num">${fmtPct(v.bucket_fill, 0)}</td><td class="num">${fmtInt(v.hot_run)}</td>
          <td class="muted">${warming ? `CDF after ${fmtInt(cfg.min_cdf_samples)} buckets` : v.armed ? 'armed' : 'cooling'}</td></tr>`;
      })}</tbody>
    </table>
    <div class="charts">
      <${Chart} title="VPIN per bucket" testid="chart-vpin" height=${140} series=${series} data=${[times, ...aligned('vpin')]} />
      ${names.some((s) => model.vpin[s] && model.vpin[s].cdf.some((v) => v != null))
        ? html`<${Chart} title=${`CDF (warning at ${fmtNum(cfg.cdf_threshold, 2)})`} testid="chart-cdf" height=${120}
            series=${series} data=${[times, ...aligned('cdf')]} />`
        : html`<p class="muted placeholder">${`CDF: none yet. Each symbol's VPIN is ranked against its own history once it has ${fmtInt(cfg.min_cdf_samples)} buckets; a warning needs a CDF of ${fmtNum(cfg.cdf_threshold, 2)} on ${fmtInt(cfg.persistence_buckets)} buckets in a row.`}</p>`}
    </div>
    <h3>flash-crash warnings</h3>
    <${AlertList} alerts=${model.alerts.vpin.slice(0, 4)} testid="vpin-warnings" what=${(a) => a.payload.symbol} />
  <//>`;
}

// ---------- market-data hub

function HubPanel() {
  const e = engine(model, 'marketdata');
  if (!e) return null;
  const m = e.metrics || {};
  const sources = (model.sources && model.sources.sources) || [];
  return html`<${Card} title="Market-data hub" testid="hub">
    <div class="stats">
      <${Stat} label="hit rate" value=${fmtPct(m.hit_rate)} />
      <${Stat} label="requests" value=${fmtInt(m.requests)} />
      <${Stat} label="upstream calls" value=${fmtInt(m.upstream_calls)} />
      <${Stat} label="calls saved" value=${fmtInt(m.upstream_calls_saved)} />
      <${Stat} label="streaming" value=${fmtInt(m.streaming_symbols)} />
      <${Stat} label="cache" value=${m.cache ? `${fmtInt(m.cache.size)} / ${fmtInt(m.cache.capacity)}` : '—'} />
    </div>
    <table class="grid compact">
      <thead><tr><th>source</th><th>health</th><th>breaker</th><th class="num">calls</th><th class="num">errors</th><th class="num">p99</th></tr></thead>
      <tbody>${sources.map((s) => html`<tr key=${s.name}>
        <td class="name">${s.name}</td><td><span class=${'pill ' + (s.health === 'healthy' ? 'ok' : 'warn')}>${s.health}</span></td>
        <td><span class=${'pill ' + (s.breaker === 'closed' ? 'ok' : 'bad')}>${s.breaker}</span></td>
        <td class="num">${fmtInt(s.calls)}</td><td class="num" title=${`${fmtInt(s.rate_limited)} rate limited`}>${fmtInt(s.errors)}</td>
        <td class="num">${s.latency && s.latency.count ? fmtNum(s.latency.p99_us / 1000, 2) + ' ms' : '—'}</td></tr>`)}</tbody>
    </table>
  <//>`;
}

// ---------- portfolio and strategies

function PortfolioPanel() {
  const e = engine(model, 'portfolio');
  if (!e) return null;
  const m = { ...(e.metrics || {}), ...(model.portfolio || {}) };
  const symbols = (e.metrics && e.metrics.symbols) || {};
  const rows = Object.entries(symbols).map(([s, p]) => ({ s, ...p, ...(model.positions[s] || {}) }));
  return html`<${Card} title="Portfolio" testid="portfolio">
    <div class="stats">
      <${Stat} label="equity" value=${fmtMoney(m.equity)} />
      <${Stat} label="cash" value=${fmtMoney(m.cash)} />
      <${Stat} label="realised" value=${fmtSigned(m.realized_pnl)} cls=${pnlClass(m.realized_pnl)} />
      <${Stat} label="unrealised" value=${fmtSigned(m.unrealized_pnl)} cls=${pnlClass(m.unrealized_pnl)} />
      <${Stat} label="fills" value=${fmtInt(m.fills)} />
    </div>
    <table class="grid compact">
      <thead><tr><th>symbol</th><th class="num">qty</th><th class="num">avg</th><th class="num">last</th><th class="num">realised</th><th class="num">unrealised</th></tr></thead>
      <tbody>${rows.map((p) => html`<tr key=${p.s}><td class="name">${p.s}</td><td class="num">${fmtInt(p.qty ?? p.quantity)}</td>
        <td class="num">${fmtNum(p.avg)}</td><td class="num">${fmtNum(p.last)}</td>
        <td class=${'num ' + pnlClass(p.realised)}>${fmtSigned(p.realised)}</td><td class=${'num ' + pnlClass(p.unrealised)}>${fmtSigned(p.unrealised)}</td></tr>`)}</tbody>
    </table>
  <//>`;
}

function StrategyPanel() {
  const e = engine(model, 'strategy');
  if (!e) return null;
  const instances = (e.metrics && e.metrics.instances) || {};
  return html`<${Card} title="Strategies" testid="strategy">
    <table class="grid compact">
      <thead><tr><th>instance</th><th>kind</th><th>state</th><th class="num">open orders</th><th>reason</th></tr></thead>
      <tbody>${Object.entries(instances).map(([name, i]) => {
        const live = model.strategies[name];
        const state = (live && live.state) || i.state;
        return html`<tr key=${name}><td class="name">${name}</td><td class="muted">${i.kind}</td>
          <td><span class=${'pill state-' + String(state).toLowerCase()}>${state}</span>${(live ? live.waiting_for_operator : i.waiting_for_operator) ? ' (waiting for operator)' : ''}</td>
          <td class="num">${fmtInt(live ? live.open_orders : i.open_orders)}</td><td class="muted clip" title=${(live && live.reason) || i.reason}>${(live && live.reason) || i.reason}</td></tr>`;
      })}</tbody>
    </table>
  <//>`;
}

// ---------- live messages

function MessagesPanel() {
  const [filter, setFilter] = useState('');
  const [frozen, setFrozen] = useState(null);  // the rows shown while paused
  const matches = topicMatcher(filter);
  const rows = (frozen || model.messages).filter((m) => matches(m.topic || '')).slice(0, 25);
  const extra = html`<span class="muted">${fmtInt(model.received)} received since the page opened</span>
    <input class="filter" placeholder="topic filter: risk.*, AAPL" value=${filter}
      onInput=${(e) => setFilter(e.target.value)} data-testid="message-filter" aria-label="topic filter" />
    <button type="button" onClick=${() => setFrozen(frozen ? null : [...model.messages])}
      data-testid="message-pause">${frozen ? 'resume' : 'pause'}</button>`;
  return html`<${Card} title="Engine bus, live" testid="messages" wide extra=${extra}>
    <table class="grid compact messages">
      <thead><tr><th>time</th><th>topic</th><th>type</th><th>priority</th><th>source</th><th>payload</th></tr></thead>
      <tbody data-testid="message-rows">${rows.map((m) => html`<tr key=${m.id}>
        <td class="when">${fmtTime(m.timestamp_ns)}</td><td class="topic">${m.topic}</td><td class="muted">${m.message_type}</td>
        <td><span class="prio" style=${`color:${kPriorityColors[m.priority] || '#ccc'}`}>${m.priority}</span></td>
        <td class="muted">${m.source}</td><td class="payload">${JSON.stringify(m.payload)}</td></tr>`)}</tbody>
    </table>
    ${rows.length === 0 ? html`<p class="muted placeholder">no message${filter ? ' matches the filter' : ' yet'}</p>` : ''}
  <//>`;
}

// ---------- the page

let rerender = () => {};
let statsTimer = 0;

let onFirstStats = null;
// Off loopback without a token every read is refused: the polls wait for one
// (the form's submit polls at once) instead of logging a 401 a second.
let waitingForToken = false;

// One request of a kind at a time: on a slow daemon, overlapping polls would
// fill the browser's six connections and queue an operator's stop behind them.
function singleFlight(load) {
  let pending = null;
  return () => (pending ||= load().catch(() => {}).finally(() => (pending = null)));
}

const refreshStats = singleFlight(loadStats);
const loadDaemon = singleFlight(() => api.daemon().then((d) => (model.daemon = d)));
const loadSources = singleFlight(() => api.sources().then((s) => (model.sources = s)));

async function loadStats() {
  try {
    applyStats(model, await api.stats());
    model.statsAt = Date.now();
    if (onFirstStats) {
      onFirstStats();
      onFirstStats = null;
    }
  } catch (e) {
    model.statsError = e.status === 401 ? 'needs the operator token off loopback' : e.message;
    waitingForToken = e.status === 401 && !getToken();
    if (waitingForToken && !model.stats) model.feed = { transport: 'feed', state: 'waits for the token', detail: '' };
    model.version++;
  }
  rerender();
}

function App() {
  const [, setVersion] = useState(0);
  const [feed] = useState(() => new LiveFeed({
    transport: new URLSearchParams(location.search).get('feed') || 'auto',
    onMessage: (m) => applyMessage(model, m),
    onStatus: (s) => {
      model.feed = { detail: '', ...s };
      model.version++;
    },
  }));
  useEffect(() => {
    // Messages can arrive by the hundred a second: the page redraws at most 4 times a second.
    let drawn = -1;
    rerender = () => {
      if (model.version !== drawn) {
        drawn = model.version;
        setVersion(model.version);
      }
    };
    const draw = setInterval(rerender, 250);
    loadDaemon();
    loadSources();
    refreshStats();
    statsTimer = setInterval(() => {
      if (waitingForToken) return;
      refreshStats();
      if (model.daemon) model.daemon.uptime_s += 1;
      if (model.statsAt && Date.now() - model.statsAt > kStaleMs) model.version++;  // redraw the stale notice
    }, 1000);
    const slow = setInterval(() => {
      if (waitingForToken) return;
      loadSources();
      loadDaemon();
    }, 5000);
    // The feed starts once the engines are known: WebSocket when the daemon
    // runs its websocket engine, else the NDJSON stream.
    onFirstStats = () => feed.start(model.stats.engines.some((e) => e.kind === 'websocket' && e.state === 'RUNNING'));
    return () => {
      clearInterval(draw);
      clearInterval(statsTimer);
      clearInterval(slow);
      feed.stop();
    };
  }, []);
  const onToken = useCallback(() => {
    waitingForToken = false;
    feed.restart();
    refreshStats();
    loadSources();
    loadDaemon();
  }, [feed]);
  return html`<${Header} onToken=${onToken} />
    <main>
      <${EnginesPanel} />
      <${BusesPanel} />
      <div class="row">
        <${RiskPanel} />
        <${VpinPanel} />
      </div>
      <div class="row">
        <${HubPanel} />
        <${PortfolioPanel} />
        <${StrategyPanel} />
      </div>
      <${MessagesPanel} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
