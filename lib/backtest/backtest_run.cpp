#include "backtest/backtest_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "backtest/polled_bus.h"
#include "bus/inproc_bus.h"
#include "bus/router.h"
#include "core/clock.h"
#include "core/message.h"
#include "engines/engine.h"

namespace nautilus::backtest {
namespace {

// Fixed id nodes: the ids, and so the event log, are the same every run.
constexpr std::uint64_t kMarketdataNode = 1;
constexpr std::uint64_t kEngineNode = 2;
constexpr std::size_t kProgressEvery = 16'384;
// A subscriber lane holds this many: one event fans out to few messages, and
// the buses are settled after every event and every clock step.
constexpr std::size_t kQueueCapacity = 1 << 16;
// A recording's writer thread is given a chance to catch up this often (in
// events), so the recorder's bounded queue never drops in a long run.
constexpr std::size_t kRecordCheckEvery = 4'096;
constexpr auto kRecordFlushTimeout = std::chrono::minutes(5);

void collect_symbols(const nlohmann::json& j, std::set<std::string>& out) {
  auto it = j.find("symbols");
  if (it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_string()) out.insert(s.get<std::string>());
    }
  }
}

double num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

void append_log_line(std::string& log, const Message& m) {
  log += "{\"ts\":";
  log += std::to_string(m.timestamp_ns);
  log += ",\"id\":\"";
  m.id.append_to(log);
  log += "\",\"topic\":";
  log += nlohmann::json(m.topic).dump();
  log += ",\"type\":\"";
  log += to_string(m.type);
  log += "\",\"source\":";
  log += nlohmann::json(m.source).dump();
  if (!m.correlation_id.empty()) {
    log += ",\"correlation_id\":";
    log += nlohmann::json(m.correlation_id).dump();
  }
  log += ",\"payload\":";
  log += m.payload.empty() ? std::string("{}") : m.payload;
  log += "}\n";
}

}  // namespace

std::vector<store::TopicSelection> backtest_recorded_topics() {
  auto topics = store::default_recorded_topics();
  topics.push_back({BusKind::kMarketData, "marketdata.real_time.trade.*"});
  topics.push_back({BusKind::kMarketData, "marketdata.real_time.quote.*"});
  return topics;
}

std::vector<std::string> symbols_without_data(const BacktestConfig& config, const std::vector<MarketEvent>& events) {
  std::set<std::string> named;
  for (const auto& spec : config.engines) {
    collect_symbols(spec.config, named);
    if (auto inst = spec.config.find("instances"); inst != spec.config.end() && inst->is_array()) {
      for (const auto& i : *inst) collect_symbols(i, named);
    }
  }
  std::set<std::string> have;
  for (const auto& e : events) have.insert(e.symbol);
  std::vector<std::string> out;
  for (const auto& s : named) {
    if (have.count(s) == 0) out.push_back(s);
  }
  return out;
}

RunResult run_backtest(const BacktestConfig& config, const EngineRegistry& registry,
                       const std::vector<MarketEvent>& all_events, const RunOptions& options) {
  // The window [from, to) on delivery time; events are sorted by it.
  auto begin = all_events.begin(), end = all_events.end();
  if (options.from_ns) {
    begin = std::lower_bound(all_events.begin(), all_events.end(), *options.from_ns,
                             [](const MarketEvent& e, std::int64_t t) { return e.at_ns < t; });
  }
  if (options.to_ns) {
    end = std::lower_bound(begin, all_events.end(), *options.to_ns,
                           [](const MarketEvent& e, std::int64_t t) { return e.at_ns < t; });
  }
  if (begin == end) throw std::runtime_error("no market data in the chosen time range");

  const std::int64_t step = options.clock_step_ns > 0 ? options.clock_step_ns : config.settings.clock_step_ns;
  RunResult result;
  result.first_ns = begin->at_ns;
  result.last_ns = (end - 1)->at_ns;
  SimulatedClock clock(result.first_ns);
  BusOptions md_options{"marketdata", &clock, kMarketdataNode};
  BusOptions engine_options{"engine", &clock, kEngineNode};
  auto md_bus = std::make_unique<PolledBus>(make_inproc_bus(md_options));
  auto engine_bus = std::make_unique<PolledBus>(make_inproc_bus(engine_options));
  PolledBus& md = *md_bus;
  PolledBus& en = *engine_bus;
  Router router(std::move(md_bus), std::move(engine_bus));

  // The recorders subscribe first, so they see each message before the engines
  // act on it (a round polls in subscription order).
  SubscribeOptions rec;
  rec.name = "backtest-recorder";
  rec.queue_capacity = kQueueCapacity;
  rec.overflow = OverflowPolicy::kBlock;
  std::vector<SubscriptionPtr> subs;
  std::vector<MessagePtr> published;  // engine-bus messages of this round, ordered by id below
  subs.push_back(router.subscribe(BusKind::kEngine, "*", [&](const MessagePtr& m) { published.push_back(m); }, rec));
  std::optional<store::Recorder> recorder;
  if (options.record_to) {
    store::RecorderConfig rc;
    rc.topics = options.record_topics.empty() ? backtest_recorded_topics() : options.record_topics;
    recorder.emplace(*options.record_to, std::move(rc));
    recorder->start(router);
  }

  std::vector<std::unique_ptr<Engine>> engines;
  Engine* portfolio = nullptr;
  for (const auto& spec : config.engines) {
    auto e = registry.create(spec.kind, spec.name);
    if (spec.kind == "portfolio" && !portfolio) portfolio = e.get();
    result.engines.push_back(spec.name == spec.kind ? spec.name : spec.name + " (" + spec.kind + ")");
    engines.push_back(std::move(e));
  }
  result.has_portfolio = portfolio != nullptr;
  auto stop_all = [&] {
    for (auto it = engines.rbegin(); it != engines.rend(); ++it) {
      if ((*it)->state() != EngineState::kStopped) (*it)->stop();
    }
  };

  // Engine-bus messages handled since the last call, in publish (id) order:
  // the event log and the decision counts.
  auto absorb = [&] {
    std::sort(published.begin(), published.end(), [](const MessagePtr& a, const MessagePtr& b) { return a->id < b->id; });
    for (const auto& m : published) {
      ++result.engine_messages;
      if (options.event_log) append_log_line(result.event_log, *m);
      if (options.on_engine_message) options.on_engine_message(*m);
      const std::string& t = m->topic;
      if (t.rfind("strategy.order.", 0) == 0 && m->type == MessageType::kOrder) ++result.decisions.orders;
      if (t.rfind("risk.decision.", 0) == 0) {
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (j.is_object() && j.value("approved", false)) ++result.decisions.approved;
        else ++result.decisions.denied;
      }
      if (t == "risk.state") {
        ++result.decisions.risk_state_changes;
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (j.is_object() && j.value("state", std::string()) == "HALTED") ++result.decisions.halts;
      }
      if (m->type == MessageType::kFlashCrashWarning) ++result.decisions.vpin_warnings;
      if (t.rfind("portfolio.fill.", 0) == 0 && m->type == MessageType::kFill) {
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (!j.is_object()) continue;
        FillRow f;
        f.ts_ns = m->timestamp_ns;
        f.market_ns = int64(j, "market_ns");
        f.decision_ns = int64(j, "decision_ns");
        f.order_id = str(j, "order_id");
        f.symbol = str(j, "symbol");
        f.side = str(j, "side");
        f.strategy = str(j, "strategy");
        f.source = str(j, "source");
        f.quantity = num(j, "quantity");
        f.price = num(j, "price");
        f.commission = num(j, "commission");
        f.realized_pnl = num(j, "realized_pnl");
        f.closed_quantity = num(j, "closed_quantity");
        f.remaining = num(j, "remaining");
        f.position = num(j, "position");
        f.notional = num(j, "notional");
        result.fills.push_back(std::move(f));
      }
    }
    published.clear();
  };
  auto settle = [&] {
    settle_polled(md, en);
    absorb();
  };

  double peak = 0.0;
  std::int64_t last_sample_ns = INT64_MIN;
  auto sample = [&](bool force) {
    if (!portfolio) return;
    const std::int64_t now = clock.now_ns();
    if (!force && last_sample_ns != INT64_MIN && now - last_sample_ns < config.settings.sample_interval_ns) return;
    if (now == last_sample_ns) return;
    last_sample_ns = now;
    const nlohmann::json s = portfolio->command("show", nlohmann::json::object());
    EquityRow row;
    row.ts_ns = now;
    row.equity = num(s, "equity");
    row.cash = num(s, "cash");
    row.realized = num(s, "realized_pnl");
    row.unrealized = num(s, "unrealized_pnl");
    row.commission = num(s, "commission");
    row.gross_exposure = num(s, "gross_exposure");
    peak = std::max(peak, row.equity);
    row.drawdown = peak > 0.0 ? row.equity / peak - 1.0 : 0.0;
    result.equity.push_back(row);
    if (auto p = s.find("positions"); p != s.end() && p->is_array()) {
      for (const auto& pj : *p) {
        result.positions.push_back({now, str(pj, "symbol"), num(pj, "quantity"), num(pj, "avg_price"),
                                    num(pj, "market_value"), num(pj, "unrealized_pnl"), num(pj, "realized_pnl")});
      }
    }
  };

  try {
    for (std::size_t i = 0; i < engines.size(); ++i) {
      try {
        engines[i]->start(EngineContext{router, clock, config.engines[i].config});
      } catch (const std::exception& e) {
        throw std::runtime_error("engine '" + config.engines[i].name + "' did not start: " + e.what());
      }
    }
    settle();
    if (portfolio) result.initial_cash = num(portfolio->command("show", nlohmann::json::object()), "initial_cash");
    sample(true);
    Progress progress{0, static_cast<std::size_t>(end - begin), clock.now_ns(), result.first_ns, result.last_ns};
    for (auto it = begin; it != end; ++it) {
      const MarketEvent& e = *it;
      if (e.at_ns > clock.now_ns()) {
        sample(false);  // the state as of the end of the last instant
        while (clock.now_ns() < e.at_ns) {
          clock.advance_to(std::min(e.at_ns, clock.now_ns() + step));
          settle();
        }
      }
      auto m = make_message(e.topic, e.type, e.payload);
      m->timestamp_ns = e.at_ns;
      m->source = "backtest";
      if (Status s = router.publish(BusKind::kMarketData, std::move(m)); !s.is_ok()) {
        throw std::runtime_error("publish " + e.topic + ": " + s.to_string());
      }
      ++result.market_events;
      settle();
      if (recorder && result.market_events % kRecordCheckEvery == 0 &&
          recorder->stats().queued > recorder->config().queue_capacity / 2) {
        recorder->flush(kRecordFlushTimeout);
      }
      if (options.progress && ++progress.done % kProgressEvery == 0) {
        progress.sim_ns = clock.now_ns();
        options.progress(progress);
      }
    }
    sample(true);
  } catch (...) {
    stop_all();
    throw;
  }
  stop_all();
  settle();
  if (recorder) {
    recorder->stop(kRecordFlushTimeout);
    const store::RecorderStats st = recorder->stats();
    if (st.written != st.received) {
      throw std::runtime_error("recording to " + options.record_to->describe() + ": " + std::to_string(st.written) +
                               " of " + std::to_string(st.received) + " messages written" +
                               (st.last_error.empty() ? std::string() : " (" + st.last_error + ")"));
    }
  }
  return result;
}

}  // namespace nautilus::backtest
