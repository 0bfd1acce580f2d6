// The registry of engine kinds: kind name -> description and factory. The daemon
// fills it once at start (register_builtin_engines plus anything an embedding
// program or a test adds) and the host creates engine instances from it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engines/engine.h"

namespace nautilus {

struct EngineKind {
  std::string name;          // "risk": what config sections and the CLI call it
  std::string description;
  std::function<std::unique_ptr<Engine>()> factory;
};

class EngineRegistry {
 public:
  // Throws std::invalid_argument for an empty name, a missing factory or a
  // duplicate kind.
  void add(EngineKind kind);
  const EngineKind* find(std::string_view name) const;
  std::vector<const EngineKind*> list() const;  // sorted by name
  // A new instance of `kind` named `instance_name` (kind name when empty).
  // Throws std::out_of_range for an unknown kind.
  std::unique_ptr<Engine> create(std::string_view kind, std::string instance_name = {}) const;

 private:
  std::vector<EngineKind> kinds_;
};

// The engine kinds that ship with nautilus. Engine folders add one line each in
// builtin_engines.cpp (explicit, because static-library registration objects
// would be dropped by the linker).
void register_builtin_engines(EngineRegistry& registry);

}  // namespace nautilus
