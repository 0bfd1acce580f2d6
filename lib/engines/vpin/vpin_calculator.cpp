#include "engines/vpin/vpin_calculator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace nautilus::vpin {

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double VpinConfig::effective_bucket_volume() const {
  if (bucket_volume > 0.0) return bucket_volume;
  if (adv > 0.0 && buckets_per_day > 0) return adv / buckets_per_day;
  return 0.0;
}

std::vector<std::string> VpinConfig::validate() const {
  std::vector<std::string> errors;
  if (bar_ns <= 0) errors.emplace_back("bar_seconds must be > 0");
  if (!std::isfinite(bucket_volume) || bucket_volume < 0.0) errors.emplace_back("bucket_volume must be >= 0");
  if (!std::isfinite(adv) || adv < 0.0) errors.emplace_back("adv must be >= 0");
  if (buckets_per_day <= 0) errors.emplace_back("buckets_per_day must be > 0");
  if (!(effective_bucket_volume() > 0.0)) errors.emplace_back("set bucket_volume > 0 or adv > 0 (V = adv / buckets_per_day)");
  if (window_buckets <= 0) errors.emplace_back("window_buckets must be > 0");
  if (sigma_window < 0) errors.emplace_back("sigma_window must be >= 0 (0 = all past bars)");
  if (min_sigma_samples < 2) errors.emplace_back("min_sigma_samples must be >= 2 (a sample standard deviation)");
  if (sigma_window > 0 && min_sigma_samples > sigma_window) errors.emplace_back("min_sigma_samples must be <= sigma_window");
  if (cdf_window <= 0) errors.emplace_back("cdf_window must be > 0");
  if (min_cdf_samples <= 0 || min_cdf_samples > cdf_window) errors.emplace_back("min_cdf_samples must be in [1, cdf_window]");
  if (!(cdf_threshold > 0.0 && cdf_threshold <= 1.0)) errors.emplace_back("cdf_threshold must be in (0, 1]");
  if (!(rearm_cdf > 0.0 && rearm_cdf <= cdf_threshold)) errors.emplace_back("rearm_cdf must be in (0, cdf_threshold]");
  return errors;
}

namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, std::vector<std::string>& errors) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if (!it->is_number()) {
    errors.push_back(std::string(key) + " must be a number");
    return;
  }
  if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer() && !it->is_number_unsigned()) {
      errors.push_back(std::string(key) + " must be an integer");
      return;
    }
  }
  out = it->get<T>();
}

}  // namespace

VpinConfig VpinConfig::from_json(const nlohmann::json& j, const VpinConfig& base) {
  VpinConfig c = base;
  std::vector<std::string> errors;
  if (!j.is_null() && !j.is_object()) throw std::invalid_argument("vpin config must be an object");
  if (j.is_object()) {
    if (auto it = j.find("bar_seconds"); it != j.end()) {
      if (!it->is_number() || !(it->get<double>() > 0.0)) {
        errors.emplace_back("bar_seconds must be a number > 0");
      } else {
        c.bar_ns = static_cast<std::int64_t>(std::llround(it->get<double>() * 1e9));
      }
    }
    read(j, "bucket_volume", c.bucket_volume, errors);
    read(j, "adv", c.adv, errors);
    read(j, "buckets_per_day", c.buckets_per_day, errors);
    read(j, "window_buckets", c.window_buckets, errors);
    read(j, "sigma_window", c.sigma_window, errors);
    read(j, "min_sigma_samples", c.min_sigma_samples, errors);
    read(j, "cdf_window", c.cdf_window, errors);
    read(j, "min_cdf_samples", c.min_cdf_samples, errors);
    read(j, "cdf_threshold", c.cdf_threshold, errors);
    bool rearm_given = j.contains("rearm_cdf");
    read(j, "rearm_cdf", c.rearm_cdf, errors);
    // A threshold given without a re-arm level re-arms at the threshold.
    if (!rearm_given && j.contains("cdf_threshold")) c.rearm_cdf = c.cdf_threshold;
  }
  if (errors.empty()) errors = c.validate();
  if (!errors.empty()) {
    std::string msg = "invalid vpin config:";
    for (const auto& e : errors) msg += " " + e + ";";
    throw std::invalid_argument(msg);
  }
  return c;
}

VpinConfig VpinConfig::from_json(const nlohmann::json& j) { return from_json(j, VpinConfig{}); }

nlohmann::json VpinConfig::to_json() const {
  return {{"bar_seconds", static_cast<double>(bar_ns) / 1e9},
          {"bucket_volume", bucket_volume},
          {"adv", adv},
          {"buckets_per_day", buckets_per_day},
          {"effective_bucket_volume", effective_bucket_volume()},
          {"window_buckets", window_buckets},
          {"sigma_window", sigma_window},
          {"min_sigma_samples", min_sigma_samples},
          {"cdf_window", cdf_window},
          {"min_cdf_samples", min_cdf_samples},
          {"cdf_threshold", cdf_threshold},
          {"rearm_cdf", rearm_cdf}};
}

VpinCalculator::VpinCalculator(VpinConfig config) : config_(config), bucket_volume_(config.effective_bucket_volume()) {
  auto errors = config_.validate();
  if (!errors.empty()) throw std::invalid_argument("invalid vpin config: " + errors.front());
}

namespace {
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
}  // namespace

Status VpinCalculator::add_trade(std::int64_t ts_ns, double price, double size, std::vector<VpinBucket>& out) {
  if (!std::isfinite(price) || price <= 0.0) return {StatusCode::kInvalidArgument, "price must be finite and > 0"};
  if (!std::isfinite(size) || size <= 0.0) return {StatusCode::kInvalidArgument, "size must be finite and > 0"};
  const std::int64_t index = floor_div(ts_ns, config_.bar_ns);
  if (bar_open_ && index > bar_index_) close_bar(out);
  if (!bar_open_) {
    bar_open_ = true;
    // A trade of an already closed bar (out of order, or after flush) opens the
    // next bar instead: a closed bar is never reopened.
    bar_index_ = std::max(index, last_closed_index_ + 1);
    bar_volume_ = 0.0;
    if (index < bar_index_) ++late_trades_;
  } else if (index < bar_index_) {
    ++late_trades_;  // joins the open bar; a closed bar is never reopened
  }
  bar_volume_ += size;
  bar_close_ = price;
  bar_last_ns_ = std::max(bar_last_ns_, ts_ns);
  ++trades_;
  return Status::ok();
}

void VpinCalculator::flush(std::int64_t now_ns, std::vector<VpinBucket>& out) {
  if (bar_open_ && now_ns >= (bar_index_ + 1) * config_.bar_ns) close_bar(out);
}

std::optional<double> VpinCalculator::sigma() const {
  const std::size_t n = price_changes_.size();
  if (n < static_cast<std::size_t>(config_.min_sigma_samples)) return std::nullopt;
  // Two-pass sample variance: exact enough that an independent implementation
  // agrees to 1e-12, and cheap at one bar per minute.
  const double mean = std::accumulate(price_changes_.begin(), price_changes_.end(), 0.0) / static_cast<double>(n);
  double ss = 0.0;
  for (double d : price_changes_) ss += (d - mean) * (d - mean);
  return std::sqrt(ss / static_cast<double>(n - 1));
}

double VpinCalculator::buy_fraction(double dp) const {
  const auto s = sigma();
  if (!s) return 0.5;  // warm-up: neutral
  if (dp == 0.0) return 0.5;
  if (*s == 0.0) return dp > 0.0 ? 1.0 : 0.0;  // limit of Φ(±∞)
  return normal_cdf(dp / *s);
}

void VpinCalculator::close_bar(std::vector<VpinBucket>& out) {
  bar_open_ = false;
  last_closed_index_ = bar_index_;
  ++bars_;
  double fraction = 0.5;  // the symbol's first bar has no ΔP
  std::optional<double> dp;
  if (prev_close_) {
    dp = bar_close_ - *prev_close_;
    fraction = buy_fraction(*dp);  // σ from bars strictly before this one
  }
  prev_close_ = bar_close_;
  fill_buckets(bar_volume_, fraction, out);
  if (dp) {
    price_changes_.push_back(*dp);
    if (config_.sigma_window > 0 && price_changes_.size() > static_cast<std::size_t>(config_.sigma_window)) {
      price_changes_.pop_front();
    }
  }
}

void VpinCalculator::fill_buckets(double volume, double fraction, std::vector<VpinBucket>& out) {
  double left = volume;
  while (left > 0.0) {
    const double room = bucket_volume_ - fill_;
    // A remainder within rounding of the room completes the bucket rather than
    // leaving a 1e-13 sliver to open the next one.
    const bool completes = left >= room - bucket_volume_ * 1e-12;
    const double take = completes ? std::min(left, room) : left;
    buy_ += take * fraction;
    sell_ += take * (1.0 - fraction);
    fill_ += take;
    left = completes ? left - take : 0.0;
    if (completes) {
      complete_bucket(out);
      if (left <= bucket_volume_ * 1e-12) left = 0.0;
    }
  }
}

void VpinCalculator::complete_bucket(std::vector<VpinBucket>& out) {
  VpinBucket b;
  b.index = buckets_++;
  b.buy_volume = buy_;
  b.sell_volume = sell_;
  b.end_ns = bar_last_ns_;
  fill_ = buy_ = sell_ = 0.0;

  const auto n = static_cast<std::size_t>(config_.window_buckets);
  imbalances_.push_back(std::fabs(b.sell_volume - b.buy_volume));
  if (imbalances_.size() > n) imbalances_.pop_front();
  if (imbalances_.size() == n) {
    // Summed afresh each bucket (n is small) so no rounding drift accumulates.
    const double sum = std::accumulate(imbalances_.begin(), imbalances_.end(), 0.0);
    const double v = sum / (static_cast<double>(n) * bucket_volume_);
    b.vpin = v;
    if (vpin_history_.size() >= static_cast<std::size_t>(config_.min_cdf_samples)) {
      const auto below = std::count_if(vpin_history_.begin(), vpin_history_.end(), [v](double h) { return h <= v; });
      b.cdf = static_cast<double>(below) / static_cast<double>(vpin_history_.size());
      if (armed_ && *b.cdf >= config_.cdf_threshold) {
        b.warning = true;
        armed_ = false;
      } else if (!armed_ && *b.cdf < config_.rearm_cdf) {
        armed_ = true;
      }
    }
    vpin_history_.push_back(v);
    if (vpin_history_.size() > static_cast<std::size_t>(config_.cdf_window)) vpin_history_.pop_front();
    last_vpin_ = b.vpin;
    last_cdf_ = b.cdf;
  }
  out.push_back(b);
}

VpinSnapshot VpinCalculator::snapshot() const {
  VpinSnapshot s;
  s.trades = trades_;
  s.late_trades = late_trades_;
  s.bars = bars_;
  s.buckets = buckets_;
  s.bucket_volume = bucket_volume_;
  s.bucket_fill = fill_ / bucket_volume_;
  s.vpin = last_vpin_;
  s.cdf = last_cdf_;
  s.sigma = sigma();
  s.armed = armed_;
  return s;
}

}  // namespace nautilus::vpin
