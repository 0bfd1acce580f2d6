// Loads engine kinds from plugin shared libraries (lib/engines/plugin.h) for
// the daemon: dlopen with every symbol bound at load (RTLD_NOW, so a plugin
// needing a symbol this nautilusd lacks fails here, not later in a handler),
// then the descriptor's ABI version and Engine size are checked. Every failure
// is one line naming the file. A loaded plugin stays loaded until the process
// exits: its engines' code and vtables live in it.
#pragma once

#include <stdexcept>
#include <string>

#include "engines/registry.h"

namespace nautilus {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
  std::string path;  // as given
  std::string kind;
  std::string description;
};

// Loads `path` (once per file; later calls return the same) and checks it.
// Throws PluginError: "plugin <path>: <why>".
LoadedPlugin load_engine_plugin(const std::string& path);

// Loads `path` and adds its kind to `registry`; a second call for the same
// file is a no-op. Returns the kind. Throws PluginError, also when the kind is
// already registered by something else (a built-in or another plugin).
std::string register_engine_plugin(EngineRegistry& registry, const std::string& path);

// A kind standing in for a plugin that could not be loaded: its engines fail
// to start with `reason`, so the daemon lists them in ERROR and runs the rest.
EngineKind unloaded_plugin_kind(std::string kind_name, std::string reason);

}  // namespace nautilus
