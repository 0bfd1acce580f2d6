// nautilus data history SYMBOL --type bar|trade|quote and nautilus events:
// the daemon's history store (GET /api/v1/history/...). Times are resolved
// here (store/time_spec.h) so a typo is a usage error before any request.
#include <chrono>
#include <ctime>
#include <iostream>

#include "commands.h"
#include "control/control_client.h"
#include "core/clock.h"
#include "core/topic_pattern.h"
#include "daemon_connection.h"
#include "store/time_spec.h"
#include "table.h"

namespace nautilus::cli {
namespace {

struct HistoryArgs {
  std::string symbol;
  std::string type = "bar";
  std::string from, to;
  std::size_t limit = 1000;
  bool csv = false;
};

struct EventsArgs {
  std::string topic = "*";
  std::string since = "1h";
  std::string from, to;
  std::size_t limit = 1000;
};

// "2026-12-01T10:00:00.123Z"
std::string utc_text(std::int64_t ns) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((ns / 1'000'000) % 1000));
  return buf;
}

std::string time_query(const char* key, const std::string& text) {
  if (text.empty()) return {};
  auto t = store::parse_time_spec(text, wall_now_ns());
  if (!t) {
    throw CliError(kExitUsage, std::string("--") + key + " " + text +
                                   ": expected 2026-12-01T10:00:00Z, a date, ns since the epoch or a duration (15m, 1h, 2d)");
  }
  return std::string("&") + key + "=" + std::to_string(*t);
}

nlohmann::json fetch(const GlobalOptions& g, const std::string& path) {
  nlohmann::json body;
  with_daemon([&] { body = connect_daemon(g).get(path).body; });
  if (!body.contains("records") || !body["records"].is_array()) throw CliError(kExitFailure, "unexpected answer from the daemon");
  return body;
}

// The columns a person wants for each market data type, read from the payload.
std::vector<std::string> columns_of(const std::string& type) {
  if (type == "bar") return {"open", "high", "low", "close", "volume"};
  if (type == "trade") return {"price", "size", "side"};
  if (type == "quote") return {"bid", "ask", "bid_size", "ask_size"};
  if (type == "tick") return {"price"};
  return {"payload"};
}

std::string field(const nlohmann::json& payload, const std::string& key) {
  if (key == "payload") return payload.dump();
  if (!payload.contains(key)) return "";
  const auto& v = payload[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return format_fixed(v.get<double>(), 4);
  return v.dump();
}

void run_history(const GlobalOptions& g, const HistoryArgs& a) {
  std::string path = "/api/v1/history/" + a.type + "/" + control::url_encode(a.symbol) + "?order=oldest&limit=" +
                     std::to_string(a.limit) + time_query("from", a.from) + time_query("to", a.to);
  nlohmann::json body = fetch(g, path);
  const auto& records = body["records"];
  // Nothing to show: the error alone, no empty table or header above it.
  if (records.empty()) throw CliError(kExitNotFound, "no " + a.type + " history for " + a.symbol);
  auto cols = columns_of(a.type);
  if (g.json) {
    for (const auto& r : records) std::cout << r.dump() << "\n";  // NDJSON, one record a line
  } else if (a.csv) {
    std::cout << "time,ts_ns,symbol";
    for (const auto& c : cols) std::cout << "," << c;
    std::cout << "\n";
    for (const auto& r : records) {
      std::cout << utc_text(r.value("ts_ns", std::int64_t{0})) << "," << r.value("ts_ns", std::int64_t{0}) << ","
                << r.value("symbol", "");
      for (const auto& c : cols) std::cout << "," << field(r["payload"], c);
      std::cout << "\n";
    }
  } else {
    std::vector<std::string> header = {"TIME", "SYMBOL"};
    for (const auto& c : cols) {
      std::string h = c;
      for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      header.push_back(h);
    }
    Table t(header);
    for (const auto& r : records) {
      std::vector<std::string> row = {utc_text(r.value("ts_ns", std::int64_t{0})), r.value("symbol", "")};
      for (const auto& c : cols) row.push_back(field(r["payload"], c));
      t.add_row(row);
    }
    t.print(std::cout, g.color());
    if (body.value("truncated", false)) note(g, "showing the first " + std::to_string(a.limit) + " (raise --limit)");
  }
}

void run_events(const GlobalOptions& g, const EventsArgs& a) {
  if (Status st = validate_pattern(a.topic); !st) throw CliError(kExitUsage, "--topic " + a.topic + ": " + st.message());
  std::string path = "/api/v1/history/events?topic=" + control::url_encode(a.topic) + "&limit=" + std::to_string(a.limit);
  if (a.from.empty()) {
    auto d = store::parse_duration_ns(a.since);
    if (!d) throw CliError(kExitUsage, "--since " + a.since + ": expected a duration such as 15m, 1h or 2d");
    path += "&from=" + std::to_string(wall_now_ns() - *d);
  }
  path += time_query("from", a.from) + time_query("to", a.to);
  nlohmann::json body = fetch(g, path);
  const auto& records = body["records"];
  if (g.json) {
    for (const auto& r : records) std::cout << r.dump() << "\n";
    return;
  }
  Table t({"TIME", "TOPIC", "TYPE", "PRIORITY", "SOURCE", "PAYLOAD"});
  for (const auto& r : records) {
    std::string payload = r.contains("payload") ? r["payload"].dump() : "";
    if (payload.size() > 100) payload = payload.substr(0, 97) + "...";
    t.add_row({utc_text(r.value("ts_ns", std::int64_t{0})), r.value("topic", ""), r.value("type", ""),
               r.value("priority", ""), r.value("source", ""), payload});
  }
  t.print(std::cout, g.color());
  if (body.value("truncated", false)) note(g, "showing the latest " + std::to_string(a.limit) + " (raise --limit)");
}

}  // namespace

void add_history_commands(CLI::App& app, GlobalOptions& g) {
  // `data history` joins the data family (add_data_commands runs first).
  CLI::App* data = app.get_subcommand("data");
  auto h = std::make_shared<HistoryArgs>();
  auto* history = data->add_subcommand("history", "Recorded bars, trades or quotes of a symbol from the history store");
  history->add_option("symbol", h->symbol, "Symbol, e.g. AAPL")->required();
  history->add_option("-t,--type", h->type, "bar, trade or quote (also tick, level2, news, ...; default bar)")
      ->check(CLI::IsMember({"bar", "trade", "quote", "tick", "level2", "news", "fundamental", "economic"}));
  history->add_option("--from", h->from, "Start: 2026-12-01T10:00:00Z, a date, ns, or a duration back (1h)");
  history->add_option("--to", h->to, "End (exclusive), same forms");
  history->add_option("--limit", h->limit, "At most this many rows (1..100000; default 1000)")->check(CLI::Range(1, 100000));
  history->add_flag("--csv", h->csv, "CSV with a header line");
  history->callback([&g, h] { run_history(g, *h); });

  auto e = std::make_shared<EventsArgs>();
  auto* events = app.add_subcommand("events", "Recorded bus events (risk alerts, fills, orders, ...) from the history store");
  events->add_option("--topic", e->topic, "Topic glob, e.g. 'risk.*' (default every recorded topic)");
  events->add_option("--since", e->since, "How far back (15m, 1h, 2d; default 1h); ignored with --from");
  events->add_option("--from", e->from, "Start: 2026-12-01T10:00:00Z, a date, ns, or a duration back");
  events->add_option("--to", e->to, "End (exclusive), same forms");
  events->add_option("--limit", e->limit, "The latest N events (1..100000; default 1000)")->check(CLI::Range(1, 100000));
  events->callback([&g, e] { run_events(g, *e); });
}

}  // namespace nautilus::cli
