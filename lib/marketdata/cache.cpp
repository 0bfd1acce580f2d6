#include "marketdata/cache.h"

#include <algorithm>

namespace nautilus::md {

Cache::Cache(CacheConfig config) : config_(config) {
  config_.capacity = std::max<std::size_t>(1, config_.capacity);
  index_.reserve(std::min<std::size_t>(config_.capacity, 1 << 20));
}

CacheLookup Cache::get(KeyView key, std::int64_t now_ns) {
  CacheLookup out;
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return out;
  Entry& e = *it->second;
  lru_.splice(lru_.begin(), lru_, it->second);
  out.data = e.data;
  out.stored_ns = e.stored_ns;
  out.fresh = now_ns - e.stored_ns < config_.ttl(key.type);
  if (out.fresh) {
    out.prefetched = e.prefetched;
    e.prefetched = false;  // count a prefetch as used once
  } else {
    ++expired_reads_;
  }
  return out;
}

bool Cache::is_fresh(KeyView key, std::int64_t now_ns) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  return it != index_.end() && now_ns - it->second->stored_ns < config_.ttl(key.type);
}

void Cache::put(DataPtr data, std::int64_t now_ns, bool prefetched) {
  if (!data) return;
  KeyView key{data->symbol, data->type};
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    Entry& e = *it->second;
    e.data = std::move(data);
    e.stored_ns = now_ns;
    e.prefetched = prefetched;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (index_.size() >= config_.capacity) {
    auto& victim = lru_.back();
    index_.erase(victim.key);
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(Entry{Key{key}, std::move(data), now_ns, prefetched});
  index_.emplace(lru_.front().key, lru_.begin());
}

bool Cache::erase(KeyView key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.erase(it->second);
  index_.erase(it);
  return true;
}

void Cache::clear() {
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
}

CacheStats Cache::stats() const {
  std::lock_guard lock(mu_);
  return {index_.size(), config_.capacity, evictions_, expired_reads_};
}

}  // namespace nautilus::md
