// The plugin loader refuses, with one line naming the file and the reason,
// every shared library it cannot trust; a refused plugin registers nothing.
// (A plugin that loads is tested in the real nautilusd: tests/e2e/sdk_plugin_test.cpp.)
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engines/plugin_loader.h"
#include "engines/registry.h"

using namespace nautilus;

namespace {
const std::string kPlugins = std::string(NAUTILUS_BINARY_DIR) + "/tests/plugins/";
}

TEST_CASE("plugin loader: every untrusted library is refused with its reason", "[plugin]") {
  struct Case {
    std::string file;
    std::string reason;  // what the one-line message must say
  };
  const std::vector<Case> cases = {
      {"libnot_there.so", "no such file"},
      {"libwrong_abi_plugin.so", "built for plugin ABI 2, this nautilusd loads ABI 1"},
      {"libwrong_engine_size_plugin.so", "its Engine base is"},
      {"libno_entry_plugin.so", "not a nautilus engine plugin (it exports no 'nautilus_plugin_v1' function"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    EngineRegistry registry;
    const std::string path = kPlugins + c.file;
    try {
      register_engine_plugin(registry, path);
      FAIL("loaded " << path);
    } catch (const PluginError& e) {
      const std::string what = e.what();
      CHECK(what.rfind("plugin " + path + ": ", 0) == 0);
      CHECK(what.find(c.reason) != std::string::npos);
      CHECK(what.find('\n') == std::string::npos);
    }
    CHECK(registry.list().empty());
  }
}

TEST_CASE("plugin loader: a file that is no shared object says what dlopen said", "[plugin]") {
  const std::string path = std::string(NAUTILUS_SOURCE_DIR) + "/tests/sdk/plugins/no_entry_plugin.cpp";
  try {
    load_engine_plugin(path);
    FAIL("loaded a source file");
  } catch (const PluginError& e) {
    CHECK(std::string(e.what()).find("plugin " + path + ": cannot load: ") == 0);
  }
}

TEST_CASE("plugin loader: a kind standing in for a refused plugin fails to start with the reason", "[plugin]") {
  EngineRegistry registry;
  registry.add(unloaded_plugin_kind("plugin:/x/liby.so", "plugin /x/liby.so: no such file"));
  auto engine = registry.create("plugin:/x/liby.so", "y");
  CHECK(engine->kind() == "plugin:/x/liby.so");
  CHECK(engine->config_problems({{"anything", 1}}).empty());  // only the plugin could check its section
  auto router = Router::from_urls("inproc://", "inproc://");
  SimulatedClock clock;
  CHECK_THROWS_WITH(engine->start({*router, clock, nlohmann::json::object()}), "engine 'y': plugin /x/liby.so: no such file");
  CHECK(engine->state() == EngineState::kError);
}
