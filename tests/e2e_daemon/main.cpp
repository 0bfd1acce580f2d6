// nautilusd for the end-to-end tests: the very same daemon (run_daemon) with one
// extra engine kind registered, `flaky`, whose handler throws on any message
// that carries "fail" in its payload (topics test.<name>.*).
#include "daemon.h"

namespace {

class FlakyEngine final : public nautilus::Engine {
 public:
  std::string_view kind() const override { return "flaky"; }
  std::string_view description() const override { return "e2e test engine: throws on payloads with \"fail\""; }
  std::vector<std::string> subscribes_to() const override { return {"test." + name() + ".*"}; }

 protected:
  void on_start(nautilus::EngineContext&) override {
    subscribe(nautilus::BusKind::kEngine, "test." + name() + ".*", [](const nautilus::Message& m) {
      if (m.payload.find("fail") != std::string::npos) throw std::runtime_error("flaky: asked to fail");
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  nautilus::EngineRegistry registry;
  nautilus::register_builtin_engines(registry);
  registry.add({"flaky", "e2e test engine", [] { return std::make_unique<FlakyEngine>(); }});
  return nautilus::daemon::run_daemon(argc, argv, registry);
}
