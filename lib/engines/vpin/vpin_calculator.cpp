#include "engines/vpin/vpin_calculator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <cstdio>
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
  if (warmup_buckets < 0) errors.emplace_back("warmup_buckets must be >= 0");
  if (persistence_buckets < 1) errors.emplace_back("persistence_buckets must be >= 1");
  if (!(vpin_floor >= 0.0 && vpin_floor <= 1.0)) errors.emplace_back("vpin_floor must be in [0, 1]");
  return errors;
}

void VpinConfig::read(ConfigReader& r, VpinConfig& c) {
  // V from adv when adv is given alone: the base's bucket_volume would win.
  if (r.has("adv") && !r.has("bucket_volume")) c.bucket_volume = 0.0;
  const double bar_s = r.number("bar_seconds", static_cast<double>(c.bar_ns) / 1e9, 0.001, 86'400.0);
  c.bar_ns = static_cast<std::int64_t>(std::llround(bar_s * 1e9));
  c.bucket_volume = r.number("bucket_volume", c.bucket_volume, 0.0, 1e15);
  c.adv = r.number("adv", c.adv, 0.0, 1e15);
  c.buckets_per_day = static_cast<int>(r.integer("buckets_per_day", c.buckets_per_day, 1, 1'000'000));
  c.window_buckets = static_cast<int>(r.integer("window_buckets", c.window_buckets, 1, 100'000));
  c.sigma_window = static_cast<int>(r.integer("sigma_window", c.sigma_window, 0, 1'000'000));
  c.min_sigma_samples = static_cast<int>(r.integer("min_sigma_samples", c.min_sigma_samples, 2, 1'000'000));
  c.cdf_window = static_cast<int>(r.integer("cdf_window", c.cdf_window, 1, 1'000'000));
  c.min_cdf_samples = static_cast<int>(r.integer("min_cdf_samples", c.min_cdf_samples, 1, 1'000'000));
  const bool threshold_given = r.has("cdf_threshold") && !r.has("rearm_cdf");
  c.cdf_threshold = r.number("cdf_threshold", c.cdf_threshold, 0.0, 1.0);
  if (threshold_given) c.rearm_cdf = std::min(c.rearm_cdf, c.cdf_threshold);
  c.rearm_cdf = r.number("rearm_cdf", c.rearm_cdf, 0.0, 1.0);
  c.warmup_buckets = static_cast<int>(r.integer("warmup_buckets", c.warmup_buckets, 0, 1'000'000'000));
  c.persistence_buckets = static_cast<int>(r.integer("persistence_buckets", c.persistence_buckets, 1, 100'000));
  c.vpin_floor = r.number("vpin_floor", c.vpin_floor, 0.0, 1.0);
  // Relations between keys, each reported at the key that breaks it.
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  if (!(c.effective_bucket_volume() > 0.0)) {
    r.problem("bucket_volume", "set bucket_volume > 0, or adv > 0 for V = adv / buckets_per_day");
  }
  if (c.sigma_window > 0 && c.min_sigma_samples > c.sigma_window) {
    r.problem("min_sigma_samples", "must be at most sigma_window (" + std::to_string(c.sigma_window) + ") (got " +
                                       std::to_string(c.min_sigma_samples) + ")");
  }
  if (c.min_cdf_samples > c.cdf_window) {
    r.problem("min_cdf_samples", "must be at most cdf_window (" + std::to_string(c.cdf_window) + ") (got " +
                                     std::to_string(c.min_cdf_samples) + ")");
  }
  if (!(c.cdf_threshold > 0.0)) r.problem("cdf_threshold", "must be above 0 (a threshold of 0 warns on every bucket)");
  if (!(c.rearm_cdf > 0.0 && c.rearm_cdf <= c.cdf_threshold)) {
    r.problem("rearm_cdf", "must be above 0 and at most cdf_threshold (" + num(c.cdf_threshold) + ") (got " +
                               num(c.rearm_cdf) + ")");
  }
}

VpinConfig VpinConfig::from_json(const nlohmann::json& j, const VpinConfig& base) {
  VpinConfig c = base;
  ConfigReader r(j);
  read(r, c);
  r.finish();
  r.throw_if_problems();
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
          {"rearm_cdf", rearm_cdf},
          {"warmup_buckets", warmup_buckets},
          {"persistence_buckets", persistence_buckets},
          {"vpin_floor", vpin_floor}};
}

namespace {
const VpinConfig& checked(const VpinConfig& c) {
  auto errors = c.validate();
  if (!errors.empty()) throw std::invalid_argument("invalid vpin config: " + errors.front());
  return c;
}
}  // namespace

VpinCalculator::VpinCalculator(VpinConfig config)
    : config_(checked(config)),
      bucket_volume_(config.effective_bucket_volume()),
      price_changes_(static_cast<std::size_t>(config.sigma_window)),
      vpin_history_(static_cast<std::size_t>(config.cdf_window)) {}

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

// Running moments (rolling_window.h): O(1) a bar, where a pass over the
// window's ΔPs (or, with sigma_window = 0, over every bar so far) grew with it.
std::optional<double> VpinCalculator::sigma() const {
  if (price_changes_.count() < static_cast<std::size_t>(config_.min_sigma_samples)) return std::nullopt;
  return std::sqrt(*price_changes_.sample_variance());
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
  if (dp) price_changes_.push(*dp);
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
      b.cdf = static_cast<double>(vpin_history_.count_at_most(v)) / static_cast<double>(vpin_history_.size());
      const bool hot = *b.cdf >= config_.cdf_threshold && v >= config_.vpin_floor;
      hot_run_ = hot ? hot_run_ + 1 : 0;
      const bool warmed_up = b.index >= static_cast<std::uint64_t>(config_.warmup_buckets);
      if (armed_ && hot && hot_run_ >= config_.persistence_buckets && warmed_up) {
        b.warning = true;
        armed_ = false;
      } else if (!armed_ && *b.cdf < config_.rearm_cdf) {
        armed_ = true;
      }
    } else {
      hot_run_ = 0;
    }
    b.hot_run = hot_run_;
    vpin_history_.push(v);
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
  s.hot_run = hot_run_;
  return s;
}

}  // namespace nautilus::vpin
