// The recorder in the real daemon: history kept across a restart and shown by
// `nautilus data history` / `nautilus events`; kill -9 under a flood leaves
// whole batches only; a corrupt store file is a one-line error.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "support/daemon_process.h"

using namespace nautilus::test;

namespace {

struct KeptDir {  // outlives the daemons, which remove their own state dirs
  std::string path = make_temp_dir();
  ~KeptDir() { std::filesystem::remove_all(path); }
};

std::vector<nlohmann::json> ndjson(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::int64_t sqlite_count(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return -1;
  }
  sqlite3_busy_timeout(h, 2000);
  sqlite3_stmt* st = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

}  // namespace

TEST_CASE("e2e history: bars and fills survive a restart; data history and events show them", "[e2e][history]") {
  KeptDir keep;
  const std::string config = "[store]\nurl = \"sqlite:" + keep.path + "/history.db\"\n[recorder]\nflush_interval_ms = 20\n";
  {
    DaemonProcess d(config);
    REQUIRE(d.cli("bus publish marketdata marketdata.real_time.bar.TEST '{\"symbol\":\"TEST\",\"open\":1.5,\"high\":2,"
                  "\"low\":1,\"close\":1.75,\"volume\":300}' --type bar").rc == 0);
    REQUIRE(d.cli("bus publish engine portfolio.fill.TEST '{\"symbol\":\"TEST\",\"quantity\":10,\"price\":1.75}' "
                  "--type fill --priority high").rc == 0);
    REQUIRE(d.cli("bus publish marketdata marketdata.real_time.trade.TEST '{\"price\":1.7}' --type trade").rc == 0);
    REQUIRE(eventually([&] {
      return sqlite_count(keep.path + "/history.db", "SELECT COUNT(*) FROM records WHERE topic LIKE '%.TEST'") == 2;
    }));
  }  // SIGTERM: a clean stop
  DaemonProcess d(config);
  auto bars = d.cli("--json data history TEST --type bar");
  REQUIRE(bars.rc == 0);
  auto rows = ndjson(bars.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["payload"]["close"] == 1.75);
  CHECK(rows[0]["type"] == "bar");

  auto csv = d.cli("data history TEST --type bar --csv");
  REQUIRE(csv.rc == 0);
  CHECK(csv.out.starts_with("time,ts_ns,symbol,open,high,low,close,volume\n"));
  CHECK(csv.out.find(",TEST,1.5000,2,1,1.7500,300\n") != std::string::npos);

  // Trades are opt-in: none was kept, and the command says so with exit 4.
  auto trades = d.cli("data history TEST --type trade");
  CHECK(trades.rc == 4);
  CHECK(trades.err.find("no trade history for TEST") != std::string::npos);

  auto fills = d.cli("--json events --topic 'portfolio.fill.*' --since 1h");
  REQUIRE(fills.rc == 0);
  auto events = ndjson(fills.out);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["topic"] == "portfolio.fill.TEST");
  CHECK(events[0]["priority"] == "high");
  CHECK(events[0]["payload"]["quantity"] == 10);

  auto table = d.cli("events --topic 'portfolio.*'");
  REQUIRE(table.rc == 0);
  CHECK(table.out.find("portfolio.fill.TEST") != std::string::npos);
  CHECK(d.cli("events --since yesterday").rc == 2);
}

TEST_CASE("e2e history: kill -9 mid-flood keeps whole batches only, and the store reopens", "[e2e][history]") {
  KeptDir keep;
  const std::string db = keep.path + "/history.db";
  const std::string config = "[store]\nurl = \"sqlite:" + db + "\"\n[recorder]\ntopics = [\"engine:flood.*\"]\n"
                             "batch_size = 200\nflush_interval_ms = 50\nqueue_capacity = 1000000\n";
  std::int64_t kept = 0;
  {
    DaemonProcess d(config);
    // Sequence numbers, high priority (never dropped by the bus), published one by one.
    Process flood = Process::spawn("sh -c \"seq 1 1000000 | sed 's/.*/{\\\"seq\\\":&}/' | env NAUTILUS_STATE_DIR=" + d.dir +
                                       " " + kCliBinary + " bus publish engine flood.x - --priority high\"",
                                   d.dir, "flood");
    REQUIRE(eventually([&] { return sqlite_count(db, "SELECT COUNT(*) FROM records") >= 2000; }, std::chrono::seconds(60)));
    ::kill(d.proc.pid, SIGKILL);
    CHECK(d.proc.wait() == 128 + SIGKILL);
    ::kill(flood.pid, SIGKILL);
    flood.wait();
  }
  // What is there is a prefix of the sequence: every batch whole, none half-written, no gap.
  CHECK(sqlite_count(db, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1);
  kept = sqlite_count(db, "SELECT COUNT(*) FROM records");
  REQUIRE(kept >= 2000);
  CHECK(sqlite_count(db, "SELECT COUNT(DISTINCT json_extract(payload, '$.seq')) FROM records") == kept);
  CHECK(sqlite_count(db, "SELECT MIN(json_extract(payload, '$.seq')) FROM records") == 1);
  CHECK(sqlite_count(db, "SELECT MAX(json_extract(payload, '$.seq')) FROM records") == kept);

  // A new daemon opens the same file and serves what the killed one committed.
  DaemonProcess d(config);
  auto all = d.cli("--json events --topic 'flood.*' --since 1h --limit 100000");
  REQUIRE(all.rc == 0);
  CHECK(static_cast<std::int64_t>(ndjson(all.out).size()) == std::min<std::int64_t>(kept, 100000));
}

TEST_CASE("e2e history: a corrupt store file stops the daemon with one line naming it", "[e2e][history]") {
  KeptDir keep;
  const std::string db = keep.path + "/history.db";
  std::ofstream(db) << std::string(4096, 'z');
  std::string dir = make_temp_dir();
  std::ofstream(dir + "/n.toml") << "[store]\nurl = \"sqlite:" + db + "\"\n";
  auto r = run_command(kDaemonBinary + " --listen 127.0.0.1:0 --state-dir " + dir + " --config " + dir + "/n.toml", dir);
  CHECK(r.rc == 1);
  CHECK(r.err.find("nautilusd: store: " + db + ": file is not a database\n") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e history: [store] and [recorder] mistakes are listed with file and line", "[e2e][history]") {
  std::string dir = make_temp_dir();
  std::ofstream(dir + "/bad.toml") << "[recorder]\ntopics = [\"bogus:x.*\", 5]\nbatch_size = 0\nspeed = 1\n"
                                      "[store]\nurl = \"mysql://x\"\n";
  auto r = run_command(kDaemonBinary + " --check-config --state-dir " + dir + " --config " + dir + "/bad.toml", dir);
  CHECK(r.rc == 2);
  CHECK(r.err.find("(5 errors)") != std::string::npos);
  for (const char* want : {"bad.toml:6: store.url: unknown store URL", "bad.toml:2: recorder.topics[0]: unknown bus 'bogus'",
                           "bad.toml:2: recorder.topics[1]: must be a string", "bad.toml:3: recorder.batch_size: must be at least 1",
                           "bad.toml:4: recorder.speed: unknown key"}) {
    INFO(want);
    CHECK(r.err.find(want) != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("e2e history: the hub answers from the store first, then from a source that keeps history",
          "[e2e][history]") {
  KeptDir keep;
  // MSFT is only in a replay file (never streamed, so never recorded); AAPL
  // bars are published and recorded.
  std::ofstream(keep.path + "/msft.csv") << "ts_ns,symbol,open,high,low,close,volume\n"
                                            "1700000060000000000,MSFT,10,11,9,10.5,100\n"
                                            "1700000120000000000,MSFT,10.5,12,10,11.5,200\n"
                                            "1700000180000000000,MSFT,11.5,13,11,12.5,300\n";
  const std::string config = "[store]\nurl = \"sqlite:" + keep.path + "/history.db\"\n[recorder]\nflush_interval_ms = 20\n"
                             "[engines.marketdata]\nsymbols = [\"AAPL\"]\nstream_types = [\"quote\"]\n"
                             "[[engines.marketdata.sources]]\nkind = \"synthetic\"\n"
                             "[[engines.marketdata.sources]]\nkind = \"replay\"\nname = \"msft-file\"\npath = \"" +
                             keep.path + "/msft.csv\"\n";
  DaemonProcess d(config);
  REQUIRE(eventually([&] { return d.cli("engine status marketdata").out.find("RUNNING") != std::string::npos; }));
  REQUIRE(d.cli("bus publish marketdata marketdata.real_time.bar.AAPL '{\"symbol\":\"AAPL\",\"open\":1,\"high\":2,"
                "\"low\":1,\"close\":1.5,\"volume\":10}' --type bar --source recorded-feed").rc == 0);
  REQUIRE(eventually([&] {
    return sqlite_count(keep.path + "/history.db", "SELECT COUNT(*) FROM records WHERE topic LIKE '%bar.AAPL'") == 1;
  }));

  auto aapl = d.cli("--json data history AAPL --type bar");
  REQUIRE(aapl.rc == 0);
  auto rows = ndjson(aapl.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["source"] == "recorded-feed");
  CHECK(rows[0]["payload"]["close"] == 1.5);

  // Not in the store: the replay source's rows in the range, oldest first with --csv.
  auto msft = d.cli("data history MSFT --type bar --csv --from 1700000100000000000");
  REQUIRE(msft.rc == 0);
  INFO(msft.out);
  CHECK(msft.out.find("MSFT,10.5000,12.0000,10.0000,11.5000,200.0000\n") != std::string::npos);
  CHECK(msft.out.find("MSFT,11.5000,13.0000,11.0000,12.5000,300.0000\n") != std::string::npos);
  CHECK(msft.out.find(",100.0000\n") == std::string::npos);  // before --from
  auto json = ndjson(d.cli("--json data history MSFT --type bar").out);
  REQUIRE(json.size() == 3);
  CHECK(json[0]["source"] == "msft-file");

  // Neither has it: exit 4, one line.
  auto none = d.cli("data history NOPE --type bar");
  CHECK(none.rc == 4);
  CHECK(none.err.find("no bar history for NOPE") != std::string::npos);

  auto stats = d.cli("--json engine command marketdata stats");
  REQUIRE(stats.rc == 0);
  auto s = nlohmann::json::parse(stats.out);
  const auto& h = s.contains("history") ? s["history"] : s["hub"]["history"];
  CHECK(h["from_store"].get<int>() >= 1);
  CHECK(h["from_sources"].get<int>() >= 2);
}
