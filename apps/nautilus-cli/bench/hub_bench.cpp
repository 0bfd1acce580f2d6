// nautilus bench hub: the market data hub measured in-process.
//
//  consolidation  the seeds' scenario: 13 engine clients each ask for the same
//                 20 symbols x 3 types every second for 60 simulated seconds,
//                 against 8 synthetic sources with distinct names, priorities
//                 and rate limits. Reports upstream calls, hit rate and the
//                 ratio to the 96-connection baseline (13 engines x 8 sources,
//                 every request an upstream call).
//  latency        cached get() on one thread: throughput and per-call p50/p99.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "marketdata/hub.h"
#include "marketdata/sources/synthetic_source.h"
#include "table.h"

namespace nautilus::cli {
namespace {

using md::DataType;

struct HubBenchArgs {
  int clients = 13;
  int symbols = 20;
  int seconds = 60;
  bool prefetch = true;
  std::uint64_t gets = 5'000'000;
  int keys = 1000;
  std::string scenario = "all";
};

struct SourceSpec {
  const char* name;
  int priority;
  double rate;
  double burst;
};

// Eight stand-ins for the seeds' providers, in their fallback order, with
// limits of the same order as the providers' documented ones.
constexpr SourceSpec kSources[] = {
    {"syn-ibkr", 1, 20, 20},         {"syn-alpha-vantage", 2, 5, 5}, {"syn-yahoo", 3, 10, 10},
    {"syn-fred", 4, 2, 2},           {"syn-trading-economics", 5, 1, 1}, {"syn-dbnomics", 6, 5, 5},
    {"syn-edgar", 7, 10, 10},        {"syn-data-gov", 8, 10, 10},
};

std::vector<std::string> symbol_names(int n) {
  static const char* base[] = {"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V",
                               "UNH",  "XOM",  "JNJ",  "WMT",  "PG",    "MA",   "HD",   "CVX",   "LLY", "SPY"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(i < 20 ? base[i] : "SYM" + std::to_string(i));
  return out;
}

nlohmann::json run_consolidation(const HubBenchArgs& a) {
  constexpr std::int64_t kSec = 1'000'000'000;
  SimulatedClock clock;
  md::HubConfig cfg;
  cfg.prefetch = a.prefetch;
  md::Hub hub(clock, cfg);
  for (const auto& s : kSources) {
    md::SyntheticSourceConfig c;
    c.name = s.name;
    c.priority = s.priority;
    c.rate_limit = {s.rate, s.burst};
    c.feed.seed = 42;
    c.feed.start_ns = clock.now_ns();
    hub.add_source(std::make_unique<md::SyntheticSource>(c));
  }
  const auto symbols = symbol_names(a.symbols);
  const DataType types[] = {DataType::kTick, DataType::kQuote, DataType::kBar};
  std::vector<std::string> clients;
  for (int c = 0; c < a.clients; ++c) clients.push_back("engine-" + std::to_string(c));

  const std::int64_t t0 = clock.now_ns();
  std::uint64_t failed = 0;
  for (int second = 0; second < a.seconds; ++second) {
    for (int c = 0; c < a.clients; ++c) {
      // Engines are not in lockstep: each asks at its own offset in the second.
      clock.advance_to(t0 + second * kSec + c * (kSec / (a.clients + 1)));
      md::GetOptions o;
      o.client = clients[static_cast<std::size_t>(c)];
      for (const auto& sym : symbols) {
        for (DataType t : types) {
          if (!hub.get(sym, t, o).ok()) ++failed;
        }
      }
    }
  }
  clock.advance_to(t0 + a.seconds * kSec);
  auto st = hub.stats();
  std::uint64_t connections = 0;
  nlohmann::json per_source = nlohmann::json::array();
  for (const auto& s : hub.sources()) {
    if (s.calls > 0) ++connections;
    per_source.push_back({{"name", s.name}, {"priority", s.priority}, {"rate_per_s", s.rate_limit.per_second},
                          {"calls", s.calls}, {"rate_limited", s.rate_limited}});
  }
  const auto baseline_connections = static_cast<std::uint64_t>(a.clients) * std::size(kSources);
  const std::uint64_t baseline_calls = st.requests;  // no hub: every request is an upstream call
  return {{"scenario", "consolidation"},
          {"clients", a.clients},
          {"symbols", a.symbols},
          {"types", 3},
          {"seconds", a.seconds},
          {"prefetch", a.prefetch},
          {"requests", st.requests},
          {"failed", failed},
          {"upstream_calls", st.upstream_calls},
          {"upstream_calls_saved", st.calls_saved()},
          {"hit_rate", st.hit_rate()},
          {"prefetch_issued", st.prefetch_issued},
          {"prefetch_hits", st.prefetch_hits},
          {"fallbacks", st.fallbacks},
          {"rate_limit_waits", st.rate_limit_waits},
          {"connections", connections},
          {"baseline_connections", baseline_connections},
          {"baseline_upstream_calls", baseline_calls},
          {"call_reduction", 1.0 - static_cast<double>(st.upstream_calls) / static_cast<double>(baseline_calls)},
          {"connection_reduction",
           1.0 - static_cast<double>(connections) / static_cast<double>(baseline_connections)},
          {"sources", per_source}};
}

nlohmann::json run_latency(const HubBenchArgs& a) {
  SimulatedClock clock;  // frozen: nothing expires while we measure hits
  md::HubConfig cfg;
  cfg.cache.capacity = 100'000;
  md::Hub hub(clock, cfg);
  md::SyntheticSourceConfig c;
  c.feed.start_ns = clock.now_ns();
  hub.add_source(std::make_unique<md::SyntheticSource>(c));
  std::vector<std::string> keys;
  for (int i = 0; i < a.keys; ++i) keys.push_back("S" + std::to_string(i));
  for (const auto& k : keys) (void)hub.get(k, DataType::kBar);

  auto measure = [&](std::string_view client) {
    md::GetOptions o;
    o.client = client;
    const std::size_t n = keys.size();
    // Throughput: no per-call timer in the loop.
    std::uint64_t ok = 0;
    auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < a.gets; ++i) ok += hub.get(keys[i % n], DataType::kBar, o).cached;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Latency: each call timed (the timer's own ~20 ns is included).
    HistogramSnapshot h;
    const std::uint64_t sampled = std::min<std::uint64_t>(a.gets, 1'000'000);
    for (std::uint64_t i = 0; i < sampled; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = hub.get(keys[i % n], DataType::kBar, o);
      auto t1 = std::chrono::steady_clock::now();
      ok += r.cached;
      h.add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    }
    return nlohmann::json{{"client", client.empty() ? "(none: no prefetch model)" : std::string(client)},
                          {"gets", a.gets},
                          {"all_hits", ok == a.gets + sampled},
                          {"gets_per_s", static_cast<double>(a.gets) / secs},
                          {"p50_ns", h.percentile(0.5)},
                          {"p99_ns", h.percentile(0.99)},
                          {"p999_ns", h.percentile(0.999)},
                          {"max_ns", h.max()}};
  };
  return {{"scenario", "latency"}, {"keys", a.keys}, {"runs", {measure(""), measure("strategy")}}};
}

void print_consolidation(const nlohmann::json& r, bool color) {
  auto pct = [](double v) { return format_fixed(100.0 * v, 1) + "%"; };
  Table t({"METRIC", "HUB", "BASELINE (no hub)"});
  t.add_row({"requests", format_count(r["requests"].get<double>()), format_count(r["requests"].get<double>())});
  t.add_row({"upstream calls", format_count(r["upstream_calls"].get<double>()),
             format_count(r["baseline_upstream_calls"].get<double>())});
  t.add_row({"connections", std::to_string(r["connections"].get<int>()),
             std::to_string(r["baseline_connections"].get<int>())});
  t.add_row({"hit rate", pct(r["hit_rate"].get<double>()), "0.0%"});
  t.add_row({"call reduction", pct(r["call_reduction"].get<double>()), "-"});
  t.add_row({"connection reduction", pct(r["connection_reduction"].get<double>()), "-"});
  t.add_row({"prefetch issued / hits",
             format_count(r["prefetch_issued"].get<double>()) + " / " + format_count(r["prefetch_hits"].get<double>()), "-"});
  t.add_row({"fallbacks / rate-limit waits",
             format_count(r["fallbacks"].get<double>()) + " / " + format_count(r["rate_limit_waits"].get<double>()), "-"});
  t.print(std::cout, color);
  std::cout << "\n";
  Table s({"SOURCE", "PRIORITY", "LIMIT/S", "CALLS", "LIMITED"});
  for (const auto& x : r["sources"]) {
    s.add_row({x["name"].get<std::string>(), std::to_string(x["priority"].get<int>()),
               format_fixed(x["rate_per_s"].get<double>(), 0), format_count(x["calls"].get<double>()),
               format_count(x["rate_limited"].get<double>())});
  }
  s.print(std::cout, color);
}

void print_latency(const nlohmann::json& r, bool color) {
  Table t({"CLIENT", "GETS", "GETS/S", "P50", "P99", "P99.9", "MAX"});
  for (const auto& x : r["runs"]) {
    auto ns = [](const nlohmann::json& v) { return format_fixed(v.get<double>() / 1000.0, 3) + "us"; };
    t.add_row({x["client"].get<std::string>(), format_count(x["gets"].get<double>()),
               format_count(x["gets_per_s"].get<double>()), ns(x["p50_ns"]), ns(x["p99_ns"]), ns(x["p999_ns"]),
               ns(x["max_ns"])});
  }
  t.print(std::cout, color);
}

}  // namespace

void run_hub_providers_bench(int clients, int symbols, int seconds, bool prefetch, const GlobalOptions& g);  // hub_providers_bench.cpp

void add_hub_bench_command(CLI::App& app, GlobalOptions& g) {
  CLI::App* bench = app.get_subcommand("bench");
  auto a = std::make_shared<HubBenchArgs>();
  auto* hub = bench->add_subcommand("hub", "The market data hub in-process: consolidation and cached get latency");
  hub->add_option("scenario", a->scenario, "consolidation, latency, providers (HTTP adapters on fixture servers) or all")
      ->check(CLI::IsMember({"consolidation", "latency", "providers", "all"}))
      ->capture_default_str();
  hub->add_option("--clients", a->clients, "Engine clients")->check(CLI::Range(1, 1000))->capture_default_str();
  hub->add_option("--symbols", a->symbols, "Symbols each client asks for")->check(CLI::Range(1, 10000))->capture_default_str();
  hub->add_option("--seconds", a->seconds, "Simulated seconds")->check(CLI::Range(1, 86400))->capture_default_str();
  hub->add_option("--gets", a->gets, "Cached gets to time (latency)")->capture_default_str();
  hub->add_option("--keys", a->keys, "Distinct cached keys (latency)")->check(CLI::Range(1, 100000))->capture_default_str();
  hub->add_flag("!--no-prefetch", a->prefetch, "Turn the prefetch model off");
  hub->callback([&g, a] {
    const std::string& which = a->scenario;
    if (which == "consolidation" || which == "all") {
      auto r = run_consolidation(*a);
      if (g.json) std::cout << r.dump() << "\n";
      else print_consolidation(r, g.color());
    }
    if (which == "providers") return run_hub_providers_bench(a->clients, a->symbols, a->seconds, a->prefetch, g);
    if (which == "latency" || which == "all") {
      if (!g.json && which == "all") std::cout << "\n";
      auto r = run_latency(*a);
      if (g.json) std::cout << r.dump() << "\n";
      else print_latency(r, g.color());
    }
  });
}

}  // namespace nautilus::cli
