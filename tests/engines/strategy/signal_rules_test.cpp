// Each built-in kind's signal against a plain re-implementation written here,
// on seeded feature sequences.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "engines/strategy/signal_rules.h"

using namespace nautilus;
using namespace nautilus::strategy;

namespace {

// A random walk of closes with indicator fields that are random but
// consistent (lower < middle < upper), some null at the start.
std::vector<BarFeatures> seeded_bars(std::uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.8);
  std::uniform_real_distribution<double> width(0.5, 3.0), rsi(0.0, 100.0), off(-2.0, 2.0);
  std::vector<BarFeatures> out;
  double close = 100.0, middle = 100.0;
  for (int i = 0; i < n; ++i) {
    close = std::max(1.0, close + step(rng));
    middle = 0.9 * middle + 0.1 * close;
    BarFeatures b;
    b.symbol = "AAPL";
    b.interval = "1m";
    b.bar_index = i;
    b.close = close;
    if (i >= 5) {
      const double w = width(rng);
      b.bollinger_middle = middle;
      b.bollinger_upper = middle + w;
      b.bollinger_lower = middle - w;
      b.sma = middle + off(rng);
      b.ema = middle + off(rng);
    }
    if (i >= 3) b.rsi = rsi(rng);
    out.push_back(b);
  }
  return out;
}

std::vector<std::optional<Direction>> run(const RuleSpec& spec, const std::vector<BarFeatures>& bars) {
  auto rule = spec.make();
  std::vector<std::optional<Direction>> out;
  for (const auto& b : bars) out.push_back(rule->update(b));
  return out;
}

// Reference SMA: the mean of the last `n` closes up to t, summed afresh.
std::optional<double> ref_sma(const std::vector<BarFeatures>& bars, std::size_t t, int n) {
  if (t + 1 < static_cast<std::size_t>(n)) return std::nullopt;
  double sum = 0;
  for (std::size_t k = t + 1 - static_cast<std::size_t>(n); k <= t; ++k) sum += bars[k].close;
  return sum / n;
}

// Reference EMA: seeded by the mean of the first n closes, then
// e ← x·α + e·(1 − α), α = 2/(n+1), recomputed from bar 0 each time.
std::optional<double> ref_ema(const std::vector<BarFeatures>& bars, std::size_t t, int n) {
  if (t + 1 < static_cast<std::size_t>(n)) return std::nullopt;
  double e = 0;
  for (int k = 0; k < n; ++k) e += bars[static_cast<std::size_t>(k)].close;
  e /= n;
  const double a = 2.0 / (n + 1.0);
  for (std::size_t k = static_cast<std::size_t>(n); k <= t; ++k) e = bars[k].close * a + e * (1 - a);
  return e;
}

}  // namespace

TEST_CASE("ma_crossover follows the sign of fast − slow, computed or from the payload", "[strategy][rules]") {
  struct Case {
    const char* name;
    Average average;
    int fast, slow;
    const char* fast_field;
    const char* slow_field;
  };
  const Case cases[] = {
      {"sma 5/20", Average::kSma, 5, 20, "", ""},
      {"sma 1/2", Average::kSma, 1, 2, "", ""},
      {"ema 8/21", Average::kEma, 8, 21, "", ""},
      {"payload ema over sma", Average::kSma, 10, 30, "ema", "sma"},
      {"payload sma over bollinger_middle", Average::kSma, 10, 30, "sma", "bollinger_middle"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      for (std::uint64_t seed : {1u, 2u, 3u}) {
        const auto bars = seeded_bars(seed, 600);
        RuleSpec spec;
        spec.kind = "ma_crossover";
        spec.ma = {c.average, c.fast, c.slow, c.fast_field, c.slow_field};
        const auto got = run(spec, bars);
        Direction held = Direction::kFlat;
        int longs = 0, shorts = 0;
        for (std::size_t t = 0; t < bars.size(); ++t) {
          std::optional<double> f, s;
          const std::string ff = c.fast_field, sf = c.slow_field;
          if (!ff.empty()) {
            f = ff == "ema" ? bars[t].ema : bars[t].sma;
            s = sf == "sma" ? bars[t].sma : bars[t].bollinger_middle;
          } else if (c.average == Average::kSma) {
            f = ref_sma(bars, t, c.fast), s = ref_sma(bars, t, c.slow);
          } else {
            f = ref_ema(bars, t, c.fast), s = ref_ema(bars, t, c.slow);
          }
          INFO("seed " << seed << " bar " << t);
          if (!f || !s) {
            CHECK_FALSE(got[t].has_value());
            continue;
          }
          if (*f > *s) held = Direction::kLong;
          if (*f < *s) held = Direction::kShort;
          REQUIRE(got[t].has_value());
          CHECK(*got[t] == held);
          (held == Direction::kLong ? longs : shorts)++;
        }
        // The walk crosses: both sides are exercised.
        CHECK(longs > 10);
        CHECK(shorts > 10);
      }
    }
  }
}

TEST_CASE("mean_reversion enters beyond the bands or RSI thresholds and exits at the middle", "[strategy][rules]") {
  struct Case {
    const char* name;
    ReversionMode mode;
    double oversold, overbought, exit_rsi;
  };
  const Case cases[] = {
      {"bollinger", ReversionMode::kBollinger, 30, 70, 50},
      {"rsi 30/70", ReversionMode::kRsi, 30, 70, 50},
      {"rsi 20/80 exit 40", ReversionMode::kRsi, 20, 80, 40},
      {"both", ReversionMode::kBoth, 40, 60, 50},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      for (std::uint64_t seed : {7u, 8u}) {
        const auto bars = seeded_bars(seed, 2000);
        RuleSpec spec;
        spec.kind = "mean_reversion";
        spec.reversion = {c.mode, c.oversold, c.overbought, c.exit_rsi};
        const auto got = run(spec, bars);
        const bool bands = c.mode != ReversionMode::kRsi, rsi = c.mode != ReversionMode::kBollinger;
        Direction held = Direction::kFlat;
        int entries = 0, exits = 0;
        for (std::size_t t = 0; t < bars.size(); ++t) {
          const BarFeatures& b = bars[t];
          INFO("seed " << seed << " bar " << t);
          if ((bands && !b.bollinger_middle) || (rsi && !b.rsi)) {
            CHECK_FALSE(got[t].has_value());
            continue;
          }
          // Plain rules: each condition written out for the three modes.
          bool long_in, short_in, long_out, short_out;
          if (c.mode == ReversionMode::kBollinger) {
            long_in = b.close < *b.bollinger_lower;
            short_in = b.close > *b.bollinger_upper;
            long_out = b.close >= *b.bollinger_middle;
            short_out = b.close <= *b.bollinger_middle;
          } else if (c.mode == ReversionMode::kRsi) {
            long_in = *b.rsi < c.oversold;
            short_in = *b.rsi > c.overbought;
            long_out = *b.rsi >= c.exit_rsi;
            short_out = *b.rsi <= c.exit_rsi;
          } else {
            long_in = b.close < *b.bollinger_lower && *b.rsi < c.oversold;
            short_in = b.close > *b.bollinger_upper && *b.rsi > c.overbought;
            long_out = b.close >= *b.bollinger_middle || *b.rsi >= c.exit_rsi;
            short_out = b.close <= *b.bollinger_middle || *b.rsi <= c.exit_rsi;
          }
          if ((held == Direction::kLong && long_out) || (held == Direction::kShort && short_out)) {
            held = Direction::kFlat;
            ++exits;
          }
          if (held == Direction::kFlat) {
            if (long_in) held = Direction::kLong, ++entries;
            else if (short_in) held = Direction::kShort, ++entries;
          }
          REQUIRE(got[t].has_value());
          CHECK(*got[t] == held);
        }
        CHECK(entries > 3);
        CHECK(exits > 3);
      }
    }
  }
}

TEST_CASE("momentum is the sign of the n-bar return beyond the threshold", "[strategy][rules]") {
  struct Case {
    int lookback;
    double threshold;
  };
  for (const Case c : {Case{1, 0.0}, Case{5, 0.0}, Case{20, 0.01}, Case{60, 0.05}}) {
    DYNAMIC_SECTION("lookback " << c.lookback << " threshold " << c.threshold) {
      const auto bars = seeded_bars(42, 1500);
      RuleSpec spec;
      spec.kind = "momentum";
      spec.momentum = {c.lookback, c.threshold};
      const auto got = run(spec, bars);
      int seen[3] = {0, 0, 0};
      for (std::size_t t = 0; t < bars.size(); ++t) {
        INFO("bar " << t);
        if (t < static_cast<std::size_t>(c.lookback)) {
          CHECK_FALSE(got[t].has_value());
          continue;
        }
        const double r = bars[t].close / bars[t - static_cast<std::size_t>(c.lookback)].close - 1.0;
        const Direction want = r > c.threshold ? Direction::kLong : r < -c.threshold ? Direction::kShort : Direction::kFlat;
        REQUIRE(got[t].has_value());
        CHECK(*got[t] == want);
        ++seen[static_cast<int>(want) + 1];
      }
      CHECK(seen[0] > 0);
      CHECK(seen[2] > 0);
      if (c.threshold > 0) CHECK(seen[1] > 0);
    }
  }
}

TEST_CASE("feature payloads: symbol and a positive close required, null indicators stay unset", "[strategy][rules]") {
  std::string error;
  auto ok = BarFeatures::from_json(
      nlohmann::json::parse(R"({"symbol":"AAPL","interval":"1m","bar_index":3,"close":101.5,"sma":null,"ema":100.1,"rsi":55})"),
      &error);
  REQUIRE(ok);
  CHECK(ok->symbol == "AAPL");
  CHECK(ok->bar_index == 3);
  CHECK(ok->close == 101.5);
  CHECK_FALSE(ok->sma);
  CHECK(*ok->ema == 100.1);
  CHECK(*ok->rsi == 55);
  const char* bad[] = {R"({"close":10})", R"({"symbol":"A","close":0})", R"({"symbol":"A","close":"x"})",
                       R"({"symbol":"","close":1})", R"([1,2])"};
  for (const char* b : bad) {
    INFO(b);
    error.clear();
    CHECK_FALSE(BarFeatures::from_json(nlohmann::json::parse(b), &error));
    CHECK_FALSE(error.empty());
  }
}
