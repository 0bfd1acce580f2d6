// nautilusd: hosts the buses, the engines and the control API. See nautilusd(8).
#include "daemon.h"
#include "marketdata/marketdata_engine.h"

int main(int argc, char** argv) {
  nautilus::EngineRegistry registry;
  nautilus::register_builtin_engines(registry);
  nautilus::md::register_marketdata_engine(registry);  // lives above the engines layer
  return nautilus::daemon::run_daemon(argc, argv, registry);
}
