#include "bench/flash_crash.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_scenarios.h"
#include "bench/sched_probe.h"
#include "cli_context.h"
#include "core/clock.h"
#include "core/message_pool.h"
#include "engines/engine.h"
#include "engines/features/features_engine.h"
#include "engines/portfolio/portfolio_engine.h"
#include "engines/risk/risk_engine.h"
#include "engines/strategy/strategy_engine.h"
#include "engines/vpin/vpin_engine.h"
#include "marketdata/sources/synthetic_feed.h"
#include "table.h"

namespace nautilus::cli {
namespace {

constexpr std::string_view kFloodSource = "bench-flood";
constexpr std::string_view kFeedSource = "bench-feed";
constexpr std::string_view kTradePrefix = "marketdata.real_time.trade.";
constexpr int kTradesPerBar = 4;        // calm; a crash multiplies it (bar volume is what VPIN buckets)
constexpr double kCrashVolumeX = 10;
constexpr double kCrashPlunge = 0.08;
constexpr int kCrashBars = 4;
// The bench's own VPIN takes σ_ΔP over this many (non-empty) bars. A symbol
// crashes again only once its last crash's price moves have left that window,
// with room for empty bars (a calm bar has 4 trades on average, and an empty
// one adds no ΔP): with them inside, σ is the crash's, the next plunge is a
// few σ instead of dozens, its buckets are not one-sided, and the repeat
// would be a different, milder crash to VPIN.
constexpr int kBenchSigmaBars = 10;
constexpr int kCrashGapBars = 26;  // onset to a symbol's next onset: 4 crash bars, then 22 calm ones
static_assert(kCrashGapBars >= kCrashBars + 2 * kBenchSigmaBars, "a calm stretch of twice the sigma window");
constexpr int kFloodTopics = 16;        // distinct topics per flood stream
constexpr std::uint64_t kQuoteEvery = 32;  // marketdata flood messages per quote for the risk engine
constexpr auto kFeedTick = std::chrono::microseconds(200);
constexpr auto kFloodTick = std::chrono::microseconds(50);
constexpr std::int64_t kPollSpinNs = 50'000;  // as the bus's own delivery threads
constexpr auto kPollNap = std::chrono::microseconds(10);

// The flood's logical publishers: each has its own sequence and is counted by
// its own subscriber, so losses are attributed to the right bus.
enum FloodStream : std::size_t { kMdFlood = 0, kEngineFlood = 1, kQuoteFlood = 2, kStreams = 3 };

// The bench's own VPIN settings: one-second bars, two buckets per calm bar, a
// ten-bucket window (one crash bar fills it), sigma over the last
// kBenchSigmaBars bars and a CDF over a long history.
// A calm bucket reaches the CDF threshold with probability about 1 -
// threshold (the CDF is a rank); the engine's VPIN floor (0.85) and
// persistence (2 buckets) keep calm buckets from warning, and those that do
// are reported as false warnings. The threshold is 0.9, not 0.999: with
// symbols crashing again and again, most of the CDF history is earlier
// crashes' buckets near VPIN 1, against which a new crash ranks at ~0.95. A
// 0.999 threshold then asks its VPIN to tie theirs within its first crash
// bar (σ holds the plunge from the second on), which a light first bar
// misses: 0.999 missed 4 of 208 crashes at seed 42. How well VPIN tells
// crashes from calm is `bench vpin-detector`'s to measure; this times the chain.
nlohmann::json bench_vpin_config(const FlashCrashConfig& cfg) {
  return {{"bar_seconds", cfg.vpin_bar_s}, {"bucket_volume", cfg.vpin_bucket_volume}, {"window_buckets", 10},
          {"sigma_window", kBenchSigmaBars}, {"cdf_window", 2000}, {"min_cdf_samples", 1000},  {"cdf_threshold", 0.9}};
}
constexpr int kBenchVpinHistory = 10 + 1000;  // window_buckets + min_cdf_samples

// A HALT holds for the whole run, as in production (the default is 300 s).
// The strategies' orders (a few a second per symbol) stay far below the
// order-rate limit, so only a crash halts. The VPIN-CDF level limit is off:
// with 16 symbols some CDF is over its 0.95 at almost any moment (the CDF is a
// rank), which would hold risk in REDUCING (for its 30 s cooldown) and keep
// the strategies from opening positions. The warning's HALT does not depend
// on it.
nlohmann::json bench_risk_config() {
  return {{"vpin_halt_seconds", 3600}, {"limits", {{"order_rate", 1000}, {"vpin_toxicity", false}}}};
}

// The trading chain the halt has to stop: features on the VPIN bar, one
// 3-bar momentum instance per crash symbol (it trades every few bars) (so each warning is answered by the
// instance trading that symbol), risk, and the portfolio filling what risk
// approves at the feed's quotes.
std::string bench_interval(const FlashCrashConfig& cfg) {
  return std::to_string(std::llround(cfg.vpin_bar_s * 1000)) + "ms";
}
nlohmann::json bench_features_config(const FlashCrashConfig& cfg) {
  return {{"intervals", {bench_interval(cfg)}}, {"close_on_clock", false}};
}
nlohmann::json bench_strategy_config(const FlashCrashConfig& cfg, const std::vector<std::string>& symbols) {
  nlohmann::json instances = nlohmann::json::array();
  for (const auto& s : symbols) {
    std::string name = s;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    instances.push_back({{"name", name},
                         {"kind", "momentum"},
                         {"symbols", {s}},
                         {"interval", bench_interval(cfg)},
                         {"params", {{"lookback", 3}}},
                         {"sizing", {{"quantity", 10}}}});
  }
  return {{"instances", instances}};
}

std::string symbol_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "FC%02d", i + 1);
  return buf;
}

void put_cents(std::string& out, std::int64_t cents) {
  char buf[32];
  char* p = std::to_chars(buf, buf + sizeof buf, cents / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + (cents % 100) / 10);
  *p++ = static_cast<char>('0' + cents % 10);
  out.append(buf, p);
}

template <typename T>
void put_number(std::string& out, T v) {
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Nearest-rank percentiles of a few hundred samples: exact, no histogram
// needed. Below 100 samples the "p99" is the maximum: the sample count goes
// beside it so a reader can tell.
nlohmann::json summary_ms(std::vector<double> v) {
  if (v.empty()) return {{"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"samples", 0}};
  std::sort(v.begin(), v.end());
  auto rank = [&v](double p) {
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(i, 1, v.size()) - 1];
  };
  return {{"p50", rank(0.50)}, {"p90", rank(0.90)}, {"p99", rank(0.99)}, {"max", v.back()}, {"samples", v.size()}};
}

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// One crash episode of a symbol.
struct Crash {
  std::int64_t onset_feed_ns = 0;           // the episode's start, feed time
  std::int64_t end_feed_ns = 0;
  std::atomic<std::int64_t> onset_wall{0};  // first crash trade published (bus clock)
  std::atomic<std::int64_t> onset_mono{0};
};

struct CrashSymbol {
  std::string name;
  std::string topic;
  std::string quote_topic;
  std::uint64_t trades = 0;  // published, for one quote per kTradesPerBar
  std::deque<Crash> crashes;  // in time order, fixed before the feed starts
  std::size_t next_crash = 0;  // the feed publisher's: the first crash not yet over
};

// What the observers saw of the chain, kept raw and resolved after the run:
// the two observers run on different threads and a HALT can be seen before
// the warning that caused it.
struct ChainEvent {
  std::string symbol;
  std::string correlation;
  std::int64_t delivered = 0;  // bus clock
  std::int64_t origin = 0;
  std::int64_t published = 0;
  std::int64_t end_ns = 0;     // warnings: feed time of the bar that completed the bucket
};

struct StrategyFill {
  std::string order_id;
  std::string symbol;
  std::int64_t published = 0;
  std::int64_t decision_ns = 0;  // when risk published its approval (the fill's payload)
  bool executor_halted = false;  // the portfolio had read the HALT when it filled
  bool opened = false;           // the fill added exposure (a reducing fill may follow a halt)
};

struct ChainLog {
  std::mutex mu;
  std::vector<ChainEvent> warnings;
  std::vector<ChainEvent> halts;        // risk.alert.vpin_toxicity at critical: "trading halted"
  std::vector<ChainEvent> state_halts;  // risk.state -> HALTED
  // strategy.state -> HALTED; correlation = the halt's (halt_correlation_id),
  // symbol = the warning's symbol (empty for a stop by risk.state)
  std::vector<ChainEvent> strategy_stops;
  std::map<std::string, std::string> strategy_orders;  // order id -> symbol
  std::uint64_t strategy_signals = 0, strategy_cancels = 0;
  std::vector<StrategyFill> fills;  // portfolio.fill.* of the strategies' orders
  std::array<HistogramSnapshot, kPriorityCount> latency;  // publish -> observer, chain messages
};

std::int64_t delivery_now(const Clock& clock) {
  std::int64_t now = current_delivery_ns();
  return now != 0 ? now : clock.now_ns();
}

// The background flood: one paced thread over both buses.
class Flood {
 public:
  Flood(Router& router, const FlashCrashConfig& cfg, std::uint64_t total_cap)
      : router_(router), cfg_(cfg), cycle_(cfg.mix), quote_cycle_({1, 1, 0, 0, 0}) {
    caps_[kMdFlood] = total_cap / 2 + 2;
    caps_[kEngineFlood] = total_cap / 2 + 2;
    caps_[kQuoteFlood] = total_cap / (2 * kQuoteEvery) + 2;
    for (int i = 0; i < kFloodTopics; ++i) {
      md_topics_.push_back("bench.md." + std::to_string(i));
      engine_topics_.push_back("bench.engine." + std::to_string(i));
      quote_symbols_.push_back("BG" + std::to_string(i));
      quote_topics_.push_back("marketdata.real_time.quote.BG" + std::to_string(i));
    }
  }

  const PriorityCycle& cycle(FloodStream s) const { return s == kQuoteFlood ? quote_cycle_ : cycle_; }
  std::uint64_t cap(FloodStream s) const { return caps_[s]; }
  std::uint64_t published(FloodStream s) const { return published_[s]; }
  std::uint64_t refused() const { return refused_; }
  const std::string& first_error() const { return first_error_; }

  // Publishes rate x elapsed messages by `end` (monotonic), in small bursts
  // between short sleeps: a background load needs no microsecond pacing, and
  // a spinning publisher would take a core from the deliveries it measures.
  void run(std::int64_t start, std::int64_t end, const std::atomic<bool>& stop) {
    ::prctl(PR_SET_TIMERSLACK, 1000UL);  // naps of 50 us, not 50 us plus the default 50 us slack
    MessagePool pool(1 << 16);
    std::uint64_t total = 0;
    wait_until(start);
    for (;;) {
      const std::int64_t now = monotonic_now_ns();
      if (now >= end || stop.load(std::memory_order_relaxed)) break;
      const auto due = static_cast<std::uint64_t>(static_cast<double>(now - start) * cfg_.rate / 1e9);
      for (; total < due; ++total) publish_one(pool, total);
      std::this_thread::sleep_for(kFloodTick);
    }
  }

 private:
  void publish_one(MessagePool& pool, std::uint64_t n) {
    // Half to each bus; one marketdata message in 32 is a quote the risk
    // engine prices from, the rest go to topics no engine subscribes to.
    FloodStream s = (n & 1) ? kEngineFlood : ((n >> 1) % kQuoteEvery == 0 ? kQuoteFlood : kMdFlood);
    std::uint64_t seq = published_[s];
    if (seq >= caps_[s]) return;
    auto m = pool.acquire();
    m->priority = cycle(s).at(seq);
    m->source = kFloodSource;
    const std::size_t k = seq % kFloodTopics;
    BusKind bus = BusKind::kMarketData;
    switch (s) {
      case kMdFlood:
        m->topic = md_topics_[k];
        m->type = MessageType::kTick;
        build_payload(m->payload, kMdFlood, seq, cfg_.payload_bytes);
        break;
      case kEngineFlood:
        bus = BusKind::kEngine;
        m->topic = engine_topics_[k];
        m->type = MessageType::kFeatureUpdate;
        build_payload(m->payload, kEngineFlood, seq, cfg_.payload_bytes);
        break;
      default: {
        m->topic = quote_topics_[k];
        m->type = MessageType::kQuote;
        std::string& p = m->payload;
        // {"p":2,"s":<seq>,...}: the tracker reads p and s, the risk engine bid and ask.
        p.assign("{\"p\":2,\"s\":");
        put_number(p, seq);
        p += ",\"symbol\":\"";
        p += quote_symbols_[k];
        const auto bid = static_cast<std::int64_t>(10000 + seq % 50);
        p += "\",\"bid\":";
        put_cents(p, bid);
        p += ",\"ask\":";
        put_cents(p, bid + 2);
        p += '}';
        break;
      }
    }
    published_[s] = seq + 1;
    Status st = router_.publish(bus, std::move(m));
    if (!st && refused_++ == 0) first_error_ = st.to_string();
  }

  Router& router_;
  const FlashCrashConfig& cfg_;
  PriorityCycle cycle_;
  PriorityCycle quote_cycle_;
  std::array<std::uint64_t, kStreams> caps_{};
  std::array<std::uint64_t, kStreams> published_{};
  std::vector<std::string> md_topics_, engine_topics_, quote_topics_, quote_symbols_;
  std::uint64_t refused_ = 0;
  std::string first_error_;
};

// The crash symbols' trades, from the synthetic feed, in time order.
class FeedPublisher {
 public:
  FeedPublisher(Router& router, Clock& clock, md::SyntheticFeed& feed, std::vector<std::unique_ptr<CrashSymbol>>& symbols)
      : router_(router), clock_(clock), feed_(feed), symbols_(symbols) {}

  // Publishes every trade with from <= ts < to; returns how many.
  std::uint64_t publish_between(std::int64_t from, std::int64_t to) {
    batch_.clear();
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
      for (const auto& t : feed_.trades_between(symbols_[i]->name, from, to)) batch_.push_back({i, t});
    }
    std::stable_sort(batch_.begin(), batch_.end(),
                     [](const Item& a, const Item& b) { return a.trade.ts_ns < b.trade.ts_ns; });
    for (const auto& item : batch_) publish(item);
    published_ += batch_.size();
    return batch_.size();
  }
  std::uint64_t published() const { return published_; }
  std::uint64_t refused() const { return refused_; }
  // A quote one cent either side of every kTradesPerBar-th trade of a symbol
  // (about one a calm bar), for the portfolio to fill at; risk prices from it
  // too, so not more often. Off for the calm history: nothing trades then.
  void set_quotes(bool on) { quotes_ = on; }

 private:
  struct Item {
    std::size_t symbol;
    md::SyntheticTrade trade;
  };

  void publish(const Item& item) {
    CrashSymbol& s = *symbols_[item.symbol];
    const md::SyntheticTrade& t = item.trade;
    auto m = pool_.acquire();
    m->topic = s.topic;
    m->type = MessageType::kTrade;
    m->priority = Priority::kNormal;
    m->source = kFeedSource;
    std::string& p = m->payload;
    p.assign("{\"symbol\":\"");
    p += s.name;
    p += "\",\"price\":";
    put_number(p, t.price);
    p += ",\"size\":";
    put_number(p, t.size);
    p += ",\"side\":\"";
    p += t.side;
    p += "\",\"ts_ns\":";
    put_number(p, t.ts_ns);
    p += '}';
    // Stamped here rather than by the bus so the onset is the publish time.
    m->timestamp_ns = clock_.now_ns();
    if (t.in_crash) mark_onset(s, t.ts_ns, m->timestamp_ns);
    if (!router_.publish(BusKind::kMarketData, std::move(m))) ++refused_;
    if (quotes_ && s.trades++ % kTradesPerBar == 0) publish_quote(s, t);
  }

  // The first crash trade of an episode marks its onset.
  static void mark_onset(CrashSymbol& s, std::int64_t ts_ns, std::int64_t wall_ns) {
    while (s.next_crash < s.crashes.size() && ts_ns >= s.crashes[s.next_crash].end_feed_ns) ++s.next_crash;
    if (s.next_crash == s.crashes.size()) return;
    Crash& c = s.crashes[s.next_crash];
    if (ts_ns < c.onset_feed_ns || c.onset_wall.load(std::memory_order_relaxed) != 0) return;
    c.onset_mono.store(monotonic_now_ns(), std::memory_order_relaxed);
    c.onset_wall.store(wall_ns, std::memory_order_release);
  }

  void publish_quote(const CrashSymbol& s, const md::SyntheticTrade& t) {
    auto q = pool_.acquire();
    q->topic = s.quote_topic;
    q->type = MessageType::kQuote;
    q->priority = Priority::kNormal;
    q->source = kFeedSource;
    std::string& p = q->payload;
    const auto cents = static_cast<std::int64_t>(std::llround(t.price * 100));
    p.assign("{\"symbol\":\"");
    p += s.name;
    p += "\",\"bid\":";
    put_cents(p, std::max<std::int64_t>(1, cents - 1));
    p += ",\"ask\":";
    put_cents(p, cents + 1);
    // No ts_ns: feed time runs behind the wall clock, and the portfolio fills
    // only at a quote from after risk's decision (the publish time here).
    p += '}';
    if (!router_.publish(BusKind::kMarketData, std::move(q))) ++refused_;
  }

  Router& router_;
  Clock& clock_;
  md::SyntheticFeed& feed_;
  std::vector<std::unique_ptr<CrashSymbol>>& symbols_;
  MessagePool pool_{4096};
  std::vector<Item> batch_;
  std::uint64_t published_ = 0;
  std::uint64_t refused_ = 0;
  bool quotes_ = false;
};

// When each symbol crashes, as bars from the measured span's start.
struct CrashPlan {
  std::vector<std::vector<std::int64_t>> onset_bars;  // per symbol, ascending
  int per_symbol = 1;
  int fit = 1;  // most per symbol the span holds at kCrashGapBars
};

// One crash per symbol: onsets spread over 15%..75% of the span, so the last
// symbol's warning still has feed time after it. More: a symbol's crashes
// kCrashGapBars apart from 10% of the span, the symbols staggered across one
// gap (so crashes of different symbols rarely share a bar), the last where
// its crash bars and the bar closing them still fit. Asked for more than fit,
// the run does what fits (said in a note).
CrashPlan plan_crashes(const FlashCrashConfig& cfg, std::int64_t span_bars) {
  CrashPlan p;
  const std::int64_t first = std::max<std::int64_t>(2, span_bars / 10);  // the strategies trade before the first HALT
  const std::int64_t last = span_bars - kCrashBars - 2;
  const std::int64_t offset_max = kCrashGapBars - 1;
  p.fit = last - first - offset_max >= 0 ? static_cast<int>((last - first - offset_max) / kCrashGapBars) + 1 : 1;
  const int wanted = cfg.crashes_per_symbol > 0 ? cfg.crashes_per_symbol : (cfg.start_engines ? p.fit : 1);
  p.per_symbol = std::min(wanted, p.fit);
  for (int i = 0; i < cfg.symbols; ++i) {
    std::vector<std::int64_t> bars;
    if (p.per_symbol == 1) {
      const double at = 0.15 + 0.60 * (i + 0.5) / cfg.symbols;
      bars.push_back(std::max<std::int64_t>(2, std::llround(at * static_cast<double>(span_bars))));
    } else {
      const std::int64_t offset = kCrashGapBars * i / cfg.symbols;
      for (int k = 0; k < p.per_symbol; ++k) bars.push_back(first + offset + k * kCrashGapBars);
    }
    p.onset_bars.push_back(std::move(bars));
  }
  return p;
}

std::unique_ptr<Engine> start_engine(std::unique_ptr<Engine> e, Router& router, Clock& clock, nlohmann::json cfg) {
  try {
    e->start(EngineContext{router, clock, std::move(cfg)});
  } catch (const std::exception& ex) {
    throw CliError(kExitFailure, "cannot start the " + std::string(e->kind()) + " engine: " + ex.what());
  }
  return e;
}

nlohmann::json engine_json(const Engine& e) {
  EngineHealth h = e.health();
  return {{"state", std::string(to_string(h.state))}, {"messages", h.messages}, {"errors", h.errors}};
}

// Sleeps in short steps until `done` holds, `deadline` (monotonic) passes or
// `stop` is set. Not faster than every 5 ms: an engine's health() takes its
// lock and builds its metrics, which a busy poll would contend with.
template <typename Pred>
bool wait_for(Pred done, std::int64_t deadline, const std::atomic<bool>& stop) {
  while (!done()) {
    if (monotonic_now_ns() >= deadline || stop.load()) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

BenchReport run_flash_crash(Router& router, const FlashCrashConfig& cfg, const std::atomic<bool>& stop) {
  Clock& clock = router.marketdata().clock();
  const auto bar_ns = static_cast<std::int64_t>(std::llround(cfg.vpin_bar_s * 1e9));
  const double speed = cfg.vpin_bar_s * 1000.0 / cfg.bar_wall_ms;  // feed seconds per wall second
  // Enough calm bars (two buckets each) for a CDF over most of the history.
  const int history = cfg.start_engines ? kBenchVpinHistory : cfg.vpin_history_buckets;
  const int warm_bars = std::max(300, static_cast<int>(std::ceil(0.7 * history)));
  const auto span_ns = static_cast<std::int64_t>(cfg.duration_s * speed * 1e9);
  const std::int64_t span_bars = std::max<std::int64_t>(span_ns / bar_ns, 4);

  // Feed time: the calm history [f0, f1), then the measured span from f1,
  // all of it before the wall clock's present.
  const std::int64_t f1 = (clock.now_ns() - span_ns - bar_ns) / bar_ns * bar_ns;
  const std::int64_t f0 = f1 - warm_bars * bar_ns;

  const CrashPlan plan = plan_crashes(cfg, span_bars);
  std::vector<std::unique_ptr<CrashSymbol>> symbols;
  md::SyntheticConfig fc;
  fc.seed = cfg.seed;
  fc.start_ns = f0;
  fc.trades_per_second = kTradesPerBar / cfg.vpin_bar_s;
  fc.mean_trade_size = 2.0 * cfg.vpin_bucket_volume / kTradesPerBar;  // two buckets per calm bar
  fc.jumps_per_hour = 0;  // a calm market: a price jump is a toxic bar of its own
  for (int i = 0; i < cfg.symbols; ++i) {
    auto s = std::make_unique<CrashSymbol>();
    s->name = symbol_name(i);
    s->topic = std::string(kTradePrefix) + s->name;
    s->quote_topic = "marketdata.real_time.quote." + s->name;
    for (const std::int64_t bar : plan.onset_bars[static_cast<std::size_t>(i)]) {
      Crash& c = s->crashes.emplace_back();
      c.onset_feed_ns = f1 + bar * bar_ns;
      c.end_feed_ns = c.onset_feed_ns + kCrashBars * bar_ns;
      md::CrashEpisode ep;
      ep.symbol = s->name;
      ep.start_ns = c.onset_feed_ns;
      ep.duration_ns = kCrashBars * bar_ns;
      ep.plunge = kCrashPlunge;
      ep.volume_multiplier = kCrashVolumeX;
      fc.crashes.push_back(ep);
    }
    symbols.push_back(std::move(s));
  }
  md::SyntheticFeed feed(fc);
  FeedPublisher feed_pub(router, clock, feed, symbols);

  std::unique_ptr<Engine> vpin, risk, features, strategy, portfolio;
  if (cfg.start_engines) vpin = start_engine(make_vpin_engine(), router, clock, bench_vpin_config(cfg));

  auto say = [&cfg](const std::string& line) {
    if (cfg.progress) cfg.progress(line);
  };
  // 1. Calm history, as fast as the bus takes it, a few bars at a time.
  say("warming up: " + std::to_string(warm_bars) + " calm bars of " + std::to_string(cfg.symbols) +
      " symbols into VPIN");
  const std::int64_t warm_start = monotonic_now_ns();
  // In-process, a few bars at a time, then a drain: VPIN's queue drops the
  // oldest normal-priority trades when it overflows, and a history with holes
  // would be a different market. (A Redis stream holds them until read.)
  constexpr int kWarmChunkBars = 8;
  const bool inproc = router.marketdata().stats().backend == "inproc";
  for (std::int64_t t = f0; t < f1 && !stop.load(); t += kWarmChunkBars * bar_ns) {
    feed_pub.publish_between(t, std::min(f1, t + kWarmChunkBars * bar_ns));
    if (vpin && inproc) router.marketdata().drain(std::chrono::seconds(30));
  }
  const std::uint64_t warm_trades = feed_pub.published();
  if (vpin) {
    wait_for([&] { return vpin->health().messages >= warm_trades; }, monotonic_now_ns() + 30'000'000'000LL, stop);
  } else if (cfg.wait_for_warmup) {
    cfg.wait_for_warmup(warm_trades);
  }
  const double warm_s = static_cast<double>(monotonic_now_ns() - warm_start) / 1e9;
  // The risk engine starts on a warmed-up VPIN: a calm-history false alarm
  // would otherwise have halted trading before the run began.
  if (cfg.start_engines) {
    risk = start_engine(make_risk_engine(), router, clock, bench_risk_config());
    std::vector<std::string> names;
    for (const auto& s : symbols) names.push_back(s->name);
    portfolio = start_engine(make_portfolio_engine(), router, clock, nlohmann::json::object());
    strategy = start_engine(make_strategy_engine(), router, clock, bench_strategy_config(cfg, names));
    features = start_engine(make_features_engine(), router, clock, bench_features_config(cfg));
    feed_pub.set_quotes(true);
  }

  // 2. Observers of the chain and the flood's subscribers.
  ChainLog chain;
  std::vector<SubscriptionPtr> observers;
  auto observer_options = [&](const std::string& what) {
    SubscribeOptions o;
    o.name = "bench-flash-crash-" + what;
    o.group = cfg.group_prefix + "-" + what;
    o.queue_capacity = cfg.queue_capacity;
    o.overflow = OverflowPolicy::kBlock;
    return o;
  };
  observers.push_back(router.subscribe(
      BusKind::kEngine, "vpin.alert.*",
      [&chain, &clock](const MessagePtr& m) {
        const std::int64_t now = delivery_now(clock);
        if (m->type != MessageType::kFlashCrashWarning) return;
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        ChainEvent e{m->topic.substr(m->topic.rfind('.') + 1), m->correlation_id, now, m->origin_ns, m->timestamp_ns, 0};
        if (j.is_object()) e.end_ns = j.value("end_ns", std::int64_t{0});
        std::lock_guard lock(chain.mu);
        chain.latency[lane_of(m->priority)].add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - m->timestamp_ns)));
        chain.warnings.push_back(std::move(e));
      },
      observer_options("warnings")));
  observers.push_back(router.subscribe(
      BusKind::kEngine, "risk.*",
      [&chain, &clock](const MessagePtr& m) {
        const std::int64_t now = delivery_now(clock);
        const bool state = m->topic == "risk.state";
        if (!state && m->topic != "risk.alert.vpin_toxicity") return;
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (!j.is_object()) return;
        ChainEvent e{j.value("symbol", std::string()), m->correlation_id, now, m->origin_ns, m->timestamp_ns, 0};
        std::lock_guard lock(chain.mu);
        if (state && j.value("state", std::string()) == "HALTED") {
          chain.state_halts.push_back(std::move(e));
        } else if (!state && j.value("level", std::string()) == "critical") {
          chain.latency[lane_of(m->priority)].add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - m->timestamp_ns)));
          chain.halts.push_back(std::move(e));
        }
      },
      observer_options("risk")));
  // The strategies' side: their stops, orders, cancels, and the portfolio's
  // fills of those orders.
  observers.push_back(router.subscribe(
      BusKind::kEngine, "strategy.*",
      [&chain, &clock](const MessagePtr& m) {
        const std::int64_t now = delivery_now(clock);
        const std::string_view topic = m->topic;
        std::lock_guard lock(chain.mu);
        if (topic.starts_with("strategy.signal.")) {
          ++chain.strategy_signals;
          return;
        }
        if (topic.starts_with("strategy.cancel.")) {
          ++chain.strategy_cancels;
          return;
        }
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (!j.is_object()) return;
        if (topic.starts_with("strategy.order.")) {
          chain.strategy_orders[j.value("id", std::string())] = j.value("symbol", std::string());
        } else if (topic.starts_with("strategy.state.") && j.value("state", std::string()) == "HALTED") {
          const std::string symbol = j["symbol"].is_string() ? j["symbol"].get<std::string>() : std::string();
          chain.strategy_stops.push_back(
              {symbol, j.value("halt_correlation_id", std::string()), now, m->origin_ns, m->timestamp_ns, 0});
          chain.latency[lane_of(m->priority)].add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - m->timestamp_ns)));
        }
      },
      observer_options("strategy")));
  observers.push_back(router.subscribe(
      BusKind::kEngine, "portfolio.fill.*",
      [&chain](const MessagePtr& m) {
        if (m->type != MessageType::kFill) return;
        auto j = nlohmann::json::parse(m->payload, nullptr, false);
        if (!j.is_object()) return;
        std::lock_guard lock(chain.mu);
        chain.fills.push_back({j.value("order_id", std::string()), j.value("symbol", std::string()), m->timestamp_ns,
                               j.value("decision_ns", std::int64_t{0}), j.value("risk_state", std::string()) == "HALTED",
                               j.value("opened_quantity", 0.0) > 0.0});
      },
      observer_options("fills")));

  const auto total_cap = static_cast<std::uint64_t>(cfg.rate * cfg.duration_s * 1.02) + 1024;
  Flood flood(router, cfg, total_cap);
  std::array<std::unique_ptr<Tracker>, kStreams> trackers;
  std::vector<SubscriptionPtr> tracker_subs;
  struct TrackerSpec {
    FloodStream stream;
    BusKind bus;
    const char* pattern;
    const char* name;
  };
  for (const TrackerSpec& spec : {TrackerSpec{kMdFlood, BusKind::kMarketData, "bench.*", "md"},
                                  TrackerSpec{kEngineFlood, BusKind::kEngine, "bench.*", "engine"},
                                  TrackerSpec{kQuoteFlood, BusKind::kMarketData, "marketdata.real_time.quote.BG*", "quotes"}}) {
    std::vector<std::uint64_t> caps(kStreams, 0);
    caps[spec.stream] = flood.cap(spec.stream);
    trackers[spec.stream] = std::make_unique<Tracker>(caps);
    Tracker* t = trackers[spec.stream].get();
    SubscribeOptions o;
    o.name = std::string("bench-flood-") + spec.name;
    o.group = cfg.group_prefix + "-flood-" + spec.name;
    o.queue_capacity = cfg.queue_capacity;
    o.overflow = OverflowPolicy::kDropOldest;  // low and normal may be dropped under overload, high+ never
    o.mode = DeliveryMode::kPolled;            // all three on one poller thread, below
    tracker_subs.push_back(router.subscribe(
        spec.bus, spec.pattern,
        [t, &clock](const MessagePtr& m) {
          if (m->source != kFloodSource) return;
          t->on_message(*m, delivery_now(clock));
        },
        o));
  }

  // One thread delivers to all three trackers: on two cores, three delivery
  // threads spinning for work would take the CPU from the engines under test.
  // It spins while traffic flows and naps when there is none.
  std::atomic<bool> poll_done{false};
  std::thread poller([&] {
    std::int64_t idle_since = 0;
    while (!poll_done.load(std::memory_order_relaxed)) {
      std::size_t n = 0;
      for (auto& s : tracker_subs) n += s->poll(256);
      if (n > 0) {
        idle_since = 0;
        continue;
      }
      const std::int64_t now = monotonic_now_ns();
      if (idle_since == 0) idle_since = now;
      if (now - idle_since > kPollSpinNs) std::this_thread::sleep_for(kPollNap);
    }
  });

  // 3. The measured phase: flood and feed together.
  const std::int64_t start = monotonic_now_ns() + 2'000'000;
  const std::int64_t end = start + static_cast<std::int64_t>(cfg.duration_s * 1e9);
  say("running: " + format_fixed(cfg.duration_s, 1) + " s, background " + format_count(cfg.rate) +
      " msgs/s over both buses, " + std::to_string(plan.per_symbol * cfg.symbols) + " crashes of " +
      std::to_string(cfg.symbols) + " symbols on a feed at x" + format_fixed(speed, 0));
  SchedProbe sched_probe;  // the machine's own stalls over the same phase
  std::thread flood_thread([&] { flood.run(start, end, stop); });
  std::thread feed_thread([&] {
    ::prctl(PR_SET_TIMERSLACK, 1000UL);
    wait_until(start);
    std::int64_t cursor = f1;
    for (;;) {
      const std::int64_t now = monotonic_now_ns();
      const std::int64_t f = f1 + static_cast<std::int64_t>(static_cast<double>(now - start) * speed);
      feed_pub.publish_between(cursor, f);
      cursor = f;
      if (now >= end || stop.load(std::memory_order_relaxed)) break;
      std::this_thread::sleep_for(kFeedTick);
    }
  });
  flood_thread.join();
  feed_thread.join();
  const nlohmann::json sched_delay = sched_probe.stop();
  const std::int64_t flood_end = std::min(monotonic_now_ns(), end);

  // 4. Stragglers: every flood message delivered once, every crash halted.
  say("draining");
  const std::int64_t drain_deadline = monotonic_now_ns() + static_cast<std::int64_t>(cfg.drain_timeout_s * 1e9);
  std::atomic<bool> never{false};
  auto all_delivered = [&] {
    for (std::size_t s = 0; s < kStreams; ++s) {
      if (trackers[s]->unique.load(std::memory_order_acquire) < flood.published(static_cast<FloodStream>(s))) return false;
    }
    return true;
  };
  wait_for(all_delivered, drain_deadline, never);
  std::int64_t delivered_at = monotonic_now_ns();
  if (!all_delivered()) {
    delivered_at = 0;
    for (auto& t : trackers) delivered_at = std::max(delivered_at, t->last_ns.load(std::memory_order_acquire));
  }
  auto crashed = [&] {  // crashes begun, all symbols
    std::size_t n = 0;
    for (auto& s : symbols) {
      for (auto& c : s->crashes) n += c.onset_wall.load() != 0;
    }
    return n;
  };
  // As many HALTs of each symbol since its first onset as crashes it began (a
  // wait only: the report matches a HALT to its crash by the warning's correlation).
  auto halted_all = [&] {
    std::lock_guard lock(chain.mu);
    for (auto& s : symbols) {
      std::size_t begun = 0;
      std::int64_t first = 0;
      for (auto& c : s->crashes) {
        if (const std::int64_t o = c.onset_wall.load(); o != 0) {
          ++begun;
          if (first == 0) first = o;
        }
      }
      std::size_t halts = 0;
      for (const auto& h : chain.halts) halts += h.symbol == s->name && h.delivered >= first ? 1 : 0;
      if (begun > 0 && halts < begun) return false;
    }
    return true;
  };
  // The chain may still be working through a backlog (a slow build, a busy
  // machine): let VPIN take in every trade, then wait for the HALTs.
  const auto drain_ns = static_cast<std::int64_t>(cfg.drain_timeout_s * 1e9);
  if (vpin) {
    wait_for([&] { return vpin->health().messages >= feed_pub.published(); }, monotonic_now_ns() + drain_ns, never);
  }
  wait_for(halted_all, monotonic_now_ns() + drain_ns, never);

  // 5. Teardown: our subscribers first (their trackers become ours), then the
  // engines, then the observers that watch them.
  poll_done.store(true);
  poller.join();
  for (auto& s : tracker_subs) s->cancel();
  nlohmann::json engines = nlohmann::json::object();
  for (auto* e : {&features, &strategy, &portfolio}) {
    if (!*e) continue;
    (*e)->stop();
    engines[std::string((*e)->kind())] = engine_json(**e);
  }
  if (risk) {
    risk->stop();
    engines["risk"] = engine_json(*risk);
  }
  if (vpin) {
    vpin->stop();
    engines["vpin"] = engine_json(*vpin);
  }
  for (auto& s : observers) s->cancel();

  // 6. The report.
  BenchReport r;
  r.scenario = "flash-crash";
  r.backend = cfg.backend;
  r.publishers = 1;
  r.subscribers = static_cast<int>(kStreams);
  r.payload_bytes = cfg.payload_bytes;
  r.target_rate = cfg.rate;
  r.duration_s = static_cast<double>(flood_end - start) / 1e9;
  std::uint64_t unique = 0;
  for (std::size_t s = 0; s < kStreams; ++s) {
    auto stream = static_cast<FloodStream>(s);
    std::vector<std::uint64_t> published(kStreams, 0);
    published[s] = flood.published(stream);
    count_published(r, flood.cycle(stream), published);
    count_delivered(r, *trackers[s], flood.cycle(stream), published);
    unique += trackers[s]->unique.load();
    if (trackers[s]->malformed) r.notes.push_back(std::to_string(trackers[s]->malformed) + " malformed flood deliveries");
  }
  const double delivery_window_s = static_cast<double>(std::max(delivered_at, flood_end) - start) / 1e9;

  // Per crash: the first warning whose bucket ends in it (at or after its
  // onset, before the symbol's next crash; an earlier bucket over the threshold
  // is a false alarm), and the HALT that answered that warning.
  std::vector<double> first_warning, halt, chain_ms, tick_to_warning;
  std::vector<double> hop_vpin, hop_risk, hop_deliver;  // where the chain's time goes
  std::vector<double> strategy_stop, hop_strategy;
  nlohmann::json per_symbol = nlohmann::json::array();
  nlohmann::json per_crash = nlohmann::json::array();
  std::size_t halted = 0, halted_symbols = 0, crashed_symbols = 0, false_warnings = 0;
  std::string unhalted;
  nlohmann::json risk_state = {{"halted", false}};
  std::int64_t first_onset = 0;  // of any crash
  for (auto& s : symbols) {
    for (auto& c : s->crashes) {
      const std::int64_t o = c.onset_wall.load();
      if (o != 0 && (first_onset == 0 || o < first_onset)) first_onset = o;
    }
  }
  {
    std::lock_guard lock(chain.mu);
    for (auto& s : symbols) {
      const std::size_t n = s->crashes.size();
      // The crash a warning belongs to: its bucket's end in [onset, next onset).
      auto crash_of = [&](const ChainEvent& w) -> std::optional<std::size_t> {
        for (std::size_t k = n; k-- > 0;) {
          if (w.end_ns >= s->crashes[k].onset_feed_ns) {
            if (s->crashes[k].onset_wall.load() == 0) return std::nullopt;
            return k;
          }
        }
        return std::nullopt;
      };
      std::vector<const ChainEvent*> warning_of(n, nullptr);
      for (const auto& w : chain.warnings) {
        if (w.symbol != s->name) continue;
        const auto k = crash_of(w);
        if (!k) {
          ++false_warnings;
        } else if (!warning_of[*k] || w.delivered < warning_of[*k]->delivered) {
          warning_of[*k] = &w;
        }
      }
      nlohmann::json row = {{"symbol", s->name}, {"crashed", false}, {"crashes", 0}, {"halted_crashes", 0}};
      std::vector<double> symbol_halts;
      for (std::size_t k = 0; k < n; ++k) {
        const Crash& c = s->crashes[k];
        const std::int64_t onset = c.onset_wall.load();
        if (onset == 0) continue;
        const ChainEvent* warning = warning_of[k];
        const ChainEvent* h = nullptr;
        if (warning) {
          for (const auto& x : chain.halts) {
            if (x.symbol == s->name && x.correlation == warning->correlation) h = &x;
          }
        }
        // The strategy's answer to this warning: the first strategy.state HALTED
        // carrying its correlation (from the warning itself or risk's HALT).
        const ChainEvent* stop_event = nullptr;
        if (warning) {
          for (const auto& x : chain.strategy_stops) {
            if (x.correlation == warning->correlation && (!stop_event || x.delivered < stop_event->delivered)) stop_event = &x;
          }
        }
        nlohmann::json one = {{"symbol", s->name}, {"crash", k}, {"onset_s", static_cast<double>(c.onset_mono.load() - start) / 1e9}};
        if (warning) {
          first_warning.push_back(ms(warning->delivered - onset));
          tick_to_warning.push_back(ms(warning->delivered - warning->origin));
          one["first_warning_ms"] = first_warning.back();
          one["tick_to_warning_ms"] = tick_to_warning.back();
        }
        if (!h) unhalted += " " + s->name + "#" + std::to_string(k + 1) + (warning ? " (warned)" : " (no warning)");
        if (stop_event) {
          strategy_stop.push_back(ms(stop_event->delivered - onset));
          hop_strategy.push_back(ms(stop_event->published - warning->published));
          one["strategy_stop_ms"] = strategy_stop.back();
        }
        if (h) {
          ++halted;
          halt.push_back(ms(h->delivered - onset));
          chain_ms.push_back(ms(h->delivered - h->origin));
          hop_vpin.push_back(ms(warning->published - warning->origin));
          hop_risk.push_back(ms(h->published - warning->published));
          hop_deliver.push_back(ms(h->delivered - h->published));
          one["halt_ms"] = halt.back();
          one["chain_ms"] = chain_ms.back();
          symbol_halts.push_back(halt.back());
        }
        // The symbol's row: its first crash's figures, and how many it had.
        if (!row["crashed"].get<bool>()) {
          for (auto it = one.begin(); it != one.end(); ++it) {
            if (it.key() != "symbol" && it.key() != "crash") row[it.key()] = it.value();
          }
          row["onset_wall_ns"] = onset;
          row["crashed"] = true;
        }
        row["crashes"] = row["crashes"].get<int>() + 1;
        if (h) row["halted_crashes"] = row["halted_crashes"].get<int>() + 1;
        per_crash.push_back(std::move(one));
      }
      if (!symbol_halts.empty()) row["halt_ms_max"] = *std::max_element(symbol_halts.begin(), symbol_halts.end());
      if (row["crashed"].get<bool>()) {
        ++crashed_symbols;
        if (row["halted_crashes"] == row["crashes"]) ++halted_symbols;
      }
      per_symbol.push_back(row);
    }
    if (!chain.state_halts.empty()) {
      const ChainEvent& e = chain.state_halts.front();
      risk_state = {{"halted", true},
                    {"transitions", chain.state_halts.size()},
                    {"after_first_onset_ms", first_onset != 0 ? nlohmann::json(ms(e.delivered - first_onset)) : nlohmann::json(nullptr)},
                    {"chain_ms", ms(e.delivered - e.origin)}};
    }
    // The strategies: the first stop after the first onset, and every fill of
    // their orders published after the first HALT (all symbols are halted
    // then: risk's state is portfolio-wide) or after the stop of the
    // instance trading the symbol.
    std::int64_t halt_published = 0;
    for (const auto& e : chain.state_halts) {
      if (halt_published == 0 || e.published < halt_published) halt_published = e.published;
    }
    std::map<std::string, std::int64_t> stop_published;  // symbol -> its instance's first warning stop
    const ChainEvent* first_stop = nullptr;
    for (const auto& x : chain.strategy_stops) {
      if (!x.symbol.empty()) {
        auto [it, fresh] = stop_published.emplace(x.symbol, x.published);
        if (!fresh) it->second = std::min(it->second, x.published);
      }
      if (first_onset != 0 && x.delivered >= first_onset && (!first_stop || x.delivered < first_stop->delivered)) first_stop = &x;
    }
    // A fill after the HALT is a failure when the portfolio made it knowing of
    // the HALT, or risk approved it after the HALT, and it added exposure. A
    // fill of an approval from before the HALT, made in the moment before the
    // HALT reached the portfolio (one delivery), is counted apart as in flight:
    // nothing can act on a message before it arrives, and on a real exchange
    // such an order fills too.
    std::uint64_t strategy_fills = 0, fills_after_halt = 0, fills_after_stop = 0, in_flight = 0;
    std::int64_t in_flight_max_ns = 0;
    std::string late_fills;
    for (const auto& f : chain.fills) {
      if (!chain.strategy_orders.count(f.order_id)) continue;
      ++strategy_fills;
      if (halt_published != 0 && f.published > halt_published) {
        const bool decided_after = f.decision_ns > halt_published;
        if (f.opened && (f.executor_halted || decided_after)) {
          if (fills_after_halt++ < 5) {
            late_fills += " " + f.order_id + " (" + f.symbol + ", filled " + format_fixed(ms(f.published - halt_published), 3) +
                          " ms after the HALT, " + (f.executor_halted ? "with the HALT read" : "approved after it") + ")";
          }
        } else {
          ++in_flight;
          in_flight_max_ns = std::max(in_flight_max_ns, f.published - halt_published);
        }
      }
      if (auto it = stop_published.find(f.symbol); it != stop_published.end() && f.published > it->second) ++fills_after_stop;
    }
    r.extra["strategy"] = {
        {"stops", chain.strategy_stops.size()},
        {"signals", chain.strategy_signals},
        {"orders", chain.strategy_orders.size()},
        {"cancels", chain.strategy_cancels},
        {"fills", strategy_fills},
        {"fills_after_halt", fills_after_halt},
        {"in_flight_at_halt", in_flight},
        {"in_flight_max_ms", ms(in_flight_max_ns)},
        {"fills_after_stop", fills_after_stop},
        {"first_stop_after_first_onset_ms",
         first_stop ? nlohmann::json(ms(first_stop->delivered - first_onset)) : nlohmann::json(nullptr)}};
    if (fills_after_halt > 0) {
      r.notes.push_back(std::to_string(fills_after_halt) + " strategy order(s) filled after the HALT:" + late_fills);
    }
    if (in_flight > 0) {
      r.notes.push_back(std::to_string(in_flight) + " order(s) risk approved before the HALT filled before it reached the portfolio (at most " +
                        format_fixed(ms(in_flight_max_ns), 3) + " ms after it went out)");
    }
    if (chain.strategy_stops.empty()) r.notes.push_back("no strategy.state HALTED seen: no strategy engine on these buses");
    if (!chain.strategy_orders.empty() && strategy_fills == 0) r.notes.push_back("strategy orders but no fills: no portfolio engine filling them");
    nlohmann::json chain_latency = nlohmann::json::object();
    for (Priority p : {Priority::kFlashCrash, Priority::kUrgent}) {
      if (chain.latency[lane_of(p)].count() > 0) {
        chain_latency[std::string(to_string(p))] = latency_json_us(chain.latency[lane_of(p)]);
      }
    }
    r.extra["chain_delivery_latency_us"] = chain_latency;
  }

  std::uint64_t lost_high = 0;
  for (Priority p : {Priority::kHigh, Priority::kUrgent, Priority::kFlashCrash}) lost_high += r.by_priority[lane_of(p)].lost;
  const std::size_t n_crashed = crashed();  // crashes begun, every symbol
  const bool fills_ok = r.extra["strategy"].value("fills_after_halt", std::uint64_t{0}) == 0;
  const bool pass = lost_high == 0 && n_crashed > 0 && halted == n_crashed && fills_ok;

  r.extra["delivered_msgs_per_s"] = delivery_window_s > 0 ? static_cast<double>(unique) / delivery_window_s : 0.0;
  r.extra["drain_s"] = static_cast<double>(std::max<std::int64_t>(0, delivered_at - flood_end)) / 1e9;
  r.extra["first_warning_ms"] = summary_ms(first_warning);
  r.extra["halt_ms"] = summary_ms(halt);
  r.extra["chain_ms"] = summary_ms(chain_ms);
  r.extra["strategy_stop_ms"] = summary_ms(strategy_stop);
  r.extra["sched_delay_us"] = sched_delay;
  r.extra["tick_to_warning_ms"] = summary_ms(tick_to_warning);
  r.extra["chain_hops_ms"] = {{"tick_to_warning_published", summary_ms(hop_vpin)},
                              {"warning_to_halt_published", summary_ms(hop_risk)},
                              {"halt_published_to_delivered", summary_ms(hop_deliver)},
                              {"warning_to_strategy_stop_published", summary_ms(hop_strategy)}};
  r.extra["crash_symbols"] = cfg.symbols;
  r.extra["crashed_symbols"] = crashed_symbols;
  r.extra["halted_symbols"] = halted_symbols;  // every crash of the symbol halted
  r.extra["crashes_per_symbol"] = plan.per_symbol;
  r.extra["planned_crashes"] = static_cast<std::size_t>(plan.per_symbol) * symbols.size();
  r.extra["crashes"] = n_crashed;
  r.extra["halted_crashes"] = halted;
  r.extra["false_warnings"] = false_warnings;
  r.extra["risk_state"] = risk_state;
  r.extra["lost_high_and_above"] = lost_high;
  r.extra["pass"] = pass;
  r.extra["symbols"] = per_symbol;
  r.extra["crash_list"] = per_crash;
  r.extra["feed"] = {{"speed", speed},
                     {"bar_s", cfg.vpin_bar_s},
                     {"bar_wall_ms", cfg.bar_wall_ms},
                     {"bucket_volume", cfg.vpin_bucket_volume},
                     {"warmup_bars", warm_bars},
                     {"warmup_trades", warm_trades},
                     {"warmup_s", warm_s},
                     {"trades", feed_pub.published() - warm_trades},
                     {"crash_bars", kCrashBars},
                     {"crash_gap_bars", kCrashGapBars},
                     {"crash_plunge", kCrashPlunge},
                     {"crash_volume_x", kCrashVolumeX}};
  if (!engines.empty()) r.extra["engines"] = engines;
  r.extra["bus_dropped"] = {{"marketdata", router.marketdata().stats().dropped}, {"engine", router.engine().stats().dropped}};
  if (flood.refused()) r.notes.push_back(std::to_string(flood.refused()) + " flood publishes refused; first: " + flood.first_error());
  if (feed_pub.refused()) r.notes.push_back(std::to_string(feed_pub.refused()) + " feed trades refused by the bus");
  if (stop.load()) r.notes.push_back("interrupted: stopped early, figures cover the run so far");
  if (cfg.crashes_per_symbol > plan.per_symbol) {
    r.notes.push_back("only " + std::to_string(plan.per_symbol) + " crash(es) per symbol fit in this run (asked " +
                      std::to_string(cfg.crashes_per_symbol) + "; one every " + std::to_string(kCrashGapBars) +
                      " bars): lengthen --duration");
  }
  if (crashed_symbols < static_cast<std::size_t>(cfg.symbols)) {
    r.notes.push_back(std::to_string(cfg.symbols - static_cast<int>(crashed_symbols)) + " symbol(s) never reached their crash");
  }
  if (const std::size_t planned = static_cast<std::size_t>(plan.per_symbol) * symbols.size();
      n_crashed < planned && crashed_symbols == symbols.size()) {
    r.notes.push_back(std::to_string(planned - n_crashed) + " planned crash(es) not reached before the run ended");
  }
  if (halted < n_crashed) {
    r.notes.push_back(std::to_string(n_crashed - halted) + " crash(es) without a HALT, the chain broke:" + unhalted);
  }
  if (delivery_window_s > 0 && delivered_at == 0) r.notes.push_back("flood deliveries still missing after the drain timeout");
  return r;
}

bool flash_crash_passed(const BenchReport& r) { return r.extra.value("pass", false); }

void print_flash_crash(const BenchReport& r, std::ostream& out, bool color) {
  const nlohmann::json& x = r.extra;
  BenchReport flood = r;
  flood.extra = nlohmann::json::object();
  flood.notes.clear();
  flood.scenario = "flash-crash background";
  flood.print_table(out, color);
  out << "  delivered " << format_count(x.value("delivered_msgs_per_s", 0.0)) << " msgs/s sustained"
      << " (drain after the flood " << format_fixed(x.value("drain_s", 0.0), 3) << " s)\n\n";

  const auto& feed = x["feed"];
  out << "crash chain: " << x["crashes"].get<int>() << " crashes (" << x["crashes_per_symbol"].get<int>()
      << " per symbol, " << x["crashed_symbols"].get<int>() << "/" << x["crash_symbols"].get<int>()
      << " symbols), " << x["halted_crashes"].get<int>() << " halted; feed x"
      << format_fixed(feed["speed"].get<double>(), 0) << " (" << format_fixed(feed["bar_s"].get<double>(), 0)
      << " s VPIN bar = " << format_fixed(feed["bar_wall_ms"].get<double>(), 1) << " ms), calm history "
      << feed["warmup_bars"].get<int>() << " bars in " << format_fixed(feed["warmup_s"].get<double>(), 2) << " s\n";
  Table t({"ms", "p50", "p90", "p99", "max", "n"});
  auto cell = [](const nlohmann::json& v) { return v.is_number() ? format_fixed(v.get<double>(), 3) : std::string("-"); };
  for (const auto& [label, key] : {std::pair{"onset -> first warning", "first_warning_ms"},
                                   std::pair{"onset -> HALT", "halt_ms"},
                                   std::pair{"onset -> strategy stop", "strategy_stop_ms"},
                                   std::pair{"chain: tick -> HALT", "chain_ms"},
                                   std::pair{"hop: tick -> warning", "tick_to_warning_ms"}}) {
    if (!x.contains(key)) continue;
    const auto& s = x[key];
    t.add_row({label, cell(s["p50"]), cell(s["p90"]), cell(s["p99"]), cell(s["max"]),
               std::to_string(s["samples"].get<int>())});
  }
  for (const auto& [label, key] : {std::pair{"  vpin: tick -> warning out", "tick_to_warning_published"},
                                   std::pair{"  risk: warning out -> HALT out", "warning_to_halt_published"},
                                   std::pair{"  bus: HALT out -> delivered", "halt_published_to_delivered"},
                                   std::pair{"  strategy: warning out -> stop out", "warning_to_strategy_stop_published"}}) {
    if (!x["chain_hops_ms"].contains(key)) continue;
    const auto& s = x["chain_hops_ms"][key];
    t.add_row({label, cell(s["p50"]), cell(s["p90"]), cell(s["p99"]), cell(s["max"]),
               std::to_string(s["samples"].get<int>())});
  }
  t.print(out, color);
  out << "\n";
  // The delivery of the chain's own urgent and flash_crash messages (warnings,
  // HALTs, strategy stops) to the bench's observers, beside the flood's above.
  if (const auto& cl = x["chain_delivery_latency_us"]; cl.is_object() && !cl.empty()) {
    Table d({"chain messages, us", "p50", "p90", "p99", "max", "n"});
    auto us = [](const nlohmann::json& v) { return v.is_number() ? format_fixed(v.get<double>(), 1) : std::string("-"); };
    for (auto it = cl.begin(); it != cl.end(); ++it) {
      const auto& h = it.value();
      d.add_row({it.key(), us(h["p50"]), us(h["p90"]), us(h["p99"]), us(h["max"]),
                 std::to_string(h.value("samples", std::uint64_t{0}))});
    }
    d.print(out, color);
  }
  out << "\n";
  // Per symbol: its first crash, and the worst HALT over all of them.
  Table s({"symbol", "crashes", "halted", "first onset s", "warning ms", "HALT ms", "stop ms", "worst HALT ms"});
  for (const auto& row : x["symbols"]) {
    auto v = [&row](const char* k, int digits) {
      return row.contains(k) ? format_fixed(row[k].get<double>(), digits) : std::string("-");
    };
    s.add_row({row["symbol"].get<std::string>(), std::to_string(row.value("crashes", 0)),
               std::to_string(row.value("halted_crashes", 0)), v("onset_s", 3), v("first_warning_ms", 2),
               v("halt_ms", 2), v("strategy_stop_ms", 2), v("halt_ms_max", 2)});
  }
  s.print(out, color);
  const auto& rs = x["risk_state"];
  if (rs.value("halted", false)) {
    out << "  risk state HALTED";
    if (rs["after_first_onset_ms"].is_number()) {
      out << " " << format_fixed(rs["after_first_onset_ms"].get<double>(), 2) << " ms after the first onset";
    }
    out << "\n";
  } else {
    out << "  risk state: no change to HALTED seen during the run (it may have been HALTED already)\n";
  }
  if (x.contains("strategy")) {
    const auto& st = x["strategy"];
    out << "  strategies: " << st.value("orders", 0) << " orders, " << st.value("fills", 0) << " filled, "
        << st.value("cancels", 0) << " cancelled, " << st.value("stops", 0) << " stops";
    if (st["first_stop_after_first_onset_ms"].is_number()) {
      out << "; first stop " << format_fixed(st["first_stop_after_first_onset_ms"].get<double>(), 2)
          << " ms after the first onset";
    }
    out << "; fills after the HALT: " << st.value("fills_after_halt", 0) << " (in flight as it went out: "
        << st.value("in_flight_at_halt", 0) << "; after the instance's stop: " << st.value("fills_after_stop", 0) << ")\n";
  }
  if (x.value("false_warnings", 0) > 0) {
    out << "  false warnings (calm buckets over the VPIN CDF threshold): " << x["false_warnings"].get<int>() << "\n";
  }
  if (x.contains("sched_delay_us")) {
    const auto& d = x["sched_delay_us"];
    out << "  machine: a thread sleeping 1 ms woke late by p50 " << format_fixed(d.value("p50", 0.0), 0) << " / p99 "
        << format_fixed(d.value("p99", 0.0), 0) << " / max " << format_fixed(d.value("max", 0.0), 0) << " µs ("
        << d.value("samples", 0) << " wake-ups, " << d.value("late_over_1ms", 0) << " over 1 ms): the VM's share of any tail above\n";
  }
  for (const auto& n : r.notes) out << "  note: " << n << "\n";
  const bool pass = flash_crash_passed(r);
  const char* on = color ? (pass ? "\033[32m" : "\033[31m") : "";
  const char* off = color ? "\033[0m" : "";
  out << on << (pass ? "PASS" : "FAIL") << off << ": " << x["lost_high_and_above"].get<std::uint64_t>()
      << " lost at high and above; " << x["halted_crashes"].get<int>() << "/" << x["crashes"].get<int>()
      << " crashes halted; " << (x.contains("strategy") ? x["strategy"].value("fills_after_halt", 0) : 0)
      << " fills after the HALT\n";
}

}  // namespace nautilus::cli
