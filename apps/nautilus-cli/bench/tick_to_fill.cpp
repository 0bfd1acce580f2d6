// `nautilus bench tick-to-fill`: the paper-trading chain's latency on the
// in-process buses, under background traffic. A feed publishes, per symbol, a
// trade and then a quote per tick; the features engine closes a bar on the
// first trade of the next interval, a 1-bar momentum strategy answers nearly
// every bar with an order, risk checks it, and the portfolio fills it at the
// first quote after risk's decision. Each fill is traced back to the tick that
// closed its bar (origin_ns, carried by every hop), and the time is split
// into the hops: features + strategy, risk, the wait for the next quote (set by
// the feed's tick rate, not by nautilus), portfolio, and the fill's delivery.
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "commands.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "engines/engine.h"
#include "engines/features/features_engine.h"
#include "engines/portfolio/portfolio_engine.h"
#include "engines/risk/risk_engine.h"
#include "engines/strategy/strategy_engine.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct TickToFillArgs {
  int symbols = 8;
  double duration_s = 10;
  double tick_rate = 1000;     // ticks per second per symbol (a trade and a quote each)
  double background = 100'000;  // msgs/s of other traffic, half on each bus
  int bar_ms = 100;
};

// The hops of one fill, in nanoseconds.
enum Hop { kTotal, kToOrder, kRisk, kQuoteWait, kPortfolio, kDelivery, kHopCount };
constexpr const char* kHopNames[kHopCount] = {"tick -> fill delivered", "  tick -> order out (features, strategy)",
                                              "  order out -> decision out (risk)",
                                              "  decision -> next quote (feed's tick rate)",
                                              "  quote -> fill out (portfolio)", "  fill out -> delivered (bus)"};
constexpr const char* kHopKeys[kHopCount] = {"tick_to_fill", "tick_to_order", "order_to_decision",
                                             "decision_to_quote", "quote_to_fill", "fill_delivery"};

struct Trace {
  std::mutex mu;
  std::map<std::string, std::int64_t> order_out;  // order id -> published
  std::array<HistogramSnapshot, kHopCount> hops;
  std::uint64_t fills = 0, untraced = 0;
};

std::unique_ptr<Engine> start(std::unique_ptr<Engine> e, Router& router, nlohmann::json cfg) {
  try {
    e->start(EngineContext{router, live_clock(), std::move(cfg)});
  } catch (const std::exception& ex) {
    throw CliError(kExitFailure, "cannot start the " + std::string(e->kind()) + " engine: " + ex.what());
  }
  return e;
}

void sleep_until_mono(std::int64_t t) {
  const std::int64_t d = t - monotonic_now_ns();
  if (d > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(d));
}

// Paced in small bursts between naps: load, not microsecond pacing.
template <typename PublishN>
void paced(double rate, std::int64_t start, std::int64_t end, const std::atomic<bool>& stop, PublishN publish_n) {
  ::prctl(PR_SET_TIMERSLACK, 1000UL);
  std::uint64_t done = 0;
  for (;;) {
    const std::int64_t now = monotonic_now_ns();
    if (now >= end || stop.load(std::memory_order_relaxed)) break;
    const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start) * rate / 1e9);
    if (due > done) {
      publish_n(done, due);
      done = due;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

nlohmann::json summary_us(const HistogramSnapshot& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e3; };
  return {{"samples", h.count()},
          {"p50", h.count() ? nlohmann::json(us(h.percentile(0.50))) : nlohmann::json(nullptr)},
          {"p99", h.count() ? nlohmann::json(us(h.percentile(0.99))) : nlohmann::json(nullptr)},
          {"max", h.count() ? nlohmann::json(us(h.percentile(1.0))) : nlohmann::json(nullptr)}};
}

nlohmann::json run_tick_to_fill(const TickToFillArgs& a) {
  auto router = Router::from_urls("inproc://", "inproc://");
  std::vector<std::string> symbols;
  for (int i = 0; i < a.symbols; ++i) symbols.push_back("TF" + std::to_string(i));
  const std::string interval = std::to_string(a.bar_ms) + "ms";

  nlohmann::json instances = nlohmann::json::array();
  instances.push_back({{"name", "momentum"},
                       {"kind", "momentum"},
                       {"symbols", symbols},
                       {"interval", interval},
                       {"params", {{"lookback", 1}}},
                       {"sizing", {{"quantity", 10}}}});
  // Limits far from the bench's orders (a few per second per symbol), so every
  // order is approved and the measured path is the approving one.
  auto risk = start(make_risk_engine(), *router,
                    {{"limits", {{"order_rate", 1'000'000}, {"vpin_toxicity", false}}}});
  auto portfolio = start(make_portfolio_engine(), *router, nlohmann::json::object());
  auto strategy = start(make_strategy_engine(), *router, {{"instances", instances}});
  auto features = start(make_features_engine(), *router, {{"intervals", {interval}}, {"close_on_clock", false}});

  Trace trace;
  std::vector<SubscriptionPtr> subs;
  subs.push_back(router->subscribe(BusKind::kEngine, "strategy.order.*", [&trace](const MessagePtr& m) {
    auto j = nlohmann::json::parse(m->payload, nullptr, false);
    if (!j.is_object() || !j.contains("id")) return;
    std::lock_guard lock(trace.mu);
    trace.order_out[j["id"].get<std::string>()] = m->timestamp_ns;
  }));
  subs.push_back(router->subscribe(BusKind::kEngine, "portfolio.fill.*", [&trace](const MessagePtr& m) {
    const std::int64_t delivered = current_delivery_ns() != 0 ? current_delivery_ns() : wall_now_ns();
    auto j = nlohmann::json::parse(m->payload, nullptr, false);
    if (!j.is_object()) return;
    std::lock_guard lock(trace.mu);
    ++trace.fills;
    auto it = trace.order_out.find(j.value("order_id", std::string()));
    const std::int64_t decided = j.value("decision_ns", std::int64_t{0});
    const std::int64_t quote = j.value("market_ns", std::int64_t{0});
    if (it == trace.order_out.end() || m->origin_ns == 0 || decided == 0 || quote == 0) {
      ++trace.untraced;
      return;
    }
    auto add = [&](Hop h, std::int64_t ns) { trace.hops[h].add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, ns))); };
    add(kTotal, delivered - m->origin_ns);
    add(kToOrder, it->second - m->origin_ns);
    add(kRisk, decided - it->second);
    add(kQuoteWait, quote - decided);
    add(kPortfolio, m->timestamp_ns - quote);
    add(kDelivery, delivered - m->timestamp_ns);
    trace.order_out.erase(it);
  }));
  std::atomic<std::uint64_t> background_delivered{0};
  for (BusKind b : {BusKind::kMarketData, BusKind::kEngine}) {
    subs.push_back(router->subscribe(b, "bench.background.*", [&background_delivered](const MessagePtr&) {
      background_delivered.fetch_add(1, std::memory_order_relaxed);
    }));
  }

  std::atomic<bool> stop{false};
  const std::int64_t t0 = monotonic_now_ns() + 50'000'000;
  const std::int64_t t1 = t0 + static_cast<std::int64_t>(a.duration_s * 1e9);
  std::uint64_t background_published = 0, refused = 0;
  std::thread background([&] {
    sleep_until_mono(t0);
    const std::string payload(100, 'x');
    paced(a.background, t0, t1, stop, [&](std::uint64_t from, std::uint64_t to) {
      for (std::uint64_t n = from; n < to; ++n) {
        auto m = make_message("bench.background." + std::to_string(n % 16), MessageType::kTick, payload);
        if (router->publish(n & 1 ? BusKind::kEngine : BusKind::kMarketData, std::move(m)).is_ok()) ++background_published;
        else ++refused;
      }
    });
  });
  std::thread feed([&] {
    sleep_until_mono(t0);
    std::mt19937_64 rng(11);
    std::normal_distribution<double> step(0.0, 0.0005);
    std::vector<double> price(symbols.size(), 100.0);
    std::vector<std::string> trade_topics, quote_topics;
    for (const auto& s : symbols) {
      trade_topics.push_back("marketdata.real_time.trade." + s);
      quote_topics.push_back("marketdata.real_time.quote." + s);
    }
    char buf[160];
    paced(a.tick_rate * static_cast<double>(symbols.size()), t0, t1, stop, [&](std::uint64_t from, std::uint64_t to) {
      for (std::uint64_t n = from; n < to; ++n) {
        const std::size_t i = n % symbols.size();
        price[i] *= std::exp(step(rng));
        const double px = std::round(price[i] * 100) / 100;
        int len = std::snprintf(buf, sizeof buf, "{\"symbol\":\"%s\",\"price\":%.2f,\"size\":100}", symbols[i].c_str(), px);
        auto t = make_message(trade_topics[i], MessageType::kTrade, std::string(buf, static_cast<std::size_t>(len)));
        t->origin_ns = t->timestamp_ns = wall_now_ns();  // the tick a fill is traced back to
        if (!router->publish(BusKind::kMarketData, std::move(t)).is_ok()) ++refused;
        len = std::snprintf(buf, sizeof buf, "{\"symbol\":\"%s\",\"bid\":%.2f,\"ask\":%.2f}", symbols[i].c_str(),
                            px - 0.01, px + 0.01);
        auto q = make_message(quote_topics[i], MessageType::kQuote, std::string(buf, static_cast<std::size_t>(len)));
        if (!router->publish(BusKind::kMarketData, std::move(q)).is_ok()) ++refused;
      }
    });
  });
  feed.join();
  background.join();
  router->drain(std::chrono::seconds(10));
  for (auto& s : subs) s->cancel();
  nlohmann::json engines = nlohmann::json::object();
  for (auto* e : {&features, &strategy, &risk, &portfolio}) {
    auto h = (*e)->health();
    engines[std::string((*e)->kind())] = {{"messages", h.messages}, {"errors", h.errors}};
    (*e)->stop();
  }

  nlohmann::json hops = nlohmann::json::object();
  std::lock_guard lock(trace.mu);
  for (int h = 0; h < kHopCount; ++h) hops[kHopKeys[h]] = summary_us(trace.hops[h]);
  return {{"scenario", "tick-to-fill"},
          {"symbols", a.symbols},
          {"duration_s", a.duration_s},
          {"tick_rate_per_symbol", a.tick_rate},
          {"bar_ms", a.bar_ms},
          {"background_msgs_per_s", a.background},
          {"background_published", background_published},
          {"background_delivered", background_delivered.load()},
          {"refused", refused},
          {"fills", trace.fills},
          {"untraced_fills", trace.untraced},
          {"latency_us", hops},
          {"engines", engines}};
}

void print_tick_to_fill(const nlohmann::json& r, std::ostream& out, bool color) {
  out << "tick -> fill, in-process: " << r["symbols"].get<int>() << " symbols x "
      << format_count(r["tick_rate_per_symbol"].get<double>()) << " ticks/s, " << r["bar_ms"].get<int>()
      << " ms bars, " << format_count(r["background_msgs_per_s"].get<double>()) << " msgs/s background, "
      << format_fixed(r["duration_s"].get<double>(), 1) << " s\n\n";
  Table t({"path", "p50 us", "p99 us", "max us", "samples"});
  auto cell = [](const nlohmann::json& v) { return v.is_number() ? format_fixed(v.get<double>(), 1) : std::string("-"); };
  for (int h = 0; h < kHopCount; ++h) {
    const auto& s = r["latency_us"][kHopKeys[h]];
    t.add_row({kHopNames[h], cell(s["p50"]), cell(s["p99"]), cell(s["max"]), std::to_string(s["samples"].get<std::uint64_t>())});
  }
  t.print(out, color);
  out << "  fills " << r["fills"].get<std::uint64_t>() << " (untraced " << r["untraced_fills"].get<std::uint64_t>()
      << "); background delivered " << format_count(static_cast<double>(r["background_delivered"].get<std::uint64_t>()))
      << " of " << format_count(static_cast<double>(r["background_published"].get<std::uint64_t>())) << "\n";
}

}  // namespace

void add_tick_to_fill_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<TickToFillArgs>();
  auto* cmd = bench.add_subcommand("tick-to-fill",
                                   "Trading chain latency: tick -> features -> strategy -> risk -> paper fill, under background load");
  cmd->add_option("--symbols", a->symbols, "Symbols traded")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--duration", a->duration_s, "Seconds to run")->check(CLI::Range(0.5, 3600.0))->capture_default_str();
  cmd->add_option("--tick-rate", a->tick_rate, "Ticks per second per symbol (a trade and a quote each)")
      ->check(CLI::Range(1.0, 1e6))->capture_default_str();
  cmd->add_option("--background", a->background, "Background msgs/s, half on each bus")
      ->check(CLI::Range(0.0, 1e8))->capture_default_str();
  cmd->add_option("--bar-ms", a->bar_ms, "Bar interval of the features engine, ms")->check(CLI::Range(10, 60'000))
      ->capture_default_str();
  cmd->callback([&global, a] {
    nlohmann::json r = run_tick_to_fill(*a);
    if (global.json) std::cout << r.dump() << std::endl;
    else print_tick_to_fill(r, std::cout, global.color());
    for (const auto& [kind, e] : r["engines"].items()) {
      if (e["errors"].get<std::uint64_t>() > 0) throw CliError(kExitFailure, "the " + kind + " engine counted errors");
    }
    if (r["fills"].get<std::uint64_t>() == 0) throw CliError(kExitFailure, "no fill: the chain did not trade");
  });
}

}  // namespace nautilus::cli
