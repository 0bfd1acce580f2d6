#include "engines/plugin_loader.h"

#include <dlfcn.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>

#include "engines/plugin.h"

namespace nautilus {
namespace {

struct Loaded {
  LoadedPlugin info;
  const NautilusPluginV1* descriptor = nullptr;
};

// Keyed by the canonical path, so two spellings of one file load it once.
std::mutex& loaded_mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, Loaded>& loaded_plugins() {
  static std::map<std::string, Loaded> plugins;
  return plugins;
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw PluginError("plugin " + path + ": " + why);
}

const Loaded& load_locked(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) refuse(path, "no such file");
  std::string canonical = std::filesystem::canonical(path, ec).string();
  if (ec) refuse(path, "cannot resolve the path: " + ec.message());
  auto& plugins = loaded_plugins();
  if (auto it = plugins.find(canonical); it != plugins.end()) return it->second;

  ::dlerror();
  void* handle = ::dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    refuse(path, std::string("cannot load: ") + (err ? err : "dlopen failed"));
  }
  // From here on a refusal unloads the file again.
  auto refuse_and_close = [&](const std::string& why) {
    ::dlclose(handle);
    refuse(path, why);
  };
  void* entry = ::dlsym(handle, kPluginEntrySymbol);
  if (!entry) {
    refuse_and_close(std::string("not a nautilus engine plugin (it exports no '") + kPluginEntrySymbol +
                     "' function; define it with NAUTILUS_ENGINE_PLUGIN)");
  }
  // dlsym returns an object pointer; POSIX guarantees it converts to a function pointer.
  auto fn = reinterpret_cast<NautilusPluginEntry>(reinterpret_cast<std::uintptr_t>(entry));
  const NautilusPluginV1* d = fn();
  if (!d) refuse_and_close("its nautilus_plugin_v1() returned no descriptor");
  if (d->abi_version != NAUTILUS_PLUGIN_ABI_VERSION) {
    refuse_and_close("built for plugin ABI " + std::to_string(d->abi_version) + ", this nautilusd loads ABI " +
                     std::to_string(NAUTILUS_PLUGIN_ABI_VERSION) + " (rebuild it against this nautilus SDK)");
  }
  if (d->engine_size != sizeof(Engine)) {
    refuse_and_close("its Engine base is " + std::to_string(d->engine_size) + " bytes, this nautilusd's is " +
                     std::to_string(sizeof(Engine)) + " (built against another SDK; rebuild it)");
  }
  if (!d->kind || !*d->kind) refuse_and_close("its descriptor names no engine kind");
  if (!d->create) refuse_and_close("its descriptor has no factory");
  Loaded l;
  l.info = {path, d->kind, d->description ? d->description : ""};
  l.descriptor = d;
  return plugins.emplace(canonical, std::move(l)).first->second;
}

// A registry factory for a plugin's kind; its own type, so a second
// registration can tell the same plugin from another kind of that name.
struct PluginFactory {
  const NautilusPluginV1* descriptor;
  std::string path;
  // The kind a plugin's engine reports must be the one it registered under, or
  // the daemon's list and config would disagree with what runs.
  std::unique_ptr<Engine> operator()() const {
    std::unique_ptr<Engine> engine(descriptor->create());
    if (!engine) throw std::runtime_error("plugin " + path + ": its factory returned no engine");
    if (engine->kind() != descriptor->kind) {
      throw std::runtime_error("plugin " + path + ": its engine says kind '" + std::string(engine->kind()) +
                               "' but the plugin registered '" + descriptor->kind + "'");
    }
    return engine;
  }
};

class UnloadedPluginEngine final : public Engine {
 public:
  UnloadedPluginEngine(std::string kind, std::string reason) : kind_(std::move(kind)), reason_(std::move(reason)) {}
  std::string_view kind() const override { return kind_; }
  std::string_view description() const override { return reason_; }
  // Its section cannot be checked without the plugin; the load error is the problem.
  std::vector<ConfigProblem> config_problems(const nlohmann::json&) const override { return {}; }

 protected:
  void on_start(EngineContext&) override { throw std::runtime_error(reason_); }

 private:
  std::string kind_;
  std::string reason_;
};

}  // namespace

LoadedPlugin load_engine_plugin(const std::string& path) {
  std::lock_guard lock(loaded_mu());
  return load_locked(path).info;
}

std::string register_engine_plugin(EngineRegistry& registry, const std::string& path) {
  std::lock_guard lock(loaded_mu());
  const Loaded& l = load_locked(path);
  const std::string& kind = l.info.kind;
  if (const EngineKind* existing = registry.find(kind)) {
    // The same file registered before (a SIGHUP reload, two sections): fine.
    const auto* factory = existing->factory.target<PluginFactory>();
    if (factory && factory->descriptor == l.descriptor) return kind;
    refuse(path, "engine kind '" + kind + "' is already registered" +
                     (factory ? " by plugin " + factory->path : std::string(" (a built-in kind)")));
  }
  registry.add({kind, l.info.description, PluginFactory{l.descriptor, l.info.path}});
  return kind;
}

EngineKind unloaded_plugin_kind(std::string kind_name, std::string reason) {
  return {kind_name, reason, [kind_name, reason] { return std::make_unique<UnloadedPluginEngine>(kind_name, reason); }};
}

}  // namespace nautilus
