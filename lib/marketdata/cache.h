// The hub's cache: one entry per (symbol, type), a TTL per data type (SPEC
// section 6), LRU eviction at a capacity. A lookup reports stale entries too,
// so the hub can serve stale-while-revalidate or fall back to stale data when
// every source is down. All times come from the caller (the hub's Clock).
//
// The hit path takes one mutex, does one heterogeneous hash lookup and one
// list splice, and copies a shared_ptr: no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>

#include "marketdata/data_types.h"

namespace nautilus::md {

struct CacheConfig {
  // Default TTLs of SPEC section 6 (trade, not in the spec table, as tick).
  std::array<std::int64_t, kDataTypeCount> ttl_ns = {
      1'000'000'000,           // tick 1 s
      2'000'000'000,           // quote 2 s
      1'000'000'000,           // trade 1 s
      60'000'000'000,          // bar 60 s
      1'000'000'000,           // level2 1 s
      3'600'000'000'000,       // news 1 h
      86'400'000'000'000,      // fundamental 24 h
      86'400'000'000'000,      // economic 24 h
  };
  std::size_t capacity = 100'000;

  std::int64_t ttl(DataType t) const { return ttl_ns[static_cast<std::size_t>(t)]; }
  void set_ttl(DataType t, std::int64_t ns) { ttl_ns[static_cast<std::size_t>(t)] = ns; }
};

struct CacheLookup {
  DataPtr data;                 // null: no entry
  std::int64_t stored_ns = 0;   // when the entry was filled
  bool fresh = false;           // age < TTL of its type
  bool prefetched = false;      // filled by a prefetch and read now for the first time
  std::int64_t age_ns(std::int64_t now_ns) const { return now_ns - stored_ns; }
};

struct CacheStats {
  std::size_t size = 0;
  std::size_t capacity = 0;
  std::uint64_t evictions = 0;
  std::uint64_t expired_reads = 0;  // lookups that found only a stale entry
};

class Cache {
 public:
  explicit Cache(CacheConfig config = {});

  // Finds the entry (fresh or stale) and marks it most recently used.
  CacheLookup get(KeyView key, std::int64_t now_ns);
  // Is there a fresh entry? Does not touch LRU order (used by prefetch).
  bool is_fresh(KeyView key, std::int64_t now_ns) const;
  // Inserts or replaces; evicts the least recently used entry when full.
  void put(DataPtr data, std::int64_t now_ns, bool prefetched = false);
  bool erase(KeyView key);
  void clear();

  CacheStats stats() const;
  const CacheConfig& config() const { return config_; }

 private:
  struct Entry {
    Key key;
    DataPtr data;
    std::int64_t stored_ns = 0;
    bool prefetched = false;
  };
  using List = std::list<Entry>;

  CacheConfig config_;
  mutable std::mutex mu_;
  List lru_;  // front: most recently used
  std::unordered_map<Key, List::iterator, KeyHash, KeyEq> index_;
  std::uint64_t evictions_ = 0;
  std::uint64_t expired_reads_ = 0;
};

}  // namespace nautilus::md
