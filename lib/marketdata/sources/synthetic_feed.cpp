#include "marketdata/sources/synthetic_feed.h"

#include <algorithm>
#include <cmath>

namespace nautilus::md {

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// FNV-1a: std::hash is not specified, and the feed must be identical across
// builds and platforms.
std::uint64_t hash_symbol(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

namespace {

constexpr double kSecondsPerYear = 252.0 * 6.5 * 3600.0;
constexpr double kTwoPi = 6.283185307179586;

// A counter-based stream: one per (symbol, step, purpose). Own uniform and
// normal draws because std distributions differ between standard libraries.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(splitmix(seed)) {}
  std::uint64_t next() { return state_ = splitmix(state_); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0,1)
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }
  int poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda > 50) return std::max(0, static_cast<int>(std::lround(lambda + std::sqrt(lambda) * normal())));
    double l = std::exp(-lambda), p = 1.0;
    int k = 0;
    do {
      ++k;
      p *= uniform();
    } while (p > l);
    return k - 1;
  }

 private:
  std::uint64_t state_;
};

std::uint64_t stream_seed(std::uint64_t path_seed, std::int64_t step, std::uint64_t purpose) {
  return splitmix(path_seed ^ splitmix(static_cast<std::uint64_t>(step) * 0x100000001B3ull + purpose));
}

enum Purpose : std::uint64_t { kPathDraw = 1, kTradeDraw = 2, kQuoteDraw = 3, kBookDraw = 4 };

}  // namespace

SyntheticFeed::SyntheticFeed(SyntheticConfig config) : config_(std::move(config)) {
  config_.step_ns = std::max<std::int64_t>(config_.step_ns, 1'000'000);
  config_.max_history_steps = std::max<std::size_t>(config_.max_history_steps, 16);
  config_.tick_size = config_.tick_size > 0 ? config_.tick_size : 0.01;
}

bool SyntheticFeed::add_crash(CrashEpisode episode) {
  std::lock_guard lock(mu_);
  std::int64_t first = step_of(episode.start_ns);
  for (auto& [name, p] : paths_) {
    if (!episode.symbol.empty() && episode.symbol != name) continue;
    if (p.first_step + static_cast<std::int64_t>(p.log_close.size()) > first) return false;
  }
  config_.crashes.push_back(std::move(episode));
  return true;
}

std::int64_t SyntheticFeed::step_of(std::int64_t t_ns) const {
  if (t_ns <= config_.start_ns) return 0;
  return (t_ns - config_.start_ns) / config_.step_ns;
}

SyntheticFeed::Path& SyntheticFeed::path(std::string_view symbol) {
  auto it = paths_.find(symbol);
  if (it != paths_.end()) return it->second;
  Path p;
  p.seed = splitmix(config_.seed ^ hash_symbol(symbol));
  double start = config_.start_price;
  if (start <= 0) start = 20.0 + static_cast<double>(p.seed % 50'000) / 100.0;
  p.log_start = std::log(start);
  return paths_.emplace(std::string(symbol), std::move(p)).first->second;
}

double SyntheticFeed::crash_log_move(std::string_view symbol, std::int64_t step) const {
  double move = 0;
  std::int64_t s0 = config_.start_ns + step * config_.step_ns;
  std::int64_t s1 = s0 + config_.step_ns;
  for (const auto& c : config_.crashes) {
    if (!c.symbol.empty() && c.symbol != symbol) continue;
    std::int64_t dur = std::max<std::int64_t>(c.duration_ns, 1);
    std::int64_t lo = std::max(s0, c.start_ns), hi = std::min(s1, c.start_ns + dur);
    if (hi <= lo) continue;
    double frac = static_cast<double>(hi - lo) / static_cast<double>(dur);
    move += std::log(std::clamp(1.0 - c.plunge, 1e-6, 1e6)) * frac;
  }
  return move;
}

bool SyntheticFeed::in_crash(std::string_view symbol, std::int64_t t_ns) const {
  for (const auto& c : config_.crashes) {
    if (!c.symbol.empty() && c.symbol != symbol) continue;
    if (t_ns >= c.start_ns && t_ns < c.start_ns + c.duration_ns) return true;
  }
  return false;
}

double SyntheticFeed::crash_multiplier(std::string_view symbol, std::int64_t step,
                                       double CrashEpisode::*field) const {
  // Judged at the middle of the step, so a step straddling an episode's edge
  // belongs to whichever side holds most of it.
  double m = 1.0;
  std::int64_t mid = config_.start_ns + step * config_.step_ns + config_.step_ns / 2;
  for (const auto& c : config_.crashes) {
    if (!c.symbol.empty() && c.symbol != symbol) continue;
    if (mid >= c.start_ns && mid < c.start_ns + c.duration_ns) m = std::max(m, c.*field);
  }
  return m;
}

double SyntheticFeed::volume_mult(std::string_view symbol, std::int64_t step) const {
  return crash_multiplier(symbol, step, &CrashEpisode::volume_multiplier);
}

double SyntheticFeed::vol_mult(std::string_view symbol, std::int64_t step) const {
  return crash_multiplier(symbol, step, &CrashEpisode::volatility_multiplier);
}

double SyntheticFeed::log_close(Path& p, std::string_view symbol, std::int64_t step) {
  if (step < p.first_step) step = p.first_step;
  const double dt = static_cast<double>(config_.step_ns) / 1e9;
  const double sigma = config_.volatility / std::sqrt(kSecondsPerYear);
  const double mu = config_.drift / kSecondsPerYear;
  const double jump_p = config_.jumps_per_hour * dt / 3600.0;
  while (p.first_step + static_cast<std::int64_t>(p.log_close.size()) <= step) {
    std::int64_t s = p.first_step + static_cast<std::int64_t>(p.log_close.size());
    double prev = p.log_close.empty() ? p.log_start : p.log_close.back();
    Rng rng(stream_seed(p.seed, s, kPathDraw));
    double sig = sigma * vol_mult(symbol, s);
    double x = prev + (mu - 0.5 * sig * sig) * dt + sig * std::sqrt(dt) * rng.normal();
    if (rng.uniform() < jump_p) x += config_.jump_mean + config_.jump_stddev * rng.normal();
    x += crash_log_move(symbol, s);
    p.log_close.push_back(x);
    if (p.log_close.size() > config_.max_history_steps) {
      p.log_close.pop_front();
      ++p.first_step;
    }
  }
  return p.log_close[static_cast<std::size_t>(step - p.first_step)];
}

double SyntheticFeed::log_open(Path& p, std::string_view symbol, std::int64_t step) {
  if (step <= 0) return p.log_start;
  if (step - 1 < p.first_step) step = p.first_step + 1;
  return log_close(p, symbol, step - 1);
}

double SyntheticFeed::round_tick(double price) const {
  // Divide by the integer ticks-per-unit when there is one (0.01 -> 100): n/100
  // is the double nearest the decimal price, n*0.01 often is not (412.71000000000004).
  double per_unit = std::round(1.0 / config_.tick_size);
  double p = std::abs(per_unit * config_.tick_size - 1.0) < 1e-9 ? std::round(price * per_unit) / per_unit
                                                                 : std::round(price / config_.tick_size) * config_.tick_size;
  return std::max(config_.tick_size, p);
}

void SyntheticFeed::step_trades(Path& p, std::string_view symbol, std::int64_t step,
                                std::vector<SyntheticTrade>& out) {
  double lo = log_open(p, symbol, step), lc = log_close(p, symbol, step);
  double vm = volume_mult(symbol, step);
  Rng rng(stream_seed(p.seed, step, kTradeDraw));
  int n = rng.poisson(config_.trades_per_second * static_cast<double>(config_.step_ns) / 1e9 * vm);
  if (n <= 0) return;
  std::vector<double> offsets(static_cast<std::size_t>(n));
  for (auto& o : offsets) o = rng.uniform();
  std::sort(offsets.begin(), offsets.end());
  std::int64_t s0 = config_.start_ns + step * config_.step_ns;
  bool crash = vm > 1.0;
  for (int j = 0; j < n; ++j) {
    double f = offsets[static_cast<std::size_t>(j)];
    double mid = std::exp(lo + (lc - lo) * f);
    double half_spread = mid * config_.spread_bps / 2e4;
    bool buy = rng.uniform() < (lc >= lo ? 0.55 : 0.45);
    SyntheticTrade t;
    t.ts_ns = s0 + static_cast<std::int64_t>(f * static_cast<double>(config_.step_ns));
    t.price = round_tick(buy ? mid + half_spread : mid - half_spread);
    t.size = std::max(1.0, std::round(config_.mean_trade_size * std::exp(0.5 * rng.normal() - 0.125)));
    t.side = buy ? 'B' : 'S';
    t.seq = (static_cast<std::uint64_t>(step) << 20) | static_cast<std::uint64_t>(j);
    t.in_crash = crash;
    out.push_back(t);
  }
}

double SyntheticFeed::price_at(std::string_view symbol, std::int64_t t_ns) {
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  return round_tick(std::exp(log_open(p, symbol, step_of(t_ns))));
}

SyntheticQuote SyntheticFeed::quote_at(std::string_view symbol, std::int64_t t_ns) {
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  std::int64_t s = step_of(t_ns);
  double mid = std::exp(log_open(p, symbol, s));
  double spread = std::max(config_.tick_size, mid * config_.spread_bps / 1e4 * vol_mult(symbol, s));
  Rng rng(stream_seed(p.seed, s, kQuoteDraw));
  SyntheticQuote q;
  q.ts_ns = config_.start_ns + s * config_.step_ns;
  q.bid = round_tick(mid - spread / 2);
  q.ask = std::max(q.bid + config_.tick_size, round_tick(mid + spread / 2));
  q.bid_size = std::round(config_.mean_trade_size * (1 + 9 * rng.uniform()));
  q.ask_size = std::round(config_.mean_trade_size * (1 + 9 * rng.uniform()));
  return q;
}

std::vector<SyntheticTrade> SyntheticFeed::trades_between(std::string_view symbol, std::int64_t from_ns,
                                                          std::int64_t to_ns) {
  std::vector<SyntheticTrade> out;
  if (to_ns <= from_ns) return out;
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  std::int64_t first = step_of(from_ns), last = step_of(to_ns - 1);
  std::vector<SyntheticTrade> step_buf;
  for (std::int64_t s = first; s <= last; ++s) {
    step_buf.clear();
    step_trades(p, symbol, s, step_buf);
    for (const auto& t : step_buf) {
      if (t.ts_ns >= from_ns && t.ts_ns < to_ns) out.push_back(t);
    }
  }
  return out;
}

bool SyntheticFeed::last_trade(std::string_view symbol, std::int64_t t_ns, SyntheticTrade& out) {
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  std::vector<SyntheticTrade> buf;
  std::int64_t s = step_of(t_ns);
  for (std::int64_t k = 0; k < 10'000 && s - k >= 0; ++k) {
    buf.clear();
    step_trades(p, symbol, s - k, buf);
    for (auto it = buf.rbegin(); it != buf.rend(); ++it) {
      if (it->ts_ns <= t_ns) {
        out = *it;
        return true;
      }
    }
  }
  return false;
}

SyntheticBar SyntheticFeed::bar_at(std::string_view symbol, std::int64_t t_ns, std::int64_t interval_ns) {
  interval_ns = std::max(interval_ns, config_.step_ns);
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  SyntheticBar b;
  b.interval_ns = interval_ns;
  std::int64_t rel = std::max<std::int64_t>(0, t_ns - config_.start_ns);
  b.start_ns = config_.start_ns + rel / interval_ns * interval_ns;
  std::int64_t first = step_of(b.start_ns), last = step_of(t_ns);
  b.open = round_tick(std::exp(log_open(p, symbol, first)));
  b.high = b.low = b.open;
  std::vector<SyntheticTrade> buf;
  for (std::int64_t s = first; s <= last; ++s) {
    buf.clear();
    step_trades(p, symbol, s, buf);
    for (const auto& t : buf) {
      if (t.ts_ns > t_ns) break;
      b.high = std::max(b.high, t.price);
      b.low = std::min(b.low, t.price);
      b.close = t.price;
      b.volume += t.size;
      ++b.trades;
    }
  }
  if (b.trades == 0) b.close = b.open;
  return b;
}

SyntheticBook SyntheticFeed::book_at(std::string_view symbol, std::int64_t t_ns, int depth) {
  SyntheticQuote q = quote_at(symbol, t_ns);
  depth = std::clamp(depth, 1, 50);
  std::lock_guard lock(mu_);
  Path& p = path(symbol);
  Rng rng(stream_seed(p.seed, step_of(t_ns), kBookDraw));
  SyntheticBook book;
  book.ts_ns = q.ts_ns;
  for (int i = 0; i < depth; ++i) {
    double off = config_.tick_size * static_cast<double>(i);
    book.bids.push_back({round_tick(q.bid - off), i == 0 ? q.bid_size : std::round(config_.mean_trade_size * (1 + 19 * rng.uniform()))});
    book.asks.push_back({round_tick(q.ask + off), i == 0 ? q.ask_size : std::round(config_.mean_trade_size * (1 + 19 * rng.uniform()))});
  }
  return book;
}

}  // namespace nautilus::md
