#include "engines/risk/risk_state.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nautilus::risk {

std::optional<double> Portfolio::price(const std::string& symbol) const {
  auto it = prices_.find(symbol);
  if (it == prices_.end()) return std::nullopt;
  return it->second;
}

double Portfolio::mark(const std::string& symbol) const {
  if (auto p = price(symbol)) return *p;
  auto it = positions_.find(symbol);
  return it == positions_.end() ? 0.0 : it->second.avg_price;
}

void Portfolio::apply_fill(const std::string& symbol, double quantity, double fill_price) {
  Position& pos = positions_[symbol];
  const double q = pos.quantity;
  if (q == 0.0 || (q > 0.0) == (quantity > 0.0)) {
    // Opening or adding: the average cost moves toward the fill price.
    const double total = q + quantity;
    pos.avg_price = (q * pos.avg_price + quantity * fill_price) / total;
    pos.quantity = total;
    return;
  }
  // Reducing, closing or flipping: the closed part realizes its P&L.
  const double closed = std::min(std::fabs(quantity), std::fabs(q));
  realized_ += closed * (fill_price - pos.avg_price) * (q > 0.0 ? 1.0 : -1.0);
  const double remaining = q + quantity;
  if (std::fabs(quantity) > std::fabs(q)) {
    pos.avg_price = fill_price;  // flipped: the new side opened at the fill
  } else if (remaining == 0.0) {
    pos.avg_price = 0.0;
  }
  pos.quantity = remaining;
}

void Portfolio::set_position(const std::string& symbol, double quantity, std::optional<double> avg_price) {
  Position& pos = positions_[symbol];
  pos.quantity = quantity;
  pos.avg_price = avg_price ? *avg_price : mark(symbol);
}

double Portfolio::quantity(const std::string& symbol) const {
  auto it = positions_.find(symbol);
  return it == positions_.end() ? 0.0 : it->second.quantity;
}

double Portfolio::notional(const std::string& symbol) const { return quantity(symbol) * mark(symbol); }

double Portfolio::gross_exposure() const {
  double g = 0.0;
  for (const auto& [s, p] : positions_) g += std::fabs(p.quantity * mark(s));
  return g;
}

double Portfolio::net_exposure() const {
  double n = 0.0;
  for (const auto& [s, p] : positions_) n += p.quantity * mark(s);
  return n;
}

double Portfolio::unrealized_pnl() const {
  double u = 0.0;
  for (const auto& [s, p] : positions_) {
    if (p.quantity != 0.0) u += p.quantity * (mark(s) - p.avg_price);
  }
  return u;
}

bool ReturnHistory::maybe_sample(const std::map<std::string, double>& prices, std::int64_t now_ns) {
  if (next_sample_ns_ == 0) {
    // The first call anchors the prices; returns start at the next sample.
    last_prices_ = prices;
    next_sample_ns_ = now_ns + sample_ns_;
    return false;
  }
  if (now_ns < next_sample_ns_) return false;
  constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  ++samples_;
  for (auto& [s, column] : columns_) column.push_back(kNone);
  for (const auto& [s, p] : prices) {
    auto it = last_prices_.find(s);
    if (it == last_prices_.end() || !(it->second > 0.0)) continue;
    auto column = columns_.find(s);
    if (column == columns_.end()) column = columns_.emplace(s, std::deque<double>(samples_, kNone)).first;
    column->second.back() = p / it->second - 1.0;
  }
  last_prices_ = prices;
  stdev_memo_.clear();
  if (samples_ > window_) {
    --samples_;
    for (auto& [s, column] : columns_) column.pop_front();
  }
  // Aligned to the grid; a gap longer than one interval yields one (longer) return.
  next_sample_ns_ += ((now_ns - next_sample_ns_) / sample_ns_ + 1) * sample_ns_;
  return true;
}

std::optional<double> ReturnHistory::var(const std::map<std::string, double>& notionals, double confidence,
                                         std::size_t min_samples) const {
  if (samples_ < min_samples || samples_ == 0) return std::nullopt;
  std::vector<double>& pnl = scratch_;
  pnl.assign(samples_, 0.0);
  for (const auto& [s, n] : notionals) {
    auto column = columns_.find(s);
    if (column == columns_.end()) continue;
    for (std::size_t t = 0; t < samples_; ++t) {
      const double r = column->second[t];
      if (!std::isnan(r)) pnl[t] += n * r;
    }
  }
  const double tail = static_cast<double>(pnl.size()) * (1.0 - confidence);
  auto k = static_cast<std::size_t>(std::max(0.0, std::ceil(tail - 1e-9) - 1.0));
  k = std::min(k, pnl.size() - 1);
  // The k-th smallest scenario P&L; the order of the others does not matter.
  std::nth_element(pnl.begin(), pnl.begin() + static_cast<std::ptrdiff_t>(k), pnl.end());
  return std::max(0.0, -pnl[k]);
}

std::optional<double> ReturnHistory::stdev(const std::string& symbol, std::size_t n, std::size_t min_samples) const {
  auto memo = stdev_memo_.find(symbol);
  if (memo == stdev_memo_.end()) memo = stdev_memo_.emplace(symbol, std::vector<StdevMemo>{}).first;
  for (const StdevMemo& m : memo->second) {
    if (m.n == n && m.min_samples == min_samples) return m.value;
  }
  std::optional<double> v = stdev_uncached(symbol, n, min_samples);
  memo->second.push_back({n, min_samples, v});
  return v;
}

std::optional<double> ReturnHistory::stdev_uncached(const std::string& symbol, std::size_t n,
                                                    std::size_t min_samples) const {
  std::vector<double>& r = scratch_;
  r.clear();
  if (auto column = columns_.find(symbol); column != columns_.end()) {
    for (auto it = column->second.rbegin(); it != column->second.rend() && r.size() < n; ++it) {
      if (!std::isnan(*it)) r.push_back(*it);
    }
  }
  if (r.size() < std::max<std::size_t>(2, min_samples)) return std::nullopt;
  double mean = 0.0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());
  double ss = 0.0;
  for (double x : r) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(r.size() - 1));
}

}  // namespace nautilus::risk
