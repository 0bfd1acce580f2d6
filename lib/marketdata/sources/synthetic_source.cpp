#include "marketdata/sources/synthetic_source.h"

#include <nlohmann/json.hpp>

#include "marketdata/sources/synthetic_fundamentals.h"

namespace nautilus::md {

std::string trade_json(const SyntheticTrade& t) {
  nlohmann::json j = {{"ts_ns", t.ts_ns}, {"price", t.price},   {"size", t.size},
                      {"side", std::string(1, t.side)}, {"seq", t.seq}};
  if (t.in_crash) j["crash"] = true;
  return j.dump();
}

std::string quote_json(const SyntheticQuote& q) {
  return nlohmann::json{{"ts_ns", q.ts_ns}, {"bid", q.bid}, {"ask", q.ask}, {"bid_size", q.bid_size},
                        {"ask_size", q.ask_size}}
      .dump();
}

std::string bar_json(const SyntheticBar& b) {
  return nlohmann::json{{"start_ns", b.start_ns}, {"interval_s", b.interval_ns / 1'000'000'000},
                        {"open", b.open},         {"high", b.high},
                        {"low", b.low},           {"close", b.close},
                        {"volume", b.volume},     {"trades", b.trades}}
      .dump();
}

std::string book_json(const SyntheticBook& b) {
  nlohmann::json bids = nlohmann::json::array(), asks = nlohmann::json::array();
  for (const auto& l : b.bids) bids.push_back({l.price, l.size});
  for (const auto& l : b.asks) asks.push_back({l.price, l.size});
  return nlohmann::json{{"ts_ns", b.ts_ns}, {"bids", bids}, {"asks", asks}}.dump();
}

SyntheticSource::SyntheticSource(SyntheticSourceConfig config)
    : SyntheticSource(config, std::make_shared<SyntheticFeed>(config.feed)) {}

SyntheticSource::SyntheticSource(SyntheticSourceConfig config, std::shared_ptr<SyntheticFeed> feed)
    : symbols_(std::move(config.symbols)), feed_(std::move(feed)) {
  info_.name = std::move(config.name);
  info_.kind = "synthetic";
  info_.priority = config.priority;
  info_.types = {DataType::kTick, DataType::kQuote, DataType::kTrade, DataType::kBar, DataType::kLevel2,
                 DataType::kFundamental};
  info_.rate_limit = config.rate_limit;
}

void SyntheticSource::add_outage(Outage outage) {
  std::lock_guard lock(mu_);
  outages_.push_back(outage);
}

std::uint64_t SyntheticSource::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

FetchResult SyntheticSource::fetch(std::string_view symbol, DataType type, std::int64_t now_ns) {
  {
    std::lock_guard lock(mu_);
    ++fetches_;
    for (const auto& o : outages_) {
      if (now_ns >= o.from_ns && now_ns < o.to_ns) {
        return FetchResult::failure(o.error, "scripted outage of " + info_.name);
      }
    }
  }
  if (!info_.supports(type)) {
    return FetchResult::failure(FetchError::kUnsupported, info_.name + " does not serve " + std::string(to_string(type)));
  }
  if (!valid_symbol(symbol)) return FetchResult::failure(FetchError::kNotFound, "invalid symbol");
  if (!symbols_.empty() && symbols_.find(symbol) == symbols_.end()) {
    return FetchResult::failure(FetchError::kNotFound, info_.name + " has no symbol " + std::string(symbol));
  }
  auto d = std::make_shared<DataPoint>();
  d->symbol = std::string(symbol);
  d->type = type;
  d->source = info_.name;
  d->as_of_ns = now_ns;
  switch (type) {
    case DataType::kTick: {
      double p = feed_->price_at(symbol, now_ns);
      d->payload = nlohmann::json{{"ts_ns", now_ns}, {"price", p}}.dump();
      break;
    }
    case DataType::kQuote: {
      auto q = feed_->quote_at(symbol, now_ns);
      d->as_of_ns = q.ts_ns;
      d->payload = quote_json(q);
      break;
    }
    case DataType::kTrade: {
      SyntheticTrade t;
      if (!feed_->last_trade(symbol, now_ns, t)) {
        return FetchResult::failure(FetchError::kNotFound, "no trade yet for " + std::string(symbol));
      }
      d->as_of_ns = t.ts_ns;
      d->payload = trade_json(t);
      break;
    }
    case DataType::kBar: {
      auto b = feed_->bar_at(symbol, now_ns);
      d->as_of_ns = b.start_ns;
      d->payload = bar_json(b);
      break;
    }
    case DataType::kLevel2: {
      auto b = feed_->book_at(symbol, now_ns);
      d->as_of_ns = b.ts_ns;
      d->payload = book_json(b);
      break;
    }
    case DataType::kFundamental: {  // synthetic_fundamentals.h: market cap at today's price
      const double start = feed_->price_at(symbol, feed_->config().start_ns);
      d->payload = fundamental_json(synthetic_fundamental(feed_->config().seed, symbol, start),
                                    feed_->price_at(symbol, now_ns), now_ns);
      break;
    }
    default:
      return FetchResult::failure(FetchError::kUnsupported, "unsupported type");
  }
  return FetchResult::success(std::move(d));
}

}  // namespace nautilus::md
