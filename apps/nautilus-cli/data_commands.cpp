// nautilus data get SYMBOL... | data sources [--probe] | data stats: the market
// data hub through the daemon's control API (the hub's engine commands).
#include <iostream>
#include <sstream>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct GetArgs {
  std::vector<std::string> symbols;
  std::vector<std::string> types;
  std::string source;
  bool fresh = false;
};

std::string num(const nlohmann::json& j, const char* key, int digits = 2) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return format_fixed(j[key].get<double>(), digits);
}

// One line a person can read; --json has the whole object.
std::string summary(const std::string& type, const nlohmann::json& d) {
  if (!d.is_object()) return d.dump();
  if (type == "quote" && d.contains("bid") && d["bid"].is_number()) {
    return num(d, "bid") + " x " + num(d, "ask") + "  (" + num(d, "bid_size", 0) + " x " + num(d, "ask_size", 0) + ")";
  }
  if (type == "quote") {  // providers without a book (Alpha Vantage, Yahoo): last price and the day's change
    return num(d, "price") + "  " + num(d, "change") + " (" + num(d, "change_pct") + "%)";
  }
  if (type == "economic") {
    return num(d, "value", 4) + "  on " + d.value("date", std::string("-")) +
           (d.value("units", std::string()).empty() ? "" : "  " + d.value("units", std::string()));
  }
  if (type == "fundamental" && d.contains("facts") && d["facts"].is_object()) {
    std::string s = d.value("entity", std::string());
    for (const char* k : {"NetIncomeLoss", "Revenues", "EntityCommonStockSharesOutstanding"}) {
      if (d["facts"].contains(k)) s += std::string("  ") + k + " " + format_count(d["facts"][k].value("value", 0.0));
    }
    return s.size() > 100 ? s.substr(0, 97) + "..." : s;
  }
  if (type == "news" && d.contains("filings") && d["filings"].is_array() && !d["filings"].empty()) {
    const auto& f = d["filings"][0];
    return std::to_string(d["filings"].size()) + " filings, latest " + f.value("form", std::string()) + " filed " +
           f.value("filed", std::string());
  }
  if (type == "news" && d.contains("datasets") && d["datasets"].is_array() && !d["datasets"].empty()) {  // data.gov
    const auto& ds = d["datasets"][0];
    std::string s = std::to_string(d["datasets"].size()) + " datasets, newest " + ds.value("modified", std::string("-")).substr(0, 10) +
                    ": " + ds.value("title", std::string());
    return s.size() > 100 ? s.substr(0, 97) + "..." : s;
  }
  if (type == "trade") return num(d, "size", 0) + " @ " + num(d, "price") + (d.contains("side") ? " " + d["side"].get<std::string>() : "");
  if (type == "tick") return num(d, "price");
  if (type == "bar") {
    return "O " + num(d, "open") + " H " + num(d, "high") + " L " + num(d, "low") + " C " + num(d, "close") + " V " +
           num(d, "volume", 0);
  }
  if (type == "level2" && d.contains("bids") && d.contains("asks") && !d["bids"].empty() && !d["asks"].empty()) {
    return format_fixed(d["bids"][0][0].get<double>(), 2) + " / " + format_fixed(d["asks"][0][0].get<double>(), 2) +
           "  depth " + std::to_string(d["bids"].size());
  }
  std::string s = d.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string age_ms_text(double ms) {
  if (ms < 1000) return format_fixed(ms, ms < 10 ? 2 : 0) + "ms";
  return format_duration_s(ms / 1000.0);
}

void run_get(const GlobalOptions& g, const GetArgs& a) {
  nlohmann::json body = {{"symbols", a.symbols}, {"fresh", a.fresh}, {"client", "cli"}};
  if (!a.types.empty()) body["types"] = a.types;
  if (!a.source.empty()) body["source"] = a.source;
  nlohmann::json results;
  with_daemon([&] { results = connect_daemon(g).post("/api/v1/marketdata/get", body).body["results"]; });
  if (!results.is_array()) throw CliError(kExitFailure, "unexpected answer from the daemon (no results)");

  std::size_t errors = 0, not_found = 0;
  for (const auto& r : results) {
    if (!r.contains("error")) continue;
    ++errors;
    std::string e = r.value("error", "");
    if (e == "not_found" || e == "unsupported") ++not_found;
  }
  if (g.json) {
    std::cout << results.dump() << "\n";
  } else {
    Table t({"SYMBOL", "TYPE", "SOURCE", "CACHED", "AGE", "DATA"});
    for (const auto& r : results) {
      std::string type = r.value("type", "");
      if (r.contains("error")) {
        t.add_row({r.value("symbol", ""), type, "-", "-", "-", "error: " + r.value("error", "") + ": " + r.value("message", "")});
        continue;
      }
      std::string cached = !r.value("cached", false) ? "no"
                           : r.value("stale", false)  ? "stale"
                           : r.value("shared", false) ? "shared"
                                                      : "yes";
      t.add_row({r.value("symbol", ""), type, r.value("source", ""), cached, age_ms_text(r.value("age_ms", 0.0)),
                 summary(type, r.contains("data") ? r["data"] : nlohmann::json())});
    }
    t.print(std::cout, g.color());
  }
  if (errors > 0) {
    std::string what = std::to_string(errors) + " of " + std::to_string(results.size()) + " requests failed";
    throw CliError(not_found == errors ? kExitNotFound : kExitFailure, what);
  }
}

std::string limit_text(const nlohmann::json& s) {
  const auto& l = s["rate_limit"];
  if (!l.is_object()) return "unlimited";
  return format_fixed(l.value("per_second", 0.0), l.value("per_second", 0.0) < 10 ? 1 : 0) + "/s burst " +
         format_fixed(l.value("burst", 1.0), 0);
}

// One real call per enabled HTTP source; exits 1 when any of them failed.
void run_probe(const GlobalOptions& g) {
  nlohmann::json body;
  with_daemon([&] { body = connect_daemon(g).post("/api/v1/engines/marketdata/command/probe", nlohmann::json::object()).body; });
  if (g.json) {
    std::cout << body.dump() << "\n";
  } else {
    Table t({"SOURCE", "KIND", "PROBE", "RESULT", "MESSAGE"});
    for (const auto& p : body["probes"]) {
      std::string probe = p.contains("symbol") ? p.value("type", "") + " " + p.value("symbol", "") : "-";
      t.add_row({p.value("name", ""), p.value("kind", ""), probe, p.value("result", ""), p.value("message", "")});
    }
    t.print(std::cout, g.color());
  }
  std::size_t failed = 0;
  for (const auto& p : body["probes"]) {
    std::string r = p.value("result", "");
    if (r != "ok" && r != "skipped" && r != "disabled") ++failed;
  }
  if (failed > 0) throw CliError(kExitFailure, std::to_string(failed) + " source probe(s) failed");
}

void run_sources(const GlobalOptions& g, bool probe) {
  if (probe) return run_probe(g);
  nlohmann::json body;
  with_daemon([&] { body = connect_daemon(g).get("/api/v1/marketdata/sources").body; });
  if (g.json) {
    std::cout << body.dump() << "\n";
    return;
  }
  Table t({"SOURCE", "KIND", "PRIORITY", "LIMIT", "BUDGET", "HEALTH", "BREAKER", "CALLS", "ERRORS", "LIMITED", "P99", "TYPES"});
  for (const auto& s : body["sources"]) {
    std::string types;
    for (const auto& ty : s["types"]) types += (types.empty() ? "" : ",") + ty.get<std::string>();
    const auto& lat = s["latency"];
    std::string p99 = lat.value("count", 0) > 0 ? format_fixed(lat.value("p99_us", 0.0), 1) + "us" : "-";
    std::string budget = s.contains("budget") && s["budget"].is_number() ? std::to_string(s["budget"].get<long long>()) : "-";
    t.add_row({s.value("name", ""), s.value("kind", ""), std::to_string(s.value("priority", 0)), limit_text(s), budget,
               s.value("health", ""), s.value("breaker", ""), format_count(s.value("calls", 0.0)),
               format_count(s.value("errors", 0.0)), format_count(s.value("rate_limited", 0.0)), p99, types});
  }
  t.print(std::cout, g.color());
}

void run_stats(const GlobalOptions& g) {
  nlohmann::json s;
  with_daemon([&] { s = connect_daemon(g).get("/api/v1/marketdata/stats").body; });
  if (g.json) {
    std::cout << s.dump() << "\n";
    return;
  }
  auto count = [&](const char* k) { return format_count(s.value(k, 0.0)); };
  Table t({"METRIC", "VALUE"});
  t.add_row({"requests", count("requests")});
  t.add_row({"hit rate", format_fixed(100.0 * s.value("hit_rate", 0.0), 1) + "%"});
  t.add_row({"hits (fresh / stale)", count("hits") + " / " + count("stale_hits")});
  t.add_row({"misses (coalesced)", count("misses") + " (" + count("coalesced") + ")"});
  t.add_row({"upstream calls made", count("upstream_calls")});
  t.add_row({"upstream calls saved", count("upstream_calls_saved")});
  t.add_row({"upstream errors", count("upstream_errors")});
  t.add_row({"fallbacks", count("fallbacks")});
  t.add_row({"rate-limit waits", count("rate_limit_waits")});
  t.add_row({"breaker rejects", count("breaker_rejects")});
  t.add_row({"prefetch issued / hits", count("prefetch_issued") + " / " + count("prefetch_hits")});
  if (s.contains("cache")) {
    t.add_row({"cache size / capacity", format_count(s["cache"].value("size", 0.0)) + " / " +
                                            format_count(s["cache"].value("capacity", 0.0))});
    t.add_row({"cache evictions", format_count(s["cache"].value("evictions", 0.0))});
  }
  auto lat = [&](const char* k) {
    if (!s.contains(k) || s[k].value("count", 0) == 0) return std::string("-");
    return "p50 " + format_fixed(s[k].value("p50_us", 0.0), 2) + "us  p99 " + format_fixed(s[k].value("p99_us", 0.0), 2) + "us";
  };
  t.add_row({"hit latency (sampled)", lat("hit_latency")});
  t.add_row({"miss latency", lat("miss_latency")});
  t.add_row({"published (stream)", count("published")});
  if (s.contains("shared_cache") && s["shared_cache"].value("enabled", false)) {
    const auto& sc = s["shared_cache"];
    auto n = [&](const char* k) { return format_count(sc.value(k, 0.0)); };
    std::string state = sc.value("state", "");
    if (state != "up" && !sc.value("last_error", "").empty()) state += " (" + sc.value("last_error", "") + ")";
    t.add_row({"shared cache", sc.value("target", "") + "  " + state});
    t.add_row({"shared hits / misses / puts", n("hits") + " / " + n("misses") + " / " + n("puts")});
    t.add_row({"shared lock won / waits (got value, timed out)",
               n("lock_acquired") + " / " + n("lock_waits") + " (" + n("wait_hits") + ", " + n("lock_timeouts") + ")"});
    t.add_row({"shared redis errors / local-only fetches", n("redis_errors") + " / " + n("local_only")});
  }
  t.print(std::cout, g.color());
}

}  // namespace

void add_data_commands(CLI::App& app, GlobalOptions& g) {
  auto* data = app.add_subcommand("data", "Market data from the hub: get, sources, stats");
  data->require_subcommand(1);

  auto a = std::make_shared<GetArgs>();
  auto* get = data->add_subcommand("get", "Cached (or fresh) market data for symbols");
  get->add_option("symbols", a->symbols, "Symbols, e.g. AAPL MSFT")->required();
  get->add_option("-t,--type", a->types, "tick, quote, trade, bar, level2, news (EDGAR filings, data.gov datasets), fundamental, economic (repeatable; default quote)")
      ->delimiter(',');
  get->add_option("-s,--source", a->source, "Only this source (see `nautilus data sources`)");
  get->add_flag("--fresh", a->fresh, "Bypass the cache: always call the source");
  get->callback([&g, a] { run_get(g, *a); });

  auto* sources = data->add_subcommand("sources", "Sources: priority, rate limit, budget left, health, breaker, calls");
  auto probe = std::make_shared<bool>(false);
  sources->add_flag("--probe", *probe, "Make one real call per enabled HTTP source (checks keys)");
  sources->callback([&g, probe] { run_sources(g, *probe); });

  auto* stats = data->add_subcommand("stats", "Hub metrics: hit rate, upstream calls made and saved, latency");
  stats->callback([&g] { run_stats(g); });
}

}  // namespace nautilus::cli
