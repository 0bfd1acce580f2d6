// nautilus backtest run|sweep|replay: the config's engines replayed over CSV
// market data on the simulated clock, in this process (lib/backtest); nothing
// talks to a daemon. sweep runs each combination of --param values as a child
// `nautilus backtest run --json` (fork/exec of this binary), -j at a time.
// replay re-runs a recording's market data (the history store) and compares
// the decisions with the recorded ones (lib/backtest/replay.h): exit 0 when
// identical, 1 at the first difference.
// Exit 2 for a bad config, bad data or an unknown symbol, before any output.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "backtest/backtest_config.h"
#include "backtest/backtest_run.h"
#include "backtest/market_data_file.h"
#include "backtest/replay.h"
#include "backtest/report.h"
#include "backtest/sweep.h"
#include "commands.h"
#include "core/clock.h"
#include "engines/registry.h"
#include "store/store.h"
#include "store/time_spec.h"
#include "table.h"

namespace nautilus::cli {
namespace {

namespace bt = nautilus::backtest;

struct RunArgs {
  std::vector<std::string> data;
  std::vector<std::string> params;  // overrides, one value each
  std::string from, to, out;
  std::string record;  // --record STORE
  bool no_progress = false;
};

struct ReplayArgs {
  std::string recording, from, to;
  std::vector<std::string> params;
  bool ignore_prices = false;
};

struct SweepArgs {
  RunArgs run;
  std::vector<std::string> grid;  // KEY=v1,v2,...
  int jobs = 1;
  std::string sort = "sharpe";
};

std::optional<std::int64_t> time_option(const std::string& text, const char* name) {
  if (text.empty()) return std::nullopt;
  auto t = store::parse_time_spec(text, wall_now_ns());
  if (!t) throw CliError(kExitUsage, std::string(name) + " '" + text + "': not a time (ns since the epoch or ISO 8601 UTC)");
  return t;
}

const EngineRegistry& registry() {
  static const EngineRegistry r = [] {
    EngineRegistry reg;
    register_builtin_engines(reg);
    return reg;
  }();
  return r;
}

struct Loaded {
  bt::BacktestConfig config;
  std::vector<bt::MarketEvent> events;
  std::vector<bt::DataFile> files;
};

// Everything checked before anything runs: a bad input is exit 2, no report.
Loaded load_inputs(const GlobalOptions& g, const RunArgs& a) {
  if (g.config.empty()) throw CliError(kExitUsage, "backtest: --config FILE is required");
  Loaded l;
  try {
    l.config = bt::load_backtest_config(g.config, registry(), a.params);
  } catch (const bt::BacktestConfigError& e) {
    throw CliError(kExitUsage, e.what());
  }
  bt::LoadOptions lo;
  lo.default_bar_interval_ns = l.config.settings.bar_interval_ns;
  try {
    l.events = bt::load_data_files(a.data, lo, &l.files);
  } catch (const std::runtime_error& e) {
    throw CliError(kExitUsage, e.what());
  }
  if (auto missing = bt::symbols_without_data(l.config, l.events); !missing.empty()) {
    std::string list;
    for (const auto& s : missing) list += (list.empty() ? "" : ", ") + s;
    throw CliError(kExitUsage, g.config + ": symbol(s) in the config with no rows in the data: " + list);
  }
  return l;
}

bool is_store_url(const std::string& text) {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

// A recording to write (`run --record`): a PostgreSQL URL, or an SQLite file
// that must not exist yet (two sessions in one file would replay as one).
std::unique_ptr<store::Store> open_new_recording(const std::string& target) {
  try {
    if (is_store_url(target)) return store::make_store(target, ".");
    const std::string path = target.starts_with("sqlite:") ? target.substr(7) : target;
    if (std::filesystem::exists(path)) {
      throw CliError(kExitUsage, "--record " + path + ": exists (record each run into a new file)");
    }
    return store::make_store("sqlite:" + std::filesystem::absolute(path).string(), ".");
  } catch (const CliError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw CliError(kExitUsage, std::string("--record: ") + e.what());
  }
}

// A recording to read (`replay`): it must already be a history store; a
// missing file is not created and a foreign file is refused before SQLite
// would touch it.
std::unique_ptr<store::Store> open_recording(const std::string& recording) {
  std::string path = recording;
  if (!is_store_url(recording)) {
    if (path.starts_with("sqlite:")) path.erase(0, 7);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw CliError(kExitUsage, path + ": no such file");
    if (std::filesystem::is_directory(path, ec)) throw CliError(kExitUsage, path + ": is a directory, not a history store");
    char header[16] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(header, sizeof header);
    if (in.gcount() != sizeof header || std::memcmp(header, "SQLite format 3", sizeof header) != 0) {
      throw CliError(kExitUsage, path + ": not a history store (not an SQLite database)");
    }
    path = "sqlite:" + std::filesystem::absolute(path).string();
  }
  try {
    return store::make_store(path, ".");
  } catch (const std::exception& e) {
    throw CliError(kExitUsage, e.what());
  }
}

void run_command(const GlobalOptions& g, const RunArgs& a) {
  Loaded l = load_inputs(g, a);
  std::unique_ptr<store::Store> recording;
  if (!a.record.empty()) recording = open_new_recording(a.record);
  bt::RunOptions o;
  o.record_to = recording.get();
  o.from_ns = time_option(a.from, "--from");
  o.to_ns = time_option(a.to, "--to");
  const bool progress = !a.no_progress && !g.quiet && isatty(STDERR_FILENO) == 1;
  const std::int64_t wall0 = monotonic_now_ns();
  if (progress) {
    o.progress = [wall0](const bt::Progress& p) {
      const double secs = static_cast<double>(monotonic_now_ns() - wall0) / 1e9;
      const double span = static_cast<double>(std::max<std::int64_t>(1, p.last_ns - p.first_ns));
      const double pct = 100.0 * static_cast<double>(p.sim_ns - p.first_ns) / span;
      std::cerr << "\rbacktest: " << format_count(static_cast<double>(p.done)) << " / "
                << format_count(static_cast<double>(p.total)) << " events, "
                << format_count(secs > 0 ? static_cast<double>(p.done) / secs : 0.0) << " events/s, "
                << format_fixed(pct, 1) << " % of the range   " << std::flush;
    };
  }
  bt::RunResult r;
  try {
    r = bt::run_backtest(l.config, registry(), l.events, o);
  } catch (const std::runtime_error& e) {
    if (progress) std::cerr << "\n";
    const std::string what = e.what();
    throw CliError(what.rfind("no market data", 0) == 0 ? kExitUsage : kExitFailure, what);
  }
  const double secs = static_cast<double>(monotonic_now_ns() - wall0) / 1e9;
  if (progress) std::cerr << "\n";
  const nlohmann::json report = bt::build_report({&l.config, l.files, &r});
  if (!a.out.empty()) {
    try {
      bt::write_report_files(a.out, report, r);
    } catch (const std::runtime_error& e) {
      throw CliError(kExitFailure, e.what());
    }
  }
  if (g.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << bt::report_table(report);
    if (!a.out.empty()) std::cout << "\nwritten to " << a.out << ": report.json equity.csv trades.csv positions.csv events.ndjson equity.svg\n";
  }
  // Wall time is not part of the report (which must be the same every run).
  note(g, "backtest: " + format_count(static_cast<double>(r.market_events)) + " market events in " +
              format_fixed(secs, 2) + " s (" + format_count(secs > 0 ? static_cast<double>(r.market_events) / secs : 0.0) +
              " events/s)");
}

void replay_command(const GlobalOptions& g, const ReplayArgs& a) {
  if (g.config.empty()) {
    throw CliError(kExitUsage, "backtest replay: --config FILE is required (the engines to re-run: the daemon's config or a backtest config)");
  }
  bt::BacktestConfig config;
  try {
    config = bt::load_backtest_config(g.config, registry(), a.params);
  } catch (const bt::BacktestConfigError& e) {
    throw CliError(kExitUsage, e.what());
  }
  const std::optional<std::int64_t> from = time_option(a.from, "--from"), to = time_option(a.to, "--to");
  auto recording = open_recording(a.recording);
  std::vector<bt::MarketEvent> events;
  try {
    events = bt::recorded_market_events(*recording, from.value_or(0), to.value_or(INT64_MAX));
  } catch (const std::runtime_error& e) {
    throw CliError(kExitUsage, e.what());
  }
  if (events.empty()) {
    throw CliError(kExitUsage, a.recording + ": no recorded market data (marketdata.real_time.trade|quote|bar.*) in the window");
  }
  // Compared: what happened from the first replayed market event to the end
  // of the window (or just past the last event), on both sides.
  const std::int64_t window_from = events.front().at_ns, window_to = to.value_or(events.back().at_ns + 1);
  std::vector<store::Record> replayed;
  bt::RunOptions o;
  o.event_log = false;
  o.on_engine_message = [&](const Message& m) {
    if (m.timestamp_ns >= window_from && m.timestamp_ns < window_to && bt::is_decision_topic(m.topic)) {
      replayed.push_back(store::to_record(m));
    }
  };
  bt::RunResult r;
  try {
    r = bt::run_backtest(config, registry(), events, o);
  } catch (const std::runtime_error& e) {
    throw CliError(kExitFailure, e.what());
  }
  const auto recorded = bt::recorded_decisions(*recording, window_from, window_to);
  const bt::ReplayComparison c = bt::compare_decisions(recorded, replayed, {a.ignore_prices});
  if (g.json) {
    nlohmann::json j = bt::to_json(c);
    j["recording"] = recording->describe();
    j["market_events"] = r.market_events;
    j["from"] = bt::iso_time(window_from);
    j["to"] = bt::iso_time(window_to);
    j["ignored_fields"] = nlohmann::json::array();
    for (auto f : bt::kIgnoredPayloadFields) j["ignored_fields"].push_back(std::string(f));
    if (a.ignore_prices) {
      for (auto f : bt::kPriceFields) j["ignored_fields"].push_back(std::string(f));
    }
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "replay: " << format_count(static_cast<double>(r.market_events)) << " market events of "
              << recording->describe() << ", " << bt::iso_time(window_from) << " to "
              << (to ? bt::iso_time(*to) + " (not included)" : bt::iso_time(events.back().at_ns)) << "\n"
              << bt::comparison_text(c);
  }
  if (!c.identical()) throw CliError(kExitFailure, "replay: the decisions differ from the recording (the first difference is on stdout)");
}

// One child: `nautilus backtest run --json` with the combination's overrides,
// stdout into `out_path`. Returns its pid.
pid_t spawn_run(const GlobalOptions& g, const RunArgs& a, const std::vector<std::string>& overrides,
                const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> args = {"nautilus", "--json", "-q", "--config", g.config, "backtest", "run", "--no-progress"};
  for (const auto& d : a.data) args.insert(args.end(), {"--data", d});
  for (const auto& p : a.params) args.insert(args.end(), {"--param", p});
  for (const auto& p : overrides) args.insert(args.end(), {"--param", p});
  if (!a.from.empty()) args.insert(args.end(), {"--from", a.from});
  if (!a.to.empty()) args.insert(args.end(), {"--to", a.to});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw CliError(kExitFailure, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) ::_exit(126);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void sweep_command(const GlobalOptions& g, const SweepArgs& a) {
  if (a.grid.empty()) throw CliError(kExitUsage, "backtest sweep: at least one --param KEY=v1,v2,...");
  if (a.jobs < 1) throw CliError(kExitUsage, "backtest sweep: -j must be at least 1");
  bool known_metric = false;
  for (const char* m : bt::kSweepMetrics) known_metric = known_metric || a.sort == m;
  if (!known_metric) {
    std::string list;
    for (const char* m : bt::kSweepMetrics) list += (list.empty() ? "" : ", ") + std::string(m);
    throw CliError(kExitUsage, "backtest sweep: --sort '" + a.sort + "' (known: " + list + ")");
  }
  std::vector<bt::SweepParam> params;
  try {
    for (const auto& p : a.grid) params.push_back(bt::parse_sweep_param(p));
  } catch (const std::invalid_argument& e) {
    throw CliError(kExitUsage, e.what());
  }
  const auto grid = bt::sweep_grid(params);
  // Checked once here (every combination's config, and the data), so a bad
  // input is one exit 2 rather than N failed children.
  for (const auto& combo : grid) {
    RunArgs with = a.run;
    with.params.insert(with.params.end(), combo.begin(), combo.end());
    if (&combo == &grid.front()) {
      load_inputs(g, with);
    } else {
      try {
        bt::load_backtest_config(g.config, registry(), with.params);
      } catch (const bt::BacktestConfigError& e) {
        throw CliError(kExitUsage, e.what());
      }
    }
  }
  char dir_template[] = "/tmp/nautilus-sweep-XXXXXX";
  if (!::mkdtemp(dir_template)) throw CliError(kExitFailure, std::string("mkdtemp: ") + std::strerror(errno));
  const std::string dir = dir_template;
  std::map<pid_t, std::size_t> running;
  std::vector<int> status(grid.size(), -1);
  std::size_t next = 0;
  auto path = [&](std::size_t i, const char* ext) { return dir + "/" + std::to_string(i) + ext; };
  while (next < grid.size() || !running.empty()) {
    while (next < grid.size() && running.size() < static_cast<std::size_t>(a.jobs)) {
      running[spawn_run(g, a.run, grid[next], path(next, ".json"), path(next, ".err"))] = next;
      ++next;
    }
    int st = 0;
    const pid_t done = ::waitpid(-1, &st, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      throw CliError(kExitFailure, std::string("waitpid: ") + std::strerror(errno));
    }
    auto it = running.find(done);
    if (it == running.end()) continue;
    status[it->second] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    running.erase(it);
  }
  std::vector<bt::SweepRow> rows;
  std::string failure;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    const std::string out = read_all(path(i, ".json")), err = read_all(path(i, ".err"));
    auto report = nlohmann::json::parse(out, nullptr, false);
    if (status[i] != 0 || !report.is_object()) {
      std::string combo;
      for (const auto& o : grid[i]) combo += (combo.empty() ? "" : " ") + o;
      if (failure.empty()) failure = "run " + std::to_string(i) + " (" + combo + ") exited " + std::to_string(status[i]) + ": " + err;
      continue;
    }
    bt::SweepRow row{i, grid[i], nlohmann::json::object()};
    for (const char* m : bt::kSweepMetrics) {
      auto v = bt::sweep_metric(report, m);
      row.figures[m] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    }
    rows.push_back(std::move(row));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!failure.empty()) throw CliError(kExitFailure, failure);
  const nlohmann::json table = bt::sweep_table(std::move(rows), a.sort);
  if (g.json) {
    std::cout << table.dump(2) << "\n";
  } else {
    std::cout << bt::sweep_table_text(table);
  }
}

void add_run_options(CLI::App* c, RunArgs& a) {
  c->add_option("--data", a.data, "CSV file(s) of trades, quotes or bars (nautilus(1), BACKTEST DATA)")->required();
  c->add_option("--from", a.from, "First delivery time replayed (ns or ISO 8601 UTC)");
  c->add_option("--to", a.to, "Replay up to, not including, this time");
  c->add_flag("--no-progress", a.no_progress, "No progress line on a TTY");
}

}  // namespace

void add_backtest_commands(CLI::App& app, GlobalOptions& global) {
  auto* bt_cmd = app.add_subcommand("backtest", "Replay market data through the engines (simulated clock, no daemon)");
  bt_cmd->require_subcommand(1);

  auto run_args = std::make_shared<RunArgs>();
  auto* run = bt_cmd->add_subcommand("run", "One backtest: report, and with --out the CSVs, event log and SVG");
  add_run_options(run, *run_args);
  run->add_option("--param", run_args->params, "Override a config key: engine.key=value (strategy.fast=10)");
  run->add_option("--out", run_args->out, "Directory for report.json, equity/trades/positions CSV, events.ndjson, equity.svg");
  run->add_option("--record", run_args->record,
                  "Record both buses into a new history store (SQLite file or postgresql:// URL) for backtest replay");
  run->callback([&global, run_args] { run_command(global, *run_args); });

  auto sweep_args = std::make_shared<SweepArgs>();
  auto* sweep = bt_cmd->add_subcommand("sweep", "Every combination of --param values, in parallel processes; a sorted table");
  add_run_options(sweep, sweep_args->run);
  sweep->add_option("--param", sweep_args->grid, "KEY=v1,v2,... (repeat for a grid); e.g. strategy.fast=5,10,20")->required();
  sweep->add_option("-j,--jobs", sweep_args->jobs, "Runs at a time")->default_val(1);
  sweep->add_option("--sort", sweep_args->sort, "Metric to sort by: pnl, return, sharpe, sortino, max_drawdown, win_rate, profit_factor, fills")
      ->default_val("sharpe");
  sweep->callback([&global, sweep_args] { sweep_command(global, *sweep_args); });

  auto replay_args = std::make_shared<ReplayArgs>();
  auto* replay = bt_cmd->add_subcommand("replay", "Re-run a recording's market data and compare the decisions: identical, or the first difference");
  replay->add_option("RECORDING", replay_args->recording, "History store: an SQLite file (nautilusd's history.db) or a postgresql:// URL")
      ->required();
  replay->add_option("--from", replay_args->from, "First recorded time replayed (ns or ISO 8601 UTC)");
  replay->add_option("--to", replay_args->to, "Replay up to, not including, this time");
  replay->add_option("--param", replay_args->params, "Override a config key: engine.key=value (risk.max_position=10)");
  replay->add_flag("--ignore-prices", replay_args->ignore_prices,
                   "Leave out prices and amounts (price, notional, commission, realized_pnl, reference_price): a live "
                   "daemon's engines take them at a thread-timing-dependent moment");
  replay->callback([&global, replay_args] { replay_command(global, *replay_args); });
}

}  // namespace nautilus::cli
