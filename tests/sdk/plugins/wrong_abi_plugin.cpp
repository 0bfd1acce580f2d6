// A plugin built for a plugin ABI this nautilusd does not speak (as one built
// against a future SDK would be): the loader must refuse it before using it.
#include "engines/plugin.h"

extern "C" __attribute__((visibility("default"))) const NautilusPluginV1* nautilus_plugin_v1() {
  static const NautilusPluginV1 descriptor = {NAUTILUS_PLUGIN_ABI_VERSION + 1,
                                              static_cast<std::uint32_t>(sizeof(nautilus::Engine)), "future_kind",
                                              "built against another SDK", []() -> nautilus::Engine* { return nullptr; }};
  return &descriptor;
}
