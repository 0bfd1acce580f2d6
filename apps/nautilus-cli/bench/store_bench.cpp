// nautilus bench store: the history store's write rate (batched rows/s into
// SQLite, and PostgreSQL given --postgres URL), the latency of reading one
// day of 1-second bars for a symbol, and what recording costs the bus: the
// same paced flood (default 100,000 msgs/s) delivered to a subscriber with
// the recorder off and on, compared by delivered rate and process CPU.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bus/router.h"
#include "cli_context.h"
#include "commands.h"
#include "core/clock.h"
#include "store/recorder.h"
#include "store/sqlite_store.h"
#include "table.h"

namespace nautilus::cli {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kDayStart = 1'764'547'200'000'000'000;  // 2025-12-01T00:00:00Z

struct StoreBenchArgs {
  std::size_t rows = 8 * 86'400;  // a day of 1 s bars for each of 8 symbols
  std::size_t batch = 1000;
  std::string postgres;   // a libpq URI; empty: SQLite only
  std::string dir;        // where the SQLite file goes (default: the temp directory)
  double rate = 100'000;  // bus leg, msgs/s
  double seconds = 3;
  int query_runs = 5;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double since_s(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A bar as the hub publishes it, for `symbol` at second `i` of the day.
store::Record bar_record(const std::string& symbol, std::int64_t i) {
  store::Record r;
  r.ts_ns = kDayStart + i * kSecondNs;
  r.topic = "marketdata.real_time.bar." + symbol;
  r.bus = BusKind::kMarketData;
  r.type = MessageType::kBar;
  r.source = "marketdata";
  r.id = MessageId{static_cast<std::uint64_t>(r.ts_ns), 1}.to_string();
  r.symbol = symbol;
  double p = 100.0 + static_cast<double>(i % 977) * 0.01;
  r.payload = "{\"symbol\":\"" + symbol + "\",\"type\":\"bar\",\"source\":\"synthetic\",\"start_ns\":" +
              std::to_string(r.ts_ns) + ",\"interval_s\":1,\"open\":" + std::to_string(p) + ",\"high\":" +
              std::to_string(p + 0.05) + ",\"low\":" + std::to_string(p - 0.05) + ",\"close\":" + std::to_string(p) +
              ",\"volume\":" + std::to_string(100 + i % 50) + ",\"trades\":7}";
  return r;
}

struct WriteResult {
  double rows_per_s = 0;
  double query_ms_median = 0, query_ms_max = 0;
  std::size_t query_rows = 0;
};

// rows across 8 symbols (the day of 1 s bars of "BENCH0" among them), then the query.
WriteResult write_and_query(store::Store& s, const StoreBenchArgs& a) {
  std::vector<store::Record> batch;
  batch.reserve(a.batch);
  const std::size_t symbols = 8;
  WriteResult out;
  double busy = 0;
  for (std::size_t n = 0; n < a.rows;) {
    batch.clear();
    for (; batch.size() < a.batch && n < a.rows; ++n) {
      batch.push_back(bar_record("BENCH" + std::to_string(n % symbols), static_cast<std::int64_t>(n / symbols)));
    }
    auto t0 = std::chrono::steady_clock::now();
    Status st = s.write(batch);
    busy += since_s(t0);
    if (!st) throw CliError(kExitFailure, "bench store: " + st.message());
  }
  out.rows_per_s = static_cast<double>(a.rows) / busy;
  store::MarketQuery q;
  q.symbol = "BENCH0";
  q.from_ns = kDayStart;
  q.to_ns = kDayStart + 86'400 * kSecondNs;
  q.limit = 100'000;
  std::vector<double> ms;
  for (int i = 0; i < a.query_runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    out.query_rows = s.market(q).size();
    ms.push_back(since_s(t0) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  out.query_ms_median = ms[ms.size() / 2];
  out.query_ms_max = ms.back();
  return out;
}

struct BusResult {
  double delivered_per_s = 0;
  double cpu_s = 0;
  double wall_s = 0;
  store::RecorderStats recorder;
};

// Publishes bars at `rate` for `seconds` to one counting subscriber, with or without the recorder.
BusResult bus_leg(const StoreBenchArgs& a, store::Store* s) {
  auto router = Router::from_urls("inproc://", "inproc://");
  std::atomic<std::uint64_t> delivered{0};
  SubscribeOptions so;
  so.name = "bench-consumer";
  so.queue_capacity = 1 << 16;
  auto sub = router->subscribe(BusKind::kMarketData, "marketdata.real_time.*",
                               [&](const MessagePtr&) { delivered.fetch_add(1, std::memory_order_relaxed); }, so);
  std::unique_ptr<store::Recorder> rec;
  if (s) {
    store::RecorderConfig rc;
    rc.topics = {{BusKind::kMarketData, "marketdata.real_time.bar.*"}};
    rc.queue_capacity = 1'000'000;
    rec = std::make_unique<store::Recorder>(*s, rc);
    rec->start(*router);
  }
  const auto total = static_cast<std::uint64_t>(a.rate * a.seconds);
  const std::string payload = bar_record("BENCH0", 0).payload;
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < total; ++i) {
    // Paced in steps of 1 ms worth of messages.
    if (i % static_cast<std::uint64_t>(std::max(1.0, a.rate / 1000)) == 0) {
      auto due = t0 + std::chrono::duration<double>(static_cast<double>(i) / a.rate);
      std::this_thread::sleep_until(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(due));
    }
    auto m = make_message("marketdata.real_time.bar.BENCH" + std::to_string(i % 8), MessageType::kBar, payload);
    (void)router->publish(BusKind::kMarketData, std::move(m));
  }
  router->drain(std::chrono::seconds(30));
  BusResult r;
  r.wall_s = since_s(t0);
  r.delivered_per_s = static_cast<double>(delivered.load()) / r.wall_s;
  if (rec) {
    rec->flush(std::chrono::seconds(60));
    r.recorder = rec->stats();
    rec->stop();
  }
  r.cpu_s = cpu_seconds() - cpu0;
  sub->cancel();
  return r;
}

void run_store_bench(const GlobalOptions& g, const StoreBenchArgs& a) {
  namespace fs = std::filesystem;
  fs::path dir = a.dir.empty() ? fs::temp_directory_path() : fs::path(a.dir);
  fs::path db = dir / ("nautilus-bench-store-" + std::to_string(::getpid()) + ".db");
  auto cleanup = [&] {
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(db.string() + ext);
  };
  cleanup();
  nlohmann::json out = {{"rows", a.rows}, {"batch", a.batch}};
  WriteResult sq;
  {
    store::SqliteStore s(db.string());
    sq = write_and_query(s, a);
  }
  out["sqlite"] = {{"rows_per_s", sq.rows_per_s}, {"day_of_1s_bars_query_ms", sq.query_ms_median},
                   {"query_ms_max", sq.query_ms_max}, {"query_rows", sq.query_rows}};
  if (!a.postgres.empty()) {
    auto pg = store::make_store(a.postgres, dir.string());
    WriteResult p = write_and_query(*pg, a);
    out["postgresql"] = {{"rows_per_s", p.rows_per_s}, {"day_of_1s_bars_query_ms", p.query_ms_median},
                         {"query_ms_max", p.query_ms_max}, {"query_rows", p.query_rows}};
  }
  cleanup();
  BusResult off = bus_leg(a, nullptr);
  BusResult on;
  {
    store::SqliteStore s(db.string());
    on = bus_leg(a, &s);
  }
  cleanup();
  double cost = off.delivered_per_s > 0 ? 1.0 - on.delivered_per_s / off.delivered_per_s : 0;
  out["recording"] = {{"rate", a.rate},
                      {"seconds", a.seconds},
                      {"delivered_per_s_off", off.delivered_per_s},
                      {"delivered_per_s_on", on.delivered_per_s},
                      {"delivered_cost", cost},
                      {"cpu_s_off", off.cpu_s},
                      {"cpu_s_on", on.cpu_s},
                      {"recorded", on.recorder.written},
                      {"recorder_dropped", on.recorder.dropped_total}};
  if (g.json) {
    std::cout << out.dump() << std::endl;
    return;
  }
  Table t({"LEG", "RESULT"});
  t.add_row({"sqlite write (batches of " + std::to_string(a.batch) + ")", format_count(sq.rows_per_s) + " rows/s"});
  t.add_row({"sqlite: one day of 1 s bars", format_fixed(sq.query_ms_median, 1) + " ms median (" +
                                                format_count(static_cast<double>(sq.query_rows)) + " rows)"});
  if (out.contains("postgresql")) {
    t.add_row({"postgresql write (COPY)", format_count(out["postgresql"]["rows_per_s"].get<double>()) + " rows/s"});
    t.add_row({"postgresql: one day of 1 s bars",
               format_fixed(out["postgresql"]["day_of_1s_bars_query_ms"].get<double>(), 1) + " ms median"});
  }
  t.add_row({"bus " + format_count(a.rate) + " msgs/s, recorder off", format_count(off.delivered_per_s) +
                                                                          " delivered/s, CPU " + format_fixed(off.cpu_s, 2) + " s"});
  t.add_row({"bus " + format_count(a.rate) + " msgs/s, recorder on", format_count(on.delivered_per_s) + " delivered/s, CPU " +
                                                                         format_fixed(on.cpu_s, 2) + " s, recorded " +
                                                                         format_count(static_cast<double>(on.recorder.written)) +
                                                                         ", dropped " + std::to_string(on.recorder.dropped_total)});
  t.add_row({"recording cost (delivered)", format_fixed(cost * 100, 1) + " %"});
  t.print(std::cout, g.color());
}

}  // namespace

void add_store_bench_command(CLI::App& bench, GlobalOptions& global) {
  auto a = std::make_shared<StoreBenchArgs>();
  auto* cmd = bench.add_subcommand("store", "History store: rows/s into SQLite (and PostgreSQL), a day of 1 s bars, recording cost");
  cmd->add_option("--rows", a->rows, "Rows to write")->check(CLI::Range(1000, 100'000'000))->capture_default_str();
  cmd->add_option("--batch", a->batch, "Rows per transaction")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  cmd->add_option("--postgres", a->postgres, "Also write to this PostgreSQL (postgresql://user@host:port/db)");
  cmd->add_option("--dir", a->dir, "Directory for the SQLite file (default: the temp directory)");
  cmd->add_option("--rate", a->rate, "Bus leg: messages per second")->check(CLI::Range(1.0, 1e7))->capture_default_str();
  cmd->add_option("--seconds", a->seconds, "Bus leg: seconds per run")->check(CLI::Range(0.1, 600.0))->capture_default_str();
  cmd->callback([&global, a] { run_store_bench(global, *a); });
}

}  // namespace nautilus::cli
