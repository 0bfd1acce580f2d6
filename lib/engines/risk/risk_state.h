// The risk engine's view of the book: positions, last prices, equity and P&L
// (Portfolio), and the sampled return history behind historical VaR and the
// volatility regime (ReturnHistory). Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nautilus::risk {

struct Position {
  double quantity = 0.0;   // signed: long > 0
  double avg_price = 0.0;  // average cost of the open quantity
};

class Portfolio {
 public:
  explicit Portfolio(double initial_equity) : initial_equity_(initial_equity) {}

  void set_price(const std::string& symbol, double price) { prices_[symbol] = price; }
  std::optional<double> price(const std::string& symbol) const;
  // The price positions are marked at: the last price, else the average cost.
  double mark(const std::string& symbol) const;

  // A fill of `quantity` (signed: buy > 0) at `price`, average-cost accounting:
  // the part that closes the open position realizes (price − avg) per share.
  void apply_fill(const std::string& symbol, double quantity, double price);
  // An authoritative position (e.g. from the portfolio engine). Without an
  // average price the position is taken at the current mark (no P&L jump).
  void set_position(const std::string& symbol, double quantity, std::optional<double> avg_price);

  double quantity(const std::string& symbol) const;
  double notional(const std::string& symbol) const;  // q · mark, signed
  double gross_exposure() const;                      // Σ |q · mark|
  double net_exposure() const;                        // Σ q · mark (signed)
  double realized_pnl() const { return realized_; }
  double unrealized_pnl() const;
  double equity() const { return initial_equity_ + realized_ + unrealized_pnl(); }
  const std::map<std::string, Position>& positions() const { return positions_; }
  const std::map<std::string, double>& prices() const { return prices_; }

 private:
  double initial_equity_;
  double realized_ = 0.0;
  std::map<std::string, Position> positions_;
  std::map<std::string, double> prices_;
};

// Simple returns of every priced symbol, sampled every `sample_ns` of the
// caller's clock: sample t holds p_t / p_{t−1} − 1 per symbol that had a price
// at both samples. Bounded to `window` samples.
class ReturnHistory {
 public:
  ReturnHistory(std::int64_t sample_ns, std::size_t window) : sample_ns_(sample_ns), window_(window) {}

  // Takes a sample when one is due (at most one per call); returns whether it did.
  bool maybe_sample(const std::map<std::string, double>& prices, std::int64_t now_ns);
  std::size_t size() const { return samples_; }

  // Historical-simulation VaR at `confidence` (0.95, 0.99) of a book with the
  // given signed notionals: scenario t's P&L is Σ_s notional_s · r_{s,t}; with
  // the N scenario P&Ls sorted ascending, VaR = −P&L_(k), k = ⌈N(1 − c)⌉ − 1
  // (0-based), floored at 0. nullopt below `min_samples`.
  std::optional<double> var(const std::map<std::string, double>& notionals, double confidence,
                            std::size_t min_samples) const;
  // Sample standard deviation of the symbol's last `n` returns; nullopt with
  // fewer than `min_samples` (≥ 2) of them.
  std::optional<double> stdev(const std::string& symbol, std::size_t n, std::size_t min_samples) const;

 private:
  std::optional<double> stdev_uncached(const std::string& symbol, std::size_t n, std::size_t min_samples) const;

  std::int64_t sample_ns_;
  std::size_t window_;
  std::int64_t next_sample_ns_ = 0;
  std::map<std::string, double> last_prices_;
  // One column of returns per symbol, all as long as the history (NaN where a
  // sample has no return for the symbol): VaR and the volatilities walk a
  // column instead of looking the symbol up in every sample.
  std::size_t samples_ = 0;
  std::map<std::string, std::deque<double>, std::less<>> columns_;
  // The figures change only when a sample is taken, but they are asked for on
  // every price: memoised per symbol and window until the next sample.
  struct StdevMemo {
    std::size_t n, min_samples;
    std::optional<double> value;
  };
  mutable std::map<std::string, std::vector<StdevMemo>, std::less<>> stdev_memo_;
  mutable std::vector<double> scratch_;
};

}  // namespace nautilus::risk
