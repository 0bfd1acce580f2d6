// Measures how often this machine takes the CPU away from a busy thread: N
// threads spin on the clock for a few seconds and report their longest gap and
// how many gaps exceeded 200 µs. Such gaps are a floor under any tail latency
// measured here, so docs/benchmarks.md records them beside the bus figures.
//   sched_gap [THREADS] [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  if (threads < 1 || threads > 64 || seconds < 1 || seconds > 600) {
    std::fprintf(stderr, "usage: sched_gap [THREADS 1-64] [SECONDS 1-600]\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  std::vector<long> max_gap_us(static_cast<std::size_t>(threads)), gaps(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      auto last = Clock::now();
      auto end = last + std::chrono::seconds(seconds);
      long worst = 0, count = 0;
      for (auto now = last; now < end; last = now) {
        now = Clock::now();
        long g = std::chrono::duration_cast<std::chrono::microseconds>(now - last).count();
        worst = g > worst ? g : worst;
        count += g > 200;
      }
      max_gap_us[static_cast<std::size_t>(i)] = worst;
      gaps[static_cast<std::size_t>(i)] = count;
    });
  }
  for (auto& t : pool) t.join();
  for (int i = 0; i < threads; ++i) {
    std::printf("{\"thread\":%d,\"seconds\":%d,\"max_gap_us\":%ld,\"gaps_over_200us\":%ld}\n", i, seconds,
                max_gap_us[static_cast<std::size_t>(i)], gaps[static_cast<std::size_t>(i)]);
  }
  return 0;
}
