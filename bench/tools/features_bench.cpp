// The full indicator set (features::FeatureSet::update: SMA, EMA, RSI, MACD,
// Bollinger, ATR, realized volatility, session and rolling VWAP, TA-Lib default
// periods) on one core, over seeded 1-minute bars. Reports bar updates per
// CPU-second of the thread (what the goal, >= 1,000,000 per core, is about) and
// per wall second (which a loaded machine lowers). Not in the build: until
// `nautilus bench engines` covers it, build it by hand against a Release core:
//
//   cmake -S . -B build/rel -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel --target nautilus_core
//   g++ -std=c++20 -O2 -DNDEBUG -Ilib -o /tmp/features_bench bench/tools/features_bench.cpp
//       lib/engines/features/indicators.cpp lib/engines/features/feature_set.cpp build/rel/lib/libnautilus_core.a
//   (one command line)
//   /tmp/features_bench
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>
#include "engines/features/feature_set.h"
using namespace nautilus::features;
int main() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> step(0.0, 0.002);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Bar> bars(1 << 16);
  double close = 100;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    Bar& b = bars[i];
    b.start_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 60'000'000'000;
    b.end_ns = b.start_ns + 60'000'000'000;
    b.open = close;
    b.close = close = std::round(close * std::exp(step(rng)) * 100) / 100;
    b.high = std::max(b.open, b.close) * (1 + 0.001 * unit(rng));
    b.low = std::min(b.open, b.close) * (1 - 0.001 * unit(rng));
    b.volume = std::round(1000 * unit(rng));
    b.vwap = b.low + (b.high - b.low) * unit(rng);
  }
  for (int round = 0; round < 5; ++round) {
    FeatureSet set(FeatureParams{});
    const std::size_t n = 4'000'000;
    timespec c0{}, c1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    double sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      // The 65,536 seeded bars again and again, time moving on (VWAP sessions roll).
      Bar b = bars[i & (bars.size() - 1)];
      b.start_ns += static_cast<std::int64_t>(i >> 16) * 65536 * 60'000'000'000;
      if (!set.update(b).is_ok()) return 1;
      if (auto v = set.values().macd_histogram) sink += *v;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    std::printf("full indicator set: %.0f bar updates/s per CPU-second (%.1f ns/bar CPU); wall %.0f/s; sink %g\n", n / cpu, cpu / n * 1e9, n / s, sink);
  }
}
