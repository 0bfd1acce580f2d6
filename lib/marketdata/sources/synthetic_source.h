// The `synthetic` source: serves tick, quote, trade, bar and level2 from a
// SyntheticFeed at the hub's clock time, and fundamental data
// (synthetic_fundamentals.h: sector, shares, book value, market cap). Always available, the embedded
// default. Scripted outages make a source fail on cue, so breaker and fallback
// behaviour can be exercised with real sources instead of mocks.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "marketdata/source.h"
#include "marketdata/sources/synthetic_feed.h"

namespace nautilus::md {

struct SyntheticSourceConfig {
  std::string name = "synthetic";
  int priority = 1000;                       // after every real provider
  RateLimit rate_limit{0, 1};                // unlimited by default
  SyntheticConfig feed;
  std::set<std::string, std::less<>> symbols;  // non-empty: serve only these (others: not_found)
};

struct Outage {
  std::int64_t from_ns = 0, to_ns = 0;
  FetchError error = FetchError::kUnavailable;
};

class SyntheticSource final : public Source {
 public:
  explicit SyntheticSource(SyntheticSourceConfig config);
  // Shares a feed with other sources (e.g. the engine's streamer), so every
  // consumer sees one market.
  SyntheticSource(SyntheticSourceConfig config, std::shared_ptr<SyntheticFeed> feed);

  const SourceInfo& info() const override { return info_; }
  FetchResult fetch(std::string_view symbol, DataType type, std::int64_t now_ns) override;

  // Fails every fetch in [from_ns, to_ns) with `error`.
  void add_outage(Outage outage);
  SyntheticFeed& feed() { return *feed_; }
  std::shared_ptr<SyntheticFeed> shared_feed() const { return feed_; }
  std::uint64_t fetches() const;

 private:
  SourceInfo info_;
  std::set<std::string, std::less<>> symbols_;
  std::shared_ptr<SyntheticFeed> feed_;
  mutable std::mutex mu_;
  std::vector<Outage> outages_;
  std::uint64_t fetches_ = 0;
};

// JSON payloads shared by the synthetic and replay sources and the streamer.
std::string trade_json(const SyntheticTrade& t);
std::string quote_json(const SyntheticQuote& q);
std::string bar_json(const SyntheticBar& b);
std::string book_json(const SyntheticBook& b);

}  // namespace nautilus::md
