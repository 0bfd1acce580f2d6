#include "engines/strategy/signal_rules.h"
#include "engines/payload_fields.h"

#include <cmath>
#include <stdexcept>

namespace nautilus::strategy {

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::kShort: return "short";
    case Direction::kFlat: return "flat";
    case Direction::kLong: return "long";
  }
  return "flat";
}

namespace {

using payload::finite_number;

std::optional<double> field(const BarFeatures& b, const std::string& name) {
  if (name == "sma") return b.sma;
  if (name == "ema") return b.ema;
  if (name == "bollinger_middle") return b.bollinger_middle;
  return std::nullopt;
}

class MaCrossover final : public SignalRule {
 public:
  explicit MaCrossover(const MaCrossoverParams& p)
      : p_(p), fast_sma_(p.fast), slow_sma_(p.slow), fast_ema_(p.fast), slow_ema_(p.slow) {}

  std::optional<Direction> update(const BarFeatures& bar) override {
    std::optional<double> fast, slow;
    if (!p_.fast_field.empty()) {
      fast = field(bar, p_.fast_field);
      slow = field(bar, p_.slow_field);
    } else if (p_.average == Average::kSma) {
      fast_sma_.add(bar.close);
      slow_sma_.add(bar.close);
      if (fast_sma_.ready() && slow_sma_.ready()) fast = fast_sma_.value(), slow = slow_sma_.value();
    } else {
      fast_ema_.add(bar.close);
      slow_ema_.add(bar.close);
      if (fast_ema_.ready() && slow_ema_.ready()) fast = fast_ema_.value(), slow = slow_ema_.value();
    }
    if (!fast || !slow) return std::nullopt;
    // Equal averages keep the side already taken (no flapping through flat).
    if (*fast > *slow) last_ = Direction::kLong;
    else if (*fast < *slow) last_ = Direction::kShort;
    return last_;
  }

 private:
  MaCrossoverParams p_;
  RollingMean fast_sma_, slow_sma_;
  ExponentialMean fast_ema_, slow_ema_;
  Direction last_ = Direction::kFlat;
};

class MeanReversion final : public SignalRule {
 public:
  explicit MeanReversion(const MeanReversionParams& p) : p_(p) {}

  std::optional<Direction> update(const BarFeatures& b) override {
    const bool need_bands = p_.mode != ReversionMode::kRsi;
    const bool need_rsi = p_.mode != ReversionMode::kBollinger;
    if (need_bands && (!b.bollinger_upper || !b.bollinger_lower || !b.bollinger_middle)) return std::nullopt;
    if (need_rsi && !b.rsi) return std::nullopt;

    // Each test as (active, result); an inactive test does not vote.
    auto vote_all = [&](bool band_ok, bool rsi_ok) {
      if (p_.mode == ReversionMode::kBollinger) return band_ok;
      if (p_.mode == ReversionMode::kRsi) return rsi_ok;
      return band_ok && rsi_ok;
    };
    auto vote_any = [&](bool band_ok, bool rsi_ok) {
      if (p_.mode == ReversionMode::kBollinger) return band_ok;
      if (p_.mode == ReversionMode::kRsi) return rsi_ok;
      return band_ok || rsi_ok;
    };
    const double rsi = b.rsi.value_or(50.0);
    switch (held_) {
      case Direction::kLong:
        if (vote_any(need_bands && b.close >= *b.bollinger_middle, need_rsi && rsi >= p_.exit_rsi)) held_ = Direction::kFlat;
        break;
      case Direction::kShort:
        if (vote_any(need_bands && b.close <= *b.bollinger_middle, need_rsi && rsi <= p_.exit_rsi)) held_ = Direction::kFlat;
        break;
      case Direction::kFlat:
        break;
    }
    // Entry is checked after an exit, so a bar that leaves one band and
    // pierces the other turns the side at once.
    if (held_ == Direction::kFlat) {
      if (vote_all(need_bands && b.close < *b.bollinger_lower, need_rsi && rsi < p_.oversold)) held_ = Direction::kLong;
      else if (vote_all(need_bands && b.close > *b.bollinger_upper, need_rsi && rsi > p_.overbought)) held_ = Direction::kShort;
    }
    return held_;
  }

 private:
  MeanReversionParams p_;
  Direction held_ = Direction::kFlat;
};

class Momentum final : public SignalRule {
 public:
  explicit Momentum(const MomentumParams& p) : p_(p), closes_(static_cast<std::size_t>(p.lookback) + 1) {}

  std::optional<Direction> update(const BarFeatures& b) override {
    closes_[next_] = b.close;
    next_ = (next_ + 1) % closes_.size();
    if (count_ < closes_.size()) ++count_;
    if (count_ < closes_.size()) return std::nullopt;
    const double old = closes_[next_];  // the oldest of the n+1: close_{t−n}
    const double r = b.close / old - 1.0;
    if (r > p_.threshold) return Direction::kLong;
    if (r < -p_.threshold) return Direction::kShort;
    return Direction::kFlat;
  }

 private:
  MomentumParams p_;
  std::vector<double> closes_;
  std::size_t next_ = 0, count_ = 0;
};

}  // namespace

std::optional<BarFeatures> BarFeatures::from_json(const nlohmann::json& j, std::string* error) {
  auto fail = [error](const char* why) -> std::optional<BarFeatures> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (!j.is_object()) return fail("payload is not an object");
  BarFeatures b;
  auto sym = j.find("symbol");
  if (sym == j.end() || !sym->is_string() || sym->get_ref<const std::string&>().empty()) return fail("no symbol");
  b.symbol = sym->get<std::string>();
  auto close = finite_number(j, "close");
  if (!close || *close <= 0) return fail("no positive close");
  b.close = *close;
  if (auto it = j.find("interval"); it != j.end() && it->is_string()) b.interval = it->get<std::string>();
  if (auto it = j.find("bar_index"); it != j.end() && it->is_number_integer()) b.bar_index = it->get<std::int64_t>();
  if (auto it = j.find("close_ns"); it != j.end() && it->is_number_integer()) b.close_ns = it->get<std::int64_t>();
  b.sma = finite_number(j, "sma");
  b.ema = finite_number(j, "ema");
  b.rsi = finite_number(j, "rsi");
  b.bollinger_upper = finite_number(j, "bollinger_upper");
  b.bollinger_middle = finite_number(j, "bollinger_middle");
  b.bollinger_lower = finite_number(j, "bollinger_lower");
  return b;
}

RuleSpec RuleSpec::read(const std::string& kind, ConfigReader& p) {
  RuleSpec s;
  s.kind = kind;
  if (kind == "ma_crossover") {
    s.ma.average = p.one_of("average", "sma", {"sma", "ema"}) == "ema" ? Average::kEma : Average::kSma;
    s.ma.fast = static_cast<int>(p.integer("fast", 10, 1, 100'000));
    s.ma.slow = static_cast<int>(p.integer("slow", 30, 2, 100'000));
    if (p.has("fast_field") || p.has("slow_field")) {
      s.ma.fast_field = p.one_of("fast_field", "ema", {"sma", "ema", "bollinger_middle"});
      s.ma.slow_field = p.one_of("slow_field", "sma", {"sma", "ema", "bollinger_middle"});
      if (s.ma.fast_field == s.ma.slow_field) p.problem("slow_field", "must differ from fast_field (got '" + s.ma.slow_field + "')");
    } else if (s.ma.fast >= s.ma.slow) {
      p.problem("fast", "must be below slow (got " + std::to_string(s.ma.fast) + " and " + std::to_string(s.ma.slow) + ")");
    }
  } else if (kind == "mean_reversion") {
    const std::string mode = p.one_of("mode", "bollinger", {"bollinger", "rsi", "both"});
    s.reversion.mode = mode == "rsi" ? ReversionMode::kRsi : mode == "both" ? ReversionMode::kBoth : ReversionMode::kBollinger;
    s.reversion.oversold = p.number("oversold", 30.0, 0.0, 100.0);
    s.reversion.overbought = p.number("overbought", 70.0, 0.0, 100.0);
    s.reversion.exit_rsi = p.number("exit_rsi", 50.0, 0.0, 100.0);
    if (s.reversion.oversold >= s.reversion.overbought) p.problem("oversold", "must be below overbought");
    else if (s.reversion.exit_rsi < s.reversion.oversold || s.reversion.exit_rsi > s.reversion.overbought)
      p.problem("exit_rsi", "must be between oversold and overbought");
  } else if (kind == "momentum") {
    s.momentum.lookback = static_cast<int>(p.integer("lookback", 20, 1, 100'000));
    s.momentum.threshold = p.number("threshold", 0.0, 0.0, 10.0);
  }
  return s;
}

std::unique_ptr<SignalRule> RuleSpec::make() const {
  if (kind == "ma_crossover") return std::make_unique<MaCrossover>(ma);
  if (kind == "mean_reversion") return std::make_unique<MeanReversion>(reversion);
  if (kind == "momentum") return std::make_unique<Momentum>(momentum);
  throw std::invalid_argument("unknown strategy kind '" + kind + "'");
}

RollingMean::RollingMean(int period) : values_(static_cast<std::size_t>(period < 1 ? 1 : period), 0.0) {}

void RollingMean::add(double x) {
  sum_ += x - values_[next_];
  values_[next_] = x;
  next_ = (next_ + 1) % values_.size();
  if (count_ < values_.size()) ++count_;
  // Re-add from scratch once a window so rounding in the running sum cannot drift.
  if (next_ == 0) {
    sum_ = 0.0;
    for (double v : values_) sum_ += v;
  }
}

ExponentialMean::ExponentialMean(int period)
    : period_(period < 1 ? 1 : period), alpha_(2.0 / (static_cast<double>(period_) + 1.0)) {}

void ExponentialMean::add(double x) {
  if (seen_ < period_) {
    value_ += x;  // the seed sum until the first `period` values are in
    if (++seen_ == period_) value_ /= static_cast<double>(period_);
    return;
  }
  value_ += alpha_ * (x - value_);
}

}  // namespace nautilus::strategy
