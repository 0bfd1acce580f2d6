// The streaming indicators against hand-computed values and against plain batch
// implementations written here the way TA-Lib writes them (loops over arrays,
// each window summed afresh), on seeded series of 12,000 bars.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "engines/features/feature_set.h"
#include "engines/features/indicators.h"

using namespace nautilus::features;

namespace {

using Series = std::vector<std::optional<double>>;

constexpr std::int64_t kMinute = 60'000'000'000;

// ---- the second, batch implementation ----

Series batch_sma(const std::vector<double>& x, int n) {
  Series out(x.size());
  for (std::size_t i = static_cast<std::size_t>(n - 1); i < x.size(); ++i) {
    double sum = 0.0;
    for (std::size_t j = i + 1 - static_cast<std::size_t>(n); j <= i; ++j) sum += x[j];
    out[i] = sum / n;
  }
  return out;
}

// TA_INT_EMA: seeded with the mean of x[start .. start+n-1], first value there.
Series batch_ema(const Series& x, int n, std::size_t start) {
  Series out(x.size());
  const double k = 2.0 / (n + 1);
  if (start + static_cast<std::size_t>(n) > x.size()) return out;
  double sum = 0.0;
  for (std::size_t j = start; j < start + static_cast<std::size_t>(n); ++j) sum += *x[j];
  double prev = sum / n;
  std::size_t today = start + static_cast<std::size_t>(n) - 1;
  out[today] = prev;
  for (++today; today < x.size(); ++today) {
    prev = ((*x[today] - prev) * k) + prev;
    out[today] = prev;
  }
  return out;
}

Series as_series(const std::vector<double>& x) { return Series(x.begin(), x.end()); }

struct BatchMacd {
  Series macd, signal, histogram;
};

// TA_INT_MACD: both EMAs start on the bar slow-1 (the fast one's seed window is
// the `fast` bars ending there); the signal is the EMA of the MACD line from
// that bar; every output starts at slow-1 + signal-1.
BatchMacd batch_macd(const std::vector<double>& x, int fast, int slow, int signal) {
  const Series xs = as_series(x);
  const Series slow_ema = batch_ema(xs, slow, 0);
  const Series fast_ema = batch_ema(xs, fast, static_cast<std::size_t>(slow - fast));
  Series line(x.size());
  for (std::size_t i = static_cast<std::size_t>(slow - 1); i < x.size(); ++i) line[i] = *fast_ema[i] - *slow_ema[i];
  const Series sig = batch_ema(line, signal, static_cast<std::size_t>(slow - 1));
  BatchMacd out{Series(x.size()), Series(x.size()), Series(x.size())};
  for (std::size_t i = static_cast<std::size_t>(slow - 1 + signal - 1); i < x.size(); ++i) {
    out.macd[i] = line[i];
    out.signal[i] = sig[i];
    out.histogram[i] = *line[i] - *sig[i];
  }
  return out;
}

// TA_RSI with no unstable period.
Series batch_rsi(const std::vector<double>& x, int n) {
  Series out(x.size());
  if (x.size() <= static_cast<std::size_t>(n)) return out;
  double gain = 0.0, loss = 0.0;
  for (std::size_t i = 1; i <= static_cast<std::size_t>(n); ++i) {
    const double d = x[i] - x[i - 1];
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= n;
  loss /= n;
  auto rsi = [](double g, double l) { return g + l != 0.0 ? 100.0 * (g / (g + l)) : 0.0; };
  out[static_cast<std::size_t>(n)] = rsi(gain, loss);
  for (std::size_t i = static_cast<std::size_t>(n) + 1; i < x.size(); ++i) {
    const double d = x[i] - x[i - 1];
    loss *= (n - 1);
    gain *= (n - 1);
    if (d < 0) loss -= d;
    else gain += d;
    loss /= n;
    gain /= n;
    out[i] = rsi(gain, loss);
  }
  return out;
}

// TA_ATR: true range from bar 1, its first n averaged, then Wilder.
Series batch_atr(const std::vector<Bar>& bars, int n) {
  Series out(bars.size());
  std::vector<double> tr(bars.size(), 0.0);
  for (std::size_t i = 1; i < bars.size(); ++i) {
    const double h = bars[i].high, l = bars[i].low, pc = bars[i - 1].close;
    tr[i] = std::max(h - l, std::max(std::abs(h - pc), std::abs(l - pc)));
  }
  if (bars.size() <= static_cast<std::size_t>(n)) return out;
  double sum = 0.0;
  for (std::size_t i = 1; i <= static_cast<std::size_t>(n); ++i) sum += tr[i];
  double prev = sum / n;
  out[static_cast<std::size_t>(n)] = prev;
  for (std::size_t i = static_cast<std::size_t>(n) + 1; i < bars.size(); ++i) {
    prev *= n - 1;
    prev += tr[i];
    prev /= n;
    out[i] = prev;
  }
  return out;
}

// Population sigma by two passes over each window.
struct BatchBands {
  Series upper, middle, lower;
};
BatchBands batch_bollinger(const std::vector<double>& x, int n, double k) {
  BatchBands out{Series(x.size()), Series(x.size()), Series(x.size())};
  for (std::size_t i = static_cast<std::size_t>(n - 1); i < x.size(); ++i) {
    const std::size_t from = i + 1 - static_cast<std::size_t>(n);
    double sum = 0.0;
    for (std::size_t j = from; j <= i; ++j) sum += x[j];
    const double mean = sum / n;
    double ss = 0.0;
    for (std::size_t j = from; j <= i; ++j) ss += (x[j] - mean) * (x[j] - mean);
    const double sigma = std::sqrt(ss / n);
    out.upper[i] = mean + k * sigma;
    out.middle[i] = mean;
    out.lower[i] = mean - k * sigma;
  }
  return out;
}

// Sample (ddof 1) sigma of the last n log returns, by two passes, annualised.
Series batch_volatility(const std::vector<double>& close, int n, double periods_per_year) {
  Series out(close.size());
  std::vector<double> r(close.size(), 0.0);  // r[i] = ln(close[i] / close[i-1])
  for (std::size_t i = 1; i < close.size(); ++i) r[i] = std::log(close[i] / close[i - 1]);
  for (std::size_t i = static_cast<std::size_t>(n); i < close.size(); ++i) {
    const std::size_t from = i + 1 - static_cast<std::size_t>(n);
    double mean = 0.0;
    for (std::size_t j = from; j <= i; ++j) mean += r[j];
    mean /= n;
    double ss = 0.0;
    for (std::size_t j = from; j <= i; ++j) ss += (r[j] - mean) * (r[j] - mean);
    out[i] = std::sqrt(ss / (n - 1)) * std::sqrt(periods_per_year);
  }
  return out;
}

Series batch_rolling_vwap(const std::vector<Bar>& bars, int n) {
  Series out(bars.size());
  for (std::size_t i = static_cast<std::size_t>(n - 1); i < bars.size(); ++i) {
    double pv = 0.0, v = 0.0;
    for (std::size_t j = i + 1 - static_cast<std::size_t>(n); j <= i; ++j) {
      pv += bars[j].vwap * bars[j].volume;
      v += bars[j].volume;
    }
    if (v > 0.0) out[i] = pv / v;
  }
  return out;
}

Series batch_session_vwap(const std::vector<Bar>& bars, std::int64_t session_ns, std::int64_t offset_ns) {
  Series out(bars.size());
  double pv = 0.0, v = 0.0;
  std::int64_t session = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const std::int64_t s = static_cast<std::int64_t>(
        std::floor(static_cast<long double>(bars[i].start_ns - offset_ns) / static_cast<long double>(session_ns)));
    if (i == 0 || s != session) pv = v = 0.0;
    session = s;
    pv += bars[i].vwap * bars[i].volume;
    v += bars[i].volume;
    if (v > 0.0) out[i] = pv / v;
  }
  return out;
}

// ---- seeded bars ----

std::vector<Bar> seeded_bars(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.002);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Bar> bars;
  double close = 100.0;
  const std::int64_t t0 = 1'700'000'040'000'000'000;  // not on a session boundary
  for (std::size_t i = 0; i < count; ++i) {
    Bar b;
    b.start_ns = t0 + static_cast<std::int64_t>(i) * kMinute;
    b.end_ns = b.start_ns + kMinute;
    b.open = close;
    // On the 0.01 tick, so unchanged closes (zero gains and losses) occur.
    b.close = std::max(0.01, std::round(close * std::exp(step(rng)) * 100.0) / 100.0);
    b.high = std::max(b.open, b.close) * (1.0 + 0.001 * unit(rng));
    b.low = std::min(b.open, b.close) * (1.0 - 0.001 * unit(rng));
    b.volume = unit(rng) < 0.1 ? 0.0 : std::round(1000.0 * unit(rng));
    b.vwap = b.low + (b.high - b.low) * unit(rng);
    b.trades = b.volume > 0 ? 1 + static_cast<std::uint64_t>(unit(rng) * 20) : 0;
    bars.push_back(b);
    close = b.close;
  }
  return bars;
}

// Each index: no value before `lookback`, a value from it on, within 1e-9 of
// the batch value relative to max(|batch|, floor). The floor is for values
// that cross 0 (MACD, its histogram, an RSI of 0), where a relative error means
// nothing; it is far below the values' scale.
void check_series(const char* name, const Series& got, const Series& want, int lookback, double floor) {
  INFO(name);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("bar " << i);
    const bool before = i < static_cast<std::size_t>(lookback);
    if (before) {
      REQUIRE_FALSE(got[i].has_value());
      REQUIRE_FALSE(want[i].has_value());
      continue;
    }
    REQUIRE(got[i].has_value() == want[i].has_value());
    if (!got[i]) continue;
    const double scale = std::max(std::abs(*want[i]), floor);
    INFO("got " << *got[i] << " want " << *want[i]);
    REQUIRE(std::abs(*got[i] - *want[i]) <= 1e-9 * scale);
  }
  // The first value is exactly at the lookback (some windows may have no value
  // later, e.g. a VWAP over bars without volume, but never earlier).
}

bool first_value_at(const Series& s, std::size_t index) {
  for (std::size_t i = 0; i < index; ++i) {
    if (s[i]) return false;
  }
  return index < s.size() && s[index].has_value();
}

}  // namespace

TEST_CASE("features: SMA, EMA, RSI, ATR, MACD, Bollinger, volatility, VWAP by hand", "[features][indicators]") {
  SECTION("SMA(3) and EMA(3): EMA seeded with the SMA of the first 3, then k = 1/2") {
    Sma sma(3);
    Ema ema(3);
    const double x[] = {1, 2, 3, 4, 8};
    const std::optional<double> want_sma[] = {std::nullopt, std::nullopt, 2.0, 3.0, 5.0};
    const std::optional<double> want_ema[] = {std::nullopt, std::nullopt, 2.0, 3.0, 5.5};
    for (int i = 0; i < 5; ++i) {
      CHECK(sma.update(x[i]) == want_sma[i]);
      CHECK(ema.update(x[i]) == want_ema[i]);
    }
    CHECK(sma.lookback() == 2);
    CHECK(ema.lookback() == 2);
  }
  SECTION("RSI(2): simple mean of the first 2 changes, then Wilder") {
    Rsi rsi(2);
    const double closes[] = {10, 11, 10, 12, 13};
    // gains/losses +1, -1, +2, +1: (0.5, 0.5) -> 50; (1.25, 0.25) -> 83.33; (1.125, 0.125) -> 90.
    const std::optional<double> want[] = {std::nullopt, std::nullopt, 50.0, 100.0 * 1.25 / 1.5, 90.0};
    for (int i = 0; i < 5; ++i) {
      auto v = rsi.update(closes[i]);
      REQUIRE(v.has_value() == want[i].has_value());
      if (v) CHECK(*v == Approx(*want[i]).epsilon(1e-12));
    }
    // TA-Lib's rule for a window with neither gain nor loss.
    Rsi flat(2);
    for (int i = 0; i < 3; ++i) flat.update(5.0);
    CHECK(flat.value() == 0.0);
  }
  SECTION("ATR(2): true range from the second bar") {
    Atr atr(2);
    // TR: bar1 max(2, |11-9|, |9-9|) = 2; bar2 2; bar3 max(3, 0, |8-11|) = 3.
    struct Hlc { double h, l, c; } bars[] = {{10, 8, 9}, {11, 9, 10}, {12, 10, 11}, {11, 8, 9}};
    const std::optional<double> want[] = {std::nullopt, std::nullopt, 2.0, 2.5};
    for (int i = 0; i < 4; ++i) CHECK(atr.update(bars[i].h, bars[i].l, bars[i].c) == want[i]);
  }
  SECTION("MACD(2, 3, 2): the fast seed window ends on the slow one's bar; lookback 3") {
    Macd macd(2, 3, 2);
    CHECK(macd.lookback() == 3);
    const double closes[] = {1, 4, 2, 6, 3, 8};
    // slow EMA(3): 7/3, 25/6, 43/12, 139/24 from bar 2; fast EMA(2) seeded on
    // bars 1..2: 3, 5, 11/3, 59/9; line 2/3, 5/6, 1/12, 55/72; signal seeded
    // (2/3 + 5/6)/2 = 3/4 at bar 3, then 11/36, 11/18.
    struct Want { double macd, signal, hist; };
    const std::optional<Want> want[] = {std::nullopt, std::nullopt, std::nullopt,
                                        Want{5.0 / 6, 3.0 / 4, 5.0 / 6 - 3.0 / 4},
                                        Want{1.0 / 12, 11.0 / 36, 1.0 / 12 - 11.0 / 36},
                                        Want{55.0 / 72, 11.0 / 18, 11.0 / 72}};
    for (int i = 0; i < 6; ++i) {
      INFO("bar " << i);
      auto v = macd.update(closes[i]);
      REQUIRE(v.has_value() == want[i].has_value());
      if (!v) continue;
      CHECK(v->macd == Approx(want[i]->macd).epsilon(1e-12));
      CHECK(v->signal == Approx(want[i]->signal).epsilon(1e-12));
      CHECK(v->histogram == Approx(want[i]->hist).epsilon(1e-12).margin(1e-15));
    }
    Macd standard(12, 26, 9);
    CHECK(standard.lookback() == 33);
  }
  SECTION("Bollinger(3, 2): population sigma") {
    Bollinger bb(3, 2.0);
    CHECK_FALSE(bb.update(1).has_value());
    CHECK_FALSE(bb.update(2).has_value());
    auto v = bb.update(3);  // mean 2, sigma sqrt(2/3)
    REQUIRE(v.has_value());
    CHECK(v->middle == Approx(2.0));
    CHECK(v->upper == Approx(2.0 + 2.0 * std::sqrt(2.0 / 3.0)).epsilon(1e-12));
    CHECK(v->lower == Approx(2.0 - 2.0 * std::sqrt(2.0 / 3.0)).epsilon(1e-12));
  }
  SECTION("realized volatility(2): sample sigma of 2 log returns, annualised by sqrt(252)") {
    RealizedVolatility vol(2, 252.0);
    CHECK_FALSE(vol.update(100).has_value());
    CHECK_FALSE(vol.update(110).has_value());
    auto v = vol.update(99);  // r = ln 1.1, ln 0.9: sigma = |r1 - r2| / sqrt 2
    REQUIRE(v.has_value());
    CHECK(*v == Approx(std::abs(std::log(1.1) - std::log(0.9)) / std::sqrt(2.0) * std::sqrt(252.0)).epsilon(1e-12));
  }
  SECTION("session VWAP resets at the session boundary and on reset(); rolling VWAP(2)") {
    const std::int64_t day = 86'400'000'000'000;
    SessionVwap session(day, 0);
    CHECK_FALSE(session.update(0, 10.0, 0.0).has_value());  // no volume yet: no VWAP
    CHECK(session.update(kMinute, 10.0, 100.0) == 10.0);
    CHECK(session.update(2 * kMinute, 11.0, 300.0) == (1000.0 + 3300.0) / 400.0);
    CHECK(session.update(day, 20.0, 50.0) == 20.0);  // a new session
    session.reset();
    CHECK_FALSE(session.value().has_value());
    CHECK(session.update(day + kMinute, 21.0, 10.0) == 21.0);

    RollingVwap rolling(2);
    CHECK_FALSE(rolling.update(10.0, 100.0).has_value());
    CHECK(rolling.update(11.0, 300.0) == 4300.0 / 400.0);
    CHECK(rolling.update(12.0, 0.0) == 11.0);
    CHECK_FALSE(rolling.update(13.0, 0.0).has_value());  // two bars without volume
  }
}

namespace {

struct ParamCase {
  const char* name;
  FeatureParams params;
};

FeatureParams small_periods() {
  FeatureParams p;
  p.sma_period = 5;
  p.ema_period = 3;
  p.rsi_period = 2;
  p.macd_fast = 3;
  p.macd_slow = 7;
  p.macd_signal = 4;
  p.bollinger_period = 5;
  p.bollinger_k = 1.5;
  p.atr_period = 1;
  p.volatility_period = 2;
  p.volatility_periods_per_year = 98'280.0;
  p.vwap_period = 1;
  p.vwap_session_ns = 6 * 3'600'000'000'000;
  p.vwap_session_offset_ns = 13 * 1'800'000'000'000;
  return p;
}

FeatureParams long_periods() {
  FeatureParams p;
  p.sma_period = 200;
  p.ema_period = 50;
  p.rsi_period = 30;
  p.macd_fast = 19;
  p.macd_slow = 39;
  p.macd_signal = 12;
  p.bollinger_period = 100;
  p.bollinger_k = 3.0;
  p.atr_period = 50;
  p.volatility_period = 390;
  p.vwap_period = 390;
  p.vwap_session_ns = 0;  // one endless session
  return p;
}

}  // namespace

TEST_CASE("features: the full set equals the batch implementations on 12,000 seeded bars", "[features][indicators]") {
  const ParamCase cases[] = {{"defaults", FeatureParams{}}, {"small periods", small_periods()},
                             {"long periods", long_periods()}};
  const std::vector<Bar> bars = seeded_bars(12'000, 20240611);
  std::vector<double> close;
  for (const auto& b : bars) close.push_back(b.close);

  for (const auto& c : cases) {
    INFO(c.name);
    const FeatureParams& p = c.params;
    FeatureSet set(p);
    const std::size_t n = bars.size();
    Series sma(n), ema(n), rsi(n), macd(n), macd_signal(n), macd_hist(n), upper(n), middle(n), lower(n), atr(n),
        vol(n), vwap(n), vwap_rolling(n);
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(set.update(bars[i]).is_ok());
      const FeatureValues& v = set.values();
      sma[i] = v.sma;
      ema[i] = v.ema;
      rsi[i] = v.rsi;
      macd[i] = v.macd;
      macd_signal[i] = v.macd_signal;
      macd_hist[i] = v.macd_histogram;
      upper[i] = v.bollinger_upper;
      middle[i] = v.bollinger_middle;
      lower[i] = v.bollinger_lower;
      atr[i] = v.atr;
      vol[i] = v.volatility;
      vwap[i] = v.vwap;
      vwap_rolling[i] = v.vwap_rolling;
    }
    CHECK(set.bars() == n);

    const int macd_lookback = p.macd_slow - 1 + p.macd_signal - 1;
    const BatchMacd want_macd = batch_macd(close, p.macd_fast, p.macd_slow, p.macd_signal);
    const BatchBands want_bands = batch_bollinger(close, p.bollinger_period, p.bollinger_k);
    check_series("sma", sma, batch_sma(close, p.sma_period), p.sma_period - 1, 0.0);
    check_series("ema", ema, batch_ema(as_series(close), p.ema_period, 0), p.ema_period - 1, 0.0);
    check_series("rsi", rsi, batch_rsi(close, p.rsi_period), p.rsi_period, 1e-6);
    check_series("macd", macd, want_macd.macd, macd_lookback, 1e-3);
    check_series("macd_signal", macd_signal, want_macd.signal, macd_lookback, 1e-3);
    check_series("macd_histogram", macd_hist, want_macd.histogram, macd_lookback, 1e-3);
    check_series("bollinger_upper", upper, want_bands.upper, p.bollinger_period - 1, 0.0);
    check_series("bollinger_middle", middle, want_bands.middle, p.bollinger_period - 1, 0.0);
    check_series("bollinger_lower", lower, want_bands.lower, p.bollinger_period - 1, 0.0);
    check_series("atr", atr, batch_atr(bars, p.atr_period), p.atr_period, 0.0);
    check_series("volatility", vol, batch_volatility(close, p.volatility_period, p.volatility_periods_per_year),
                 p.volatility_period, 1e-12);
    check_series("vwap_rolling", vwap_rolling, batch_rolling_vwap(bars, p.vwap_period), p.vwap_period - 1, 0.0);
    const Series want_vwap = p.vwap_session_ns > 0
                                 ? batch_session_vwap(bars, p.vwap_session_ns, p.vwap_session_offset_ns)
                                 : batch_session_vwap(bars, std::int64_t{1} << 62, 0);
    check_series("vwap", vwap, want_vwap, 0, 0.0);

    // The first value of each indicator is at its lookback.
    CHECK(first_value_at(sma, static_cast<std::size_t>(p.sma_period - 1)));
    CHECK(first_value_at(ema, static_cast<std::size_t>(p.ema_period - 1)));
    CHECK(first_value_at(rsi, static_cast<std::size_t>(p.rsi_period)));
    CHECK(first_value_at(macd, static_cast<std::size_t>(macd_lookback)));
    CHECK(first_value_at(macd_signal, static_cast<std::size_t>(macd_lookback)));
    CHECK(first_value_at(upper, static_cast<std::size_t>(p.bollinger_period - 1)));
    CHECK(first_value_at(atr, static_cast<std::size_t>(p.atr_period)));
    CHECK(first_value_at(vol, static_cast<std::size_t>(p.volatility_period)));
  }
}

TEST_CASE("features: a bad bar is refused, counted by reason and changes nothing", "[features][indicators]") {
  const std::vector<Bar> bars = seeded_bars(500, 7);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct BadCase {
    const char* name;
    void (*spoil)(Bar&, double, double);
    BarProblem reason;
  };
  const BadCase bad[] = {
      {"NaN close", [](Bar& b, double n, double) { b.close = n; }, BarProblem::kNotFinite},
      {"NaN high", [](Bar& b, double n, double) { b.high = n; }, BarProblem::kNotFinite},
      {"infinite volume", [](Bar& b, double, double i) { b.volume = i; }, BarProblem::kNotFinite},
      {"NaN vwap", [](Bar& b, double n, double) { b.vwap = n; }, BarProblem::kNotFinite},
      {"negative volume", [](Bar& b, double, double) { b.volume = -1.0; }, BarProblem::kNegativeVolume},
      {"high below low", [](Bar& b, double, double) { std::swap(b.high, b.low); }, BarProblem::kHighBelowLow},
      {"zero low", [](Bar& b, double, double) { b.low = 0.0; b.open = b.close = b.vwap = b.high; }, BarProblem::kNonPositivePrice},
      {"close above high", [](Bar& b, double, double) { b.close = b.high * 1.01; }, BarProblem::kOutsideRange},
  };
  FeatureSet clean(FeatureParams{});
  FeatureSet spoiled(FeatureParams{});
  std::size_t refused = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    REQUIRE(clean.update(bars[i]).is_ok());
    REQUIRE(spoiled.update(bars[i]).is_ok());
    // Between good bars, every kind of bad bar at various points of the warm-up and after.
    if (i % 7 == 3) {
      const BadCase& c = bad[(i / 7) % std::size(bad)];
      INFO(c.name << " after bar " << i);
      Bar b = bars[(i + 1) % bars.size()];
      c.spoil(b, nan, inf);
      const std::uint64_t before = spoiled.refused(c.reason);
      nautilus::Status s = spoiled.update(b);
      REQUIRE(s.code() == nautilus::StatusCode::kInvalidArgument);
      CHECK(s.message() == to_string(c.reason));
      CHECK(spoiled.refused(c.reason) == before + 1);
      ++refused;
    }
    const FeatureValues& a = clean.values();
    const FeatureValues& b = spoiled.values();
    // Bit for bit: the refused bars never reached any indicator.
    REQUIRE(a.sma == b.sma);
    REQUIRE(a.ema == b.ema);
    REQUIRE(a.rsi == b.rsi);
    REQUIRE(a.macd == b.macd);
    REQUIRE(a.macd_signal == b.macd_signal);
    REQUIRE(a.bollinger_upper == b.bollinger_upper);
    REQUIRE(a.atr == b.atr);
    REQUIRE(a.volatility == b.volatility);
    REQUIRE(a.vwap == b.vwap);
    REQUIRE(a.vwap_rolling == b.vwap_rolling);
  }
  CHECK(spoiled.refused() == refused);
  CHECK(spoiled.bars() == bars.size());
  CHECK(clean.refused() == 0);
}

TEST_CASE("features: invalid parameters are refused at construction", "[features][indicators]") {
  struct Case {
    const char* name;
    void (*apply)(FeatureParams&);
  };
  const Case cases[] = {
      {"sma 0", [](FeatureParams& p) { p.sma_period = 0; }},
      {"macd fast = slow", [](FeatureParams& p) { p.macd_fast = p.macd_slow; }},
      {"volatility 1", [](FeatureParams& p) { p.volatility_period = 1; }},
      {"negative k", [](FeatureParams& p) { p.bollinger_k = -1; }},
      {"periods per year 0", [](FeatureParams& p) { p.volatility_periods_per_year = 0; }},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    FeatureParams p;
    c.apply(p);
    CHECK_THROWS_AS(FeatureSet(p), std::invalid_argument);
  }
  CHECK_NOTHROW(FeatureSet(FeatureParams{}));
}
