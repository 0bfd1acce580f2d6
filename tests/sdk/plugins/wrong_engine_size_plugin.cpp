// Right ABI number, but an Engine base of another size (headers of another
// SDK version with the number not bumped): refused by the second check.
#include "engines/plugin.h"

extern "C" __attribute__((visibility("default"))) const NautilusPluginV1* nautilus_plugin_v1() {
  static const NautilusPluginV1 descriptor = {NAUTILUS_PLUGIN_ABI_VERSION,
                                              static_cast<std::uint32_t>(sizeof(nautilus::Engine) + 8), "odd_kind",
                                              "another Engine layout", []() -> nautilus::Engine* { return nullptr; }};
  return &descriptor;
}
