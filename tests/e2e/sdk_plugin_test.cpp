// The engine SDK as a user meets it: `cmake --install` of the SDK into a
// temporary prefix, examples/custom-engine built out of tree against that
// prefix alone, and the plugin loaded into a real nautilusd: it gets market
// data, publishes signals, goes quiet on `nautilus risk halt`, and is
// restarted by the supervisor after its handler throws. Plugins that cannot
// be loaded fail --check-config with one line each, and at start only their
// own engines are in ERROR.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "e2e/cli_e2e_support.h"
#include "e2e/engine_api.h"

using namespace nautilus::e2e;

namespace {

const std::string kPlugins = kBin + "/tests/plugins/";

// Where this process stages the SDK: its own directory, since CTest may run
// the test cases of this file in parallel; removed when the process ends.
struct StageDir {
  std::string path = kBin + "/tests/sdk-stage-" + std::to_string(::getpid());
  ~StageDir() { std::filesystem::remove_all(path); }
};

// The staged SDK and the example plugin built against it, once per process.
const std::string& example_plugin() {
  static StageDir stage_dir;
  static const std::string plugin = [] {
    const std::string& stage = stage_dir.path;
    std::filesystem::remove_all(stage);
    std::filesystem::create_directories(stage);
    Result install = run("cmake --install " + kBin + " --prefix " + stage + "/prefix --component sdk", stage);
    INFO(install.out << install.err);
    REQUIRE(install.rc == 0);
    REQUIRE(std::filesystem::exists(stage + "/prefix/include/nautilus/engines/plugin.h"));
    REQUIRE(std::filesystem::exists(stage + "/prefix/lib/pkgconfig/nautilus.pc"));
    // Only the staged prefix is searched: an include or file the install
    // forgot fails this build.
    // ccache, when there is one, with paths taken relative to the stage, so a
    // run in another stage directory finds the same cache entry.
    std::string launcher = std::system("command -v ccache >/dev/null 2>&1") == 0 ? " -DCMAKE_CXX_COMPILER_LAUNCHER=ccache" : "";
    Result configure = run("cmake -S " + kSource + "/examples/custom-engine -B " + stage + "/build -G Ninja" +
                               " -DCMAKE_PREFIX_PATH=" + stage + "/prefix -DCMAKE_BUILD_TYPE=Debug" + launcher,
                           stage);
    INFO(configure.out << configure.err);
    REQUIRE(configure.rc == 0);
    Result build = run("env CCACHE_BASEDIR=" + stage + " cmake --build " + stage + "/build", stage);
    INFO(build.out << build.err);
    REQUIRE(build.rc == 0);
    // The same plugin with the compiler and pkg-config alone (nautilus.pc);
    // compiled and linked apart, as ccache caches only the compile.
    std::string cxx = launcher.empty() ? "c++" : "ccache c++";
    Result pc = run("sh -c 'cd " + stage + " && export CCACHE_BASEDIR=" + stage + " PKG_CONFIG_PATH=" + stage +
                        "/prefix/lib/pkgconfig && " + cxx + " -c -fPIC -fvisibility=hidden" +
                        " $(pkg-config --cflags nautilus) " + kSource +
                        "/examples/custom-engine/breakout_engine.cpp -o pc_engine.o" +
                        " && c++ -shared pc_engine.o -o libpc_engine.so'",
                    stage);
    INFO(pc.out << pc.err);
    REQUIRE(pc.rc == 0);
    REQUIRE(std::filesystem::exists(stage + "/libpc_engine.so"));
    return stage + "/build/libcustom_engine.so";
  }();
  return plugin;
}

nlohmann::json engine_status(const Daemon& d, const std::string& name) { return engine_json(d, name); }

std::uint64_t metric(const nlohmann::json& status, const char* key) {
  const auto& m = status.value("metrics", nlohmann::json::object());
  return m.contains(key) && m[key].is_number_unsigned() ? m[key].get<std::uint64_t>() : 0;
}

std::string config(const std::string& plugin_sections) {
  return "[supervisor]\nmax_failures = 3\nbackoff_initial_ms = 1\n"
         "[engines.marketdata]\nsymbols = [\"AAPL\", \"MSFT\"]\nstream_types = [\"trade\"]\nstream_interval_ms = 20\n"
         "[engines.risk]\n"
         "[engines.breakout]\nplugin = \"" + example_plugin() + "\"\nlookback = 2\nfault_topic = \"custom.fault\"\n" +
         plugin_sections;
}

const std::string kBadPlugins =
    "[engines.future]\nplugin = \"" + kPlugins + "libwrong_abi_plugin.so\"\n"
    "[engines.stranger]\nplugin = \"" + kPlugins + "libno_entry_plugin.so\"\n"
    "[engines.gone]\nplugin = \"" + kPlugins + "libnot_there.so\"\n";

}  // namespace

TEST_CASE("e2e sdk: the example plugin, built against the staged install, runs in nautilusd") {
  Daemon d(config(""));
  REQUIRE(eventually([&] { return engine_status(d, "breakout").value("state", "") == "RUNNING"; }));
  nlohmann::json s = engine_status(d, "breakout");
  CHECK(s["kind"] == "breakout");
  CHECK(s["description"].get<std::string>().find("example plugin") == 0);

  // Market data arrives and signals go out, from the plugin, on the engine bus.
  Proc signals = Proc::spawn(d.cli("bus subscribe engine 'custom.signal.*' --count 3 --json --timeout 60"), d.dir, "signals");
  CHECK(eventually([&] { return metric(engine_status(d, "breakout"), "trades") >= 10; }));
  REQUIRE(signals.wait() == 0);
  std::string out = slurp(signals.out);
  CHECK(count_of(out, "\"message_type\":\"trading_signal\"") == 3);
  CHECK(count_of(out, "\"source\":\"breakout\"") == 3);

  // A halt from the risk engine silences it: once it says halted, signals
  // that would have gone out are held back, and none is published.
  REQUIRE(d.run_cli("risk halt --reason sdk-test").rc == 0);
  REQUIRE(eventually([&] { return engine_status(d, "breakout")["metrics"].value("halted", false); }));
  nlohmann::json at_halt = engine_status(d, "breakout");
  CHECK(eventually([&] { return metric(engine_status(d, "breakout"), "held_back") >= metric(at_halt, "held_back") + 3; }));
  CHECK(metric(engine_status(d, "breakout"), "signals") == metric(at_halt, "signals"));

  // Its handler throws: counted, ERROR after max_failures (3), restarted.
  REQUIRE(d.run_cli("bus publish engine custom.fault '{}' --count 3").rc == 0);
  REQUIRE(eventually([&] {
    nlohmann::json j = engine_status(d, "breakout");
    return j.value("restart_attempts", 0) >= 1 && j.value("state", "") == "RUNNING";
  }));
  nlohmann::json after = engine_status(d, "breakout");
  CHECK(after["errors"].get<int>() >= 3);
  CHECK_THAT(after["last_error"].get<std::string>(), Catch::Contains("fault requested on custom.fault"));
  // ... and, restarted, it takes market data again.
  CHECK(eventually([&] { return metric(engine_status(d, "breakout"), "trades") > metric(after, "trades") + 5; }));
  d.kill_with(SIGTERM);
  CHECK_THAT(slurp(d.proc.err), Catch::Contains("engine 'breakout': restart 1/"));
}

TEST_CASE("e2e sdk: plugins that cannot be loaded fail --check-config, one line each, and only park their own engine") {
  const std::string dir = temp_dir();
  const std::string file = dir + "/nautilusd.toml";
  std::ofstream(file) << config(kBadPlugins);
  Result check = run(kDaemon + " --check-config --config " + file, dir);
  CHECK(check.rc == 2);
  CHECK_THAT(check.err, Catch::Contains("invalid configuration (3 plugins not loaded)"));
  CHECK_THAT(check.err, Catch::Contains(":14: engines.future.plugin: plugin " + kPlugins +
                                        "libwrong_abi_plugin.so: built for plugin ABI 2, this nautilusd loads ABI 1"));
  CHECK_THAT(check.err, Catch::Contains(":16: engines.stranger.plugin: plugin " + kPlugins +
                                        "libno_entry_plugin.so: not a nautilus engine plugin"));
  CHECK_THAT(check.err, Catch::Contains(":18: engines.gone.plugin: plugin " + kPlugins + "libnot_there.so: no such file"));
  // Without them the same file is fine.
  std::ofstream(file) << config("");
  CHECK(run(kDaemon + " --check-config --config " + file, dir).rc == 0);
  std::filesystem::remove_all(dir);

  Daemon d(config(kBadPlugins));
  for (const char* name : {"future", "stranger", "gone"}) {
    CAPTURE(name);
    REQUIRE(eventually([&] { return engine_status(d, name).value("state", "") == "ERROR"; }));
  }
  CHECK_THAT(engine_status(d, "future")["last_error"].get<std::string>(), Catch::Contains("built for plugin ABI 2"));
  CHECK_THAT(engine_status(d, "gone")["last_error"].get<std::string>(), Catch::Contains("libnot_there.so: no such file"));
  // The others run: the plugin that loads gets its data.
  CHECK(engine_status(d, "risk").value("state", "") == "RUNNING");
  CHECK(eventually([&] { return metric(engine_status(d, "breakout"), "trades") >= 5; }));
  d.kill_with(SIGTERM);
  CHECK_THAT(slurp(d.proc.err), Catch::Contains("engines.stranger.plugin: plugin " + kPlugins +
                                                "libno_entry_plugin.so: not a nautilus engine plugin"));
}
