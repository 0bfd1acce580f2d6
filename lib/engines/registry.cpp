#include "engines/registry.h"

#include <algorithm>
#include <stdexcept>

namespace nautilus {

void EngineRegistry::add(EngineKind kind) {
  if (kind.name.empty()) throw std::invalid_argument("engine kind without a name");
  if (!kind.factory) throw std::invalid_argument("engine kind '" + kind.name + "' has no factory");
  if (find(kind.name)) throw std::invalid_argument("engine kind '" + kind.name + "' is registered twice");
  kinds_.push_back(std::move(kind));
}

const EngineKind* EngineRegistry::find(std::string_view name) const {
  for (const auto& k : kinds_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::vector<const EngineKind*> EngineRegistry::list() const {
  std::vector<const EngineKind*> out;
  for (const auto& k : kinds_) out.push_back(&k);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

std::unique_ptr<Engine> EngineRegistry::create(std::string_view kind, std::string instance_name) const {
  const EngineKind* k = find(kind);
  if (!k) throw std::out_of_range("unknown engine kind '" + std::string(kind) + "'");
  auto engine = k->factory();
  if (!engine) throw std::runtime_error("engine kind '" + k->name + "': factory returned nothing");
  engine->set_name(instance_name.empty() ? k->name : std::move(instance_name));
  return engine;
}

}  // namespace nautilus
