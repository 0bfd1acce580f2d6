// nautilusd: hosts the buses, the engines and the control API. See nautilusd(8).
#include "daemon.h"

int main(int argc, char** argv) {
  nautilus::EngineRegistry registry;
  nautilus::register_builtin_engines(registry);
  return nautilus::daemon::run_daemon(argc, argv, registry);
}
