// The plugin ABI: how a shared library hands nautilusd an engine kind. A
// plugin exports ONE extern "C" function, `nautilus_plugin_v1`, returning a
// descriptor; the daemon checks its ABI version and the size of the Engine
// base it was compiled against before it creates anything, so a plugin built
// against another SDK is refused with a message instead of crashing.
//
//   class MyEngine final : public nautilus::Engine { ... };
//   NAUTILUS_ENGINE_PLUGIN(MyEngine, "my_kind", "what it does")
//
// The engine's non-inline SDK code (Engine::start, make_message, ...) is not
// in the plugin: it resolves against the nautilusd that loads it (nautilusd
// exports its symbols). See docs/sdk.md.
#pragma once

#include <cstdint>

#include "engines/engine.h"

// Bumped whenever the descriptor, the Engine base's layout or the virtual
// interface of Engine/Router/Bus changes incompatibly.
#define NAUTILUS_PLUGIN_ABI_VERSION 1u

extern "C" {

struct NautilusPluginV1 {
  std::uint32_t abi_version;  // NAUTILUS_PLUGIN_ABI_VERSION of the SDK it was built with
  std::uint32_t engine_size;  // sizeof(nautilus::Engine) there: a second, cheap layout check
  const char* kind;           // the engine kind, as config sections name it
  const char* description;
  // A new engine instance, owned by the caller (deleted through its virtual
  // destructor). Never null; may throw (the daemon reports it).
  nautilus::Engine* (*create)();
};

// The one symbol a plugin exports (what the loader looks up with dlsym).
using NautilusPluginEntry = const NautilusPluginV1* (*)();
}

namespace nautilus {
inline constexpr const char* kPluginEntrySymbol = "nautilus_plugin_v1";
}

// Defines `nautilus_plugin_v1` for EngineType (default-constructible).
#define NAUTILUS_ENGINE_PLUGIN(EngineType, kind_name, description_text)                          \
  extern "C" __attribute__((visibility("default"))) const NautilusPluginV1* nautilus_plugin_v1() { \
    static const NautilusPluginV1 descriptor = {                                                  \
        NAUTILUS_PLUGIN_ABI_VERSION, static_cast<std::uint32_t>(sizeof(nautilus::Engine)),        \
        kind_name, description_text, []() -> nautilus::Engine* { return new EngineType(); }};     \
    return &descriptor;                                                                           \
  }
