// nautilusd: hosts the buses, the engines and the control API. See nautilusd(8).
#include "daemon.h"
#include "marketdata/marketdata_engine.h"

int main(int argc, char** argv) {
  nautilus::EngineRegistry registry;
  nautilus::register_builtin_engines(registry);
  // The hub lives above the engines layer; it reads history from the daemon's
  // store once that is open.
  auto history = std::make_shared<nautilus::md::HistoryLink>();
  nautilus::md::register_marketdata_engine(registry, history);
  return nautilus::daemon::run_daemon(argc, argv, registry, history);
}
