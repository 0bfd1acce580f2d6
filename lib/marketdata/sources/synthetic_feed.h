// The synthetic market: per symbol, a geometric random walk with configurable
// volatility and Poisson jumps, plus scripted crash episodes (a plunge of X%
// over Y seconds with volume x Z). Everything is a pure function of the seed,
// the symbol and the time: two feeds with one config produce identical ticks,
// trades, quotes, bars and books, in any query order.
//
// The path is generated in fixed steps (`step_ns`) from `start_ns`; each
// step draws from its own counter-based random stream, so the trades of a step
// are recomputed on demand instead of stored.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::md {

struct CrashEpisode {
  std::string symbol;              // empty: every symbol
  std::int64_t start_ns = 0;       // on the feed's clock
  std::int64_t duration_ns = 0;    // the plunge happens linearly (in log price) over this
  double plunge = 0.10;            // fraction, 0.10 = -10%
  double volume_multiplier = 5.0;  // trade count x this during the episode
  double volatility_multiplier = 3.0;
};

struct SyntheticConfig {
  std::uint64_t seed = 42;
  std::int64_t start_ns = 0;           // step 0 begins here
  std::int64_t step_ns = 100'000'000;  // 100 ms
  double start_price = 0;              // 0: derived from the symbol (20..520)
  double volatility = 0.30;            // annualised, over 252 x 6.5 h
  double drift = 0.0;                  // annualised
  double jumps_per_hour = 0.5;         // Poisson intensity
  double jump_mean = 0.0;              // of the log jump
  double jump_stddev = 0.01;
  double trades_per_second = 5.0;
  double mean_trade_size = 100.0;
  double spread_bps = 2.0;
  double tick_size = 0.01;
  std::size_t max_history_steps = 72'000;  // 2 h at 100 ms; older queries clamp
  std::vector<CrashEpisode> crashes;
};

struct SyntheticTrade {
  std::int64_t ts_ns = 0;
  double price = 0;
  double size = 0;
  char side = 'B';          // aggressor: 'B' buy, 'S' sell
  std::uint64_t seq = 0;    // unique per symbol, increasing in time
  bool in_crash = false;
};

struct SyntheticQuote {
  std::int64_t ts_ns = 0;
  double bid = 0, ask = 0, bid_size = 0, ask_size = 0;
};

struct SyntheticBar {
  std::int64_t start_ns = 0;
  std::int64_t interval_ns = 0;
  double open = 0, high = 0, low = 0, close = 0, volume = 0;
  std::uint64_t trades = 0;
};

struct BookLevel {
  double price = 0, size = 0;
};
struct SyntheticBook {
  std::int64_t ts_ns = 0;
  std::vector<BookLevel> bids, asks;  // best first
};

// The feed's deterministic mixers (splitmix64, FNV-1a), the same on every
// build and platform; synthetic_fundamentals draws from them too.
std::uint64_t splitmix(std::uint64_t x);
std::uint64_t hash_symbol(std::string_view s);

class SyntheticFeed {
 public:
  explicit SyntheticFeed(SyntheticConfig config);

  const SyntheticConfig& config() const { return config_; }
  // Adds a crash episode. False when the path already covers its start (the
  // past cannot be rewritten: it would break determinism of earlier answers).
  bool add_crash(CrashEpisode episode);

  double price_at(std::string_view symbol, std::int64_t t_ns);  // mid price
  SyntheticQuote quote_at(std::string_view symbol, std::int64_t t_ns);
  // Trades with from_ns <= ts < to_ns, in time order.
  std::vector<SyntheticTrade> trades_between(std::string_view symbol, std::int64_t from_ns, std::int64_t to_ns);
  // The last trade at or before t_ns (looks back at most 10,000 steps).
  bool last_trade(std::string_view symbol, std::int64_t t_ns, SyntheticTrade& out);
  // The bar of `interval_ns` containing t_ns, built from the path up to t_ns.
  SyntheticBar bar_at(std::string_view symbol, std::int64_t t_ns, std::int64_t interval_ns = 60'000'000'000);
  SyntheticBook book_at(std::string_view symbol, std::int64_t t_ns, int depth = 5);
  bool in_crash(std::string_view symbol, std::int64_t t_ns) const;

 private:
  struct Path {
    std::uint64_t seed = 0;
    double log_start = 0;
    std::int64_t first_step = 0;    // index of log_close.front()
    std::deque<double> log_close;   // close of each generated step
  };

  Path& path(std::string_view symbol);
  std::int64_t step_of(std::int64_t t_ns) const;
  double log_close(Path& p, std::string_view symbol, std::int64_t step);  // extends the path
  double log_open(Path& p, std::string_view symbol, std::int64_t step);
  void step_trades(Path& p, std::string_view symbol, std::int64_t step, std::vector<SyntheticTrade>& out);
  double crash_log_move(std::string_view symbol, std::int64_t step) const;
  double volume_mult(std::string_view symbol, std::int64_t step) const;
  double vol_mult(std::string_view symbol, std::int64_t step) const;
  double crash_multiplier(std::string_view symbol, std::int64_t step, double CrashEpisode::*field) const;
  double round_tick(double price) const;

  SyntheticConfig config_;
  std::mutex mu_;
  std::map<std::string, Path, std::less<>> paths_;
};

}  // namespace nautilus::md
