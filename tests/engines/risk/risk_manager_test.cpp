// Risk manager: every limit kind breached and recovered, hysteresis, cooldown,
// dynamic scaling, the flash-crash halt and the pre-trade check.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engines/risk/risk_manager.h"

using namespace nautilus::risk;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 1'700'000'000 * kSec;

// Every kind disabled except `kind`, no cooldown: the test sees only its own limit.
RiskConfig only(LimitKind kind, double limit, double halt_at = 1.5) {
  RiskConfig c = RiskConfig::defaults();
  for (auto& [k, spec] : c.global) spec.enabled = false;
  LimitSpec s;
  s.limit = limit;
  s.halt_at = halt_at;
  c.global[kind] = s;
  c.cooldown_ns = 0;
  c.sample_ns = kSec;
  c.var_min_samples = 5;
  return c;
}

const LimitAlert* find_alert(const RiskEvents& ev, LimitKind kind) {
  for (const auto& a : ev.alerts) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

// Feeds `n` one-second samples of AAPL alternating +r / −r returns from 100.
std::int64_t feed_returns(RiskManager& m, std::int64_t t, int n, double r) {
  double p = 100.0;
  REQUIRE(m.on_price("AAPL", p, t).is_ok());
  m.evaluate(t);
  for (int i = 0; i < n; ++i) {
    t += kSec;
    p *= (i % 2 == 0) ? 1.0 + r : 1.0 - r;
    REQUIRE(m.on_price("AAPL", p, t).is_ok());
    m.evaluate(t);
  }
  return t;
}

struct LimitCase {
  const char* name;
  LimitKind kind;
  double limit;
  double halt_at;
  std::function<std::int64_t(RiskManager&, std::int64_t)> setup;  // returns the time reached
  std::function<void(RiskManager&, std::int64_t)> breach;
  std::function<void(RiskManager&, std::int64_t)> recover;
  Level level;          // the level the breach reaches
  TradingState state;   // and the state it puts trading in
};

void position(RiskManager& m, const char* sym, double q, std::int64_t t) {
  REQUIRE(m.on_position(sym, q, std::nullopt, t).is_ok());
}

}  // namespace

TEST_CASE("risk: every limit kind is breached and recovered with the right alert and state", "[risk]") {
  auto prices = [](RiskManager& m, std::int64_t t) {
    REQUIRE(m.on_price("AAPL", 100.0, t).is_ok());
    REQUIRE(m.on_price("MSFT", 100.0, t).is_ok());
    return t;
  };
  const std::vector<LimitCase> cases = {
      {"position quantity", LimitKind::kPositionQuantity, 1000, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1200, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 500, t); }, Level::kBreach, TradingState::kReducing},
      {"position quantity, short side", LimitKind::kPositionQuantity, 1000, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", -1600, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 0, t); }, Level::kCritical, TradingState::kHalted},
      {"position notional", LimitKind::kPositionNotional, 100'000, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1200, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 500, t); }, Level::kBreach, TradingState::kReducing},
      {"gross exposure", LimitKind::kGrossExposure, 200'000, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1500, t); position(m, "MSFT", -700, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "MSFT", 0, t); position(m, "AAPL", 500, t); },
       Level::kBreach, TradingState::kReducing},
      {"net exposure", LimitKind::kNetExposure, 100'000, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1500, t); position(m, "MSFT", -300, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "MSFT", -1500, t); }, Level::kBreach, TradingState::kReducing},
      {"leverage", LimitKind::kLeverage, 0.1, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1200, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 100, t); }, Level::kBreach, TradingState::kReducing},
      {"concentration", LimitKind::kConcentration, 0.1, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "MSFT", 2000, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "MSFT", 300, t); }, Level::kCritical, TradingState::kHalted},
      {"daily loss", LimitKind::kDailyLoss, 50'000, 1.0,
       [](RiskManager& m, std::int64_t t) {
         REQUIRE(m.on_fill("AAPL", 10'000, 100.0, t).is_ok());
         m.evaluate(t);
         return t;
       },
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_price("AAPL", 94.5, t).is_ok()); },
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_price("AAPL", 100.0, t).is_ok()); }, Level::kCritical,
       TradingState::kHalted},
      {"drawdown from peak", LimitKind::kDrawdown, 0.05, 1.0,
       [](RiskManager& m, std::int64_t t) {
         REQUIRE(m.on_fill("AAPL", 10'000, 100.0, t).is_ok());
         REQUIRE(m.on_price("AAPL", 110.0, t).is_ok());  // equity peaks at 1.1M
         m.evaluate(t);
         return t;
       },
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_price("AAPL", 104.0, t).is_ok()); },  // 5.45% down
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_price("AAPL", 109.0, t).is_ok()); }, Level::kCritical,
       TradingState::kHalted},
      {"VaR 95", LimitKind::kVar95, 800, 1.5, [](RiskManager& m, std::int64_t t) { return feed_returns(m, t, 20, 0.01); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 1000, t); },  // ~1% of ~100k
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 100, t); }, Level::kBreach, TradingState::kReducing},
      {"VaR 99", LimitKind::kVar99, 800, 1.5, [](RiskManager& m, std::int64_t t) { return feed_returns(m, t, 20, 0.01); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", -1000, t); },
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 0, t); }, Level::kBreach, TradingState::kReducing},
      {"order rate", LimitKind::kOrderRate, 3, 3.0, prices,
       [](RiskManager& m, std::int64_t t) {
         for (int i = 0; i < 4; ++i) (void)m.submit({"o" + std::to_string(i), "AAPL", 1, std::nullopt}, t);
       },
       [](RiskManager&, std::int64_t) {}, Level::kBreach, TradingState::kReducing},
      {"vpin toxicity", LimitKind::kVpinToxicity, 0.9, 1.5, prices,
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_vpin("AAPL", 0.7, 0.95, t).is_ok()); },
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_vpin("AAPL", 0.3, 0.4, t).is_ok()); }, Level::kBreach,
       TradingState::kReducing},
      {"margin utilisation (reported)", LimitKind::kMarginUtilization, 0.5, 1.25, prices,
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_margin(0.55, t).is_ok()); },
       [](RiskManager& m, std::int64_t t) { REQUIRE(m.on_margin(0.2, t).is_ok()); }, Level::kBreach,
       TradingState::kReducing},
      {"margin utilisation (computed)", LimitKind::kMarginUtilization, 0.05, 1.25, prices,
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 3000, t); },  // 300k · 0.25 / 1M = 0.075
       [](RiskManager& m, std::int64_t t) { position(m, "AAPL", 100, t); }, Level::kCritical, TradingState::kHalted},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      RiskManager m(only(c.kind, c.limit, c.halt_at));
      std::int64_t t = c.setup(m, kT0);
      auto ev0 = m.evaluate(t);
      REQUIRE(m.state() == TradingState::kActive);
      CHECK(find_alert(ev0, c.kind) == nullptr);

      t += kSec / 2;
      c.breach(m, t);
      auto ev = m.evaluate(t);
      const LimitAlert* a = find_alert(ev, c.kind);
      REQUIRE(a != nullptr);
      CHECK(a->level == c.level);
      CHECK(a->previous == Level::kOk);
      CHECK(a->value > a->limit);
      CHECK(a->limit == Approx(c.limit));
      CHECK(priority_of(a->level) == nautilus::Priority::kUrgent);
      CHECK(a->to_json()["kind"] == std::string(to_string(c.kind)));
      CHECK(m.state() == c.state);
      REQUIRE(ev.state_changes.size() == 1);
      CHECK(ev.state_changes[0].from == TradingState::kActive);
      CHECK(ev.state_changes[0].to == c.state);
      // Nothing new while the value stays put.
      CHECK(m.evaluate(t).empty());

      t += 2 * kSec;  // also lets the order-rate window pass
      c.recover(m, t);
      auto back = m.evaluate(t);
      a = find_alert(back, c.kind);
      REQUIRE(a != nullptr);
      CHECK(a->level == Level::kOk);
      CHECK(a->previous == c.level);
      CHECK(priority_of(a->level) == nautilus::Priority::kNormal);
      CHECK(m.state() == TradingState::kActive);
      // With no cooldown, HALTED steps down through REDUCING in one evaluation.
      CHECK(back.state_changes.size() == (c.state == TradingState::kHalted ? 2u : 1u));
    }
  }
}

TEST_CASE("risk: the order-notional limit denies the order and alerts, without a state change", "[risk]") {
  RiskManager m(only(LimitKind::kOrderNotional, 100'000));
  REQUIRE(m.on_price("AAPL", 100.0, kT0).is_ok());
  m.evaluate(kT0);
  auto big = m.submit({"big", "AAPL", 2000, std::nullopt}, kT0);
  CHECK_FALSE(big.approved);
  REQUIRE(big.breaches.size() == 1);
  CHECK(big.breaches[0].kind == LimitKind::kOrderNotional);
  CHECK(big.breaches[0].value == Approx(200'000));
  CHECK(m.state() == TradingState::kActive);
  auto small = m.submit({"small", "AAPL", 500, std::nullopt}, kT0);
  CHECK(small.approved);
  CHECK(small.reasons.empty());
  CHECK(m.submit({"sell", "AAPL", -1500, 100.0}, kT0).approved == false);
}

TEST_CASE("risk: hysteresis keeps a level until the value is clearly back", "[risk]") {
  RiskConfig c = only(LimitKind::kPositionQuantity, 1000);
  c.hysteresis = 0.1;
  RiskManager m(c);
  REQUIRE(m.on_price("AAPL", 10.0, kT0).is_ok());
  struct Step {
    double quantity;
    Level level;             // the level after the step
    bool alert;              // whether the step produces an alert
    TradingState state;
  };
  // warn at 0.8 (clears below 0.72), breach at 1.0 (clears below 0.9),
  // critical at 1.5 (clears below 1.35).
  const std::vector<Step> steps = {
      {700, Level::kOk, false, TradingState::kActive},
      {800, Level::kWarning, true, TradingState::kActive},
      {750, Level::kWarning, false, TradingState::kActive},
      {1000, Level::kBreach, true, TradingState::kReducing},
      {950, Level::kBreach, false, TradingState::kReducing},
      {901, Level::kBreach, false, TradingState::kReducing},
      {1500, Level::kCritical, true, TradingState::kHalted},
      {1400, Level::kCritical, false, TradingState::kHalted},
      {1300, Level::kBreach, true, TradingState::kReducing},
      {899, Level::kWarning, true, TradingState::kActive},
      {721, Level::kWarning, false, TradingState::kActive},
      {719, Level::kOk, true, TradingState::kActive},
  };
  std::int64_t t = kT0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    INFO("step " << i << " quantity " << steps[i].quantity);
    t += kSec;
    position(m, "AAPL", steps[i].quantity, t);
    auto ev = m.evaluate(t);
    CHECK((find_alert(ev, LimitKind::kPositionQuantity) != nullptr) == steps[i].alert);
    if (const auto* a = find_alert(ev, LimitKind::kPositionQuantity)) CHECK(a->level == steps[i].level);
    CHECK(m.state() == steps[i].state);
  }
}

TEST_CASE("risk: leaving a state waits for the cooldown, one step at a time", "[risk]") {
  RiskConfig c = only(LimitKind::kPositionQuantity, 1000);
  c.cooldown_ns = 30 * kSec;
  RiskManager m(c);
  REQUIRE(m.on_price("AAPL", 10.0, kT0).is_ok());
  position(m, "AAPL", 2000, kT0);
  m.evaluate(kT0);
  REQUIRE(m.state() == TradingState::kHalted);
  position(m, "AAPL", 0, kT0 + kSec);
  CHECK(m.evaluate(kT0 + kSec).state_changes.empty());  // lower state indicated from here
  CHECK(m.evaluate(kT0 + 30 * kSec).state_changes.empty());
  auto ev = m.evaluate(kT0 + 31 * kSec);
  REQUIRE(ev.state_changes.size() == 1);
  CHECK(ev.state_changes[0].to == TradingState::kReducing);
  // A relapse inside the next cooldown restarts it; escalation is immediate.
  position(m, "AAPL", 1100, kT0 + 40 * kSec);
  CHECK(m.evaluate(kT0 + 40 * kSec).state_changes.empty());  // still REDUCING
  position(m, "AAPL", 0, kT0 + 50 * kSec);
  CHECK(m.evaluate(kT0 + 50 * kSec).state_changes.empty());  // the new cooldown starts
  CHECK(m.evaluate(kT0 + 61 * kSec).state_changes.empty());  // 11 s into it
  auto ev2 = m.evaluate(kT0 + 81 * kSec);
  REQUIRE(ev2.state_changes.size() == 1);
  CHECK(ev2.state_changes[0].to == TradingState::kActive);
  position(m, "AAPL", 5000, kT0 + 82 * kSec);
  auto ev3 = m.evaluate(kT0 + 82 * kSec);
  REQUIRE(ev3.state_changes.size() == 1);
  CHECK(ev3.state_changes[0].to == TradingState::kHalted);
}

namespace {
double sample_stdev(const std::vector<double>& r) {
  double mean = 0;
  for (double x : r) mean += x;
  mean /= static_cast<double>(r.size());
  double ss = 0;
  for (double x : r) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(r.size() - 1));
}
}  // namespace

TEST_CASE("risk: dynamic limits scale with the volatility regime", "[risk]") {
  struct Case {
    const char* name;
    double baseline_vol;  // 0: from the long window
  };
  for (const auto& cs : {Case{"baseline from the long window", 0.0}, Case{"configured baseline", 0.01}}) {
    SECTION(cs.name) {
      RiskConfig c = only(LimitKind::kPositionNotional, 100'000);
      c.global[LimitKind::kPositionNotional].dynamic = true;
      c.global[LimitKind::kOrderNotional] = {50'000, 0.8, 1.5, false, true};  // static, for contrast
      c.vol_short_window = 5;
      c.vol_long_window = 50;
      c.vol_min_samples = 5;
      c.var_window = 100;
      c.baseline_vol = cs.baseline_vol;
      RiskManager m(c);
      // 45 calm samples (±0.1%), then 5 wild ones (±3%).
      std::vector<double> returns;
      for (int i = 0; i < 45; ++i) returns.push_back(i % 2 == 0 ? 0.001 : -0.001);
      for (int i = 0; i < 5; ++i) returns.push_back(i % 2 == 0 ? -0.03 : 0.03);
      std::int64_t t = kT0;
      double p = 100.0;
      REQUIRE(m.on_price("AAPL", p, t).is_ok());
      m.evaluate(t);
      std::vector<double> realized;  // the returns as the manager sees them
      // s = clamp((σ_baseline / σ_realized)^β, min_scale, max_scale), β = 1
      auto expected_scale = [&] {
        const double short_sd = sample_stdev({realized.end() - 5, realized.end()});
        const double base_sd = cs.baseline_vol > 0 ? cs.baseline_vol : sample_stdev(realized);
        return std::clamp(base_sd / short_sd, 0.25, 1.0);
      };
      for (std::size_t i = 0; i < returns.size(); ++i) {
        double prev = p;
        p *= 1.0 + returns[i];
        realized.push_back(p / prev - 1.0);
        t += kSec;
        REQUIRE(m.on_price("AAPL", p, t).is_ok());
        m.evaluate(t);
        if (i == 44) CHECK(m.scale("AAPL") == Approx(expected_scale()).epsilon(1e-9));  // calm: near 1
      }
      const double expected = expected_scale();
      REQUIRE(expected < 0.9);
      REQUIRE(expected > 0.25);
      CHECK(m.scale("AAPL") == Approx(expected).epsilon(1e-9));

      // A 60k position is fine under the calm 100k limit but breaches the scaled one.
      position(m, "AAPL", 60'000 / p, t);
      auto ev = m.evaluate(t);
      const LimitAlert* a = find_alert(ev, LimitKind::kPositionNotional);
      REQUIRE(a != nullptr);
      CHECK(a->base_limit == Approx(100'000));
      CHECK(a->limit == Approx(100'000 * expected).epsilon(1e-9));
      CHECK(a->scale == Approx(expected).epsilon(1e-9));
      CHECK(a->level >= Level::kBreach);
      // The portfolio scale is the smallest among held symbols.
      CHECK(m.scale("") == Approx(expected).epsilon(1e-9));
      // A static limit is not scaled: a 60k order breaches the 50k order-notional
      // limit itself, not 50k · s.
      auto d = m.check({"x", "AAPL", 60'000 / p, std::nullopt}, t);
      CHECK_FALSE(d.approved);
      bool seen = false;
      for (const auto& b : d.breaches) {
        if (b.kind != LimitKind::kOrderNotional) continue;
        seen = true;
        CHECK(b.limit == Approx(50'000));
        CHECK(b.scale == 1.0);
      }
      CHECK(seen);
    }
  }
}

TEST_CASE("risk: a flash crash warning halts at once and holds until calm", "[risk]") {
  RiskConfig c = RiskConfig::defaults();
  c.cooldown_ns = 0;
  c.vpin_halt_ns = 60 * kSec;
  RiskManager m(c);
  REQUIRE(m.on_price("AAPL", 100.0, kT0).is_ok());
  REQUIRE(m.on_vpin("AAPL", 0.8, 0.995, kT0).is_ok());
  auto ev = m.on_flash_crash_warning("AAPL", kT0);
  CHECK(m.state() == TradingState::kHalted);
  REQUIRE(!ev.state_changes.empty());
  CHECK(ev.state_changes.back().to == TradingState::kHalted);
  const LimitAlert* a = find_alert(ev, LimitKind::kVpinToxicity);
  REQUIRE(a != nullptr);
  CHECK(a->level == Level::kCritical);
  CHECK(a->symbol == "AAPL");
  // Time alone does not release it while the flow is still toxic ...
  m.evaluate(kT0 + 61 * kSec);
  CHECK(m.state() == TradingState::kHalted);
  // ... nor calm flow before the minimum halt time.
  RiskManager m2(c);
  REQUIRE(m2.on_price("AAPL", 100.0, kT0).is_ok());
  m2.on_flash_crash_warning("AAPL", kT0);
  REQUIRE(m2.on_vpin("AAPL", 0.3, 0.2, kT0 + kSec).is_ok());
  m2.evaluate(kT0 + 30 * kSec);
  CHECK(m2.state() == TradingState::kHalted);
  m2.evaluate(kT0 + 60 * kSec);  // the halt lasts longer than vpin_halt
  CHECK(m2.state() == TradingState::kHalted);
  m2.evaluate(kT0 + 61 * kSec);
  CHECK(m2.state() == TradingState::kActive);
  // Calm and time: released.
  REQUIRE(m.on_vpin("AAPL", 0.3, 0.5, kT0 + 62 * kSec).is_ok());
  m.evaluate(kT0 + 62 * kSec);
  CHECK(m.state() == TradingState::kActive);
  // Manual halt and resume.
  m.halt("maintenance", kT0 + 70 * kSec);
  CHECK(m.state() == TradingState::kHalted);
  CHECK(m.state_reason().find("maintenance") != std::string::npos);
  m.resume(kT0 + 71 * kSec);
  CHECK(m.state() == TradingState::kActive);
}

TEST_CASE("risk: HALTED blocks every order that adds exposure and lets reducing ones through", "[risk]") {
  struct OrderCase {
    const char* name;
    double position;  // before the order
    double quantity;  // signed order quantity
    bool approved;
  };
  const std::vector<OrderCase> cases = {
      {"buy more of a long", 1000, 10, false},
      {"open a new long", 0, 10, false},
      {"open a new short", 0, -10, false},
      {"sell part of a long", 1000, -500, true},
      {"sell all of a long", 1000, -1000, true},
      {"flip a long to short", 1000, -1500, false},
      {"sell more of a short", -1000, -10, false},
      {"buy back part of a short", -1000, 400, true},
      {"buy back all of a short", -1000, 1000, true},
      {"flip a short to long", -1000, 1001, false},
  };
  for (const auto& oc : cases) {
    SECTION(oc.name) {
      RiskConfig c = RiskConfig::defaults();
      RiskManager m(c);
      REQUIRE(m.on_price("AAPL", 10.0, kT0).is_ok());
      if (oc.position != 0) position(m, "AAPL", oc.position, kT0);
      m.evaluate(kT0);
      // The same order is approved while ACTIVE (all limits have room) ...
      auto before = m.check({"o", "AAPL", oc.quantity, std::nullopt}, kT0);
      CHECK(before.approved);
      m.on_flash_crash_warning("AAPL", kT0);
      REQUIRE(m.state() == TradingState::kHalted);
      // ... and decided by whether it reduces exposure once HALTED.
      auto d = m.submit({"o", "AAPL", oc.quantity, std::nullopt}, kT0 + 1);
      CHECK(d.approved == oc.approved);
      CHECK(d.reduces_exposure == oc.approved);
      CHECK(d.state == TradingState::kHalted);
      if (!oc.approved) {
        REQUIRE_FALSE(d.reasons.empty());
        bool mentions_halt = false;
        for (const auto& r : d.reasons) mentions_halt = mentions_halt || r.find("HALTED") != std::string::npos;
        CHECK(mentions_halt);
      }
    }
  }
}

TEST_CASE("risk: pre-trade check against post-trade limits", "[risk]") {
  RiskConfig c = RiskConfig::defaults();  // position_quantity 10k, position_notional 250k, order_notional 100k
  RiskManager m(c);
  REQUIRE(m.on_price("AAPL", 100.0, kT0).is_ok());
  position(m, "AAPL", 2000, kT0);
  m.evaluate(kT0);
  struct Case {
    const char* name;
    OrderRequest order;
    bool approved;
    std::vector<LimitKind> breaches;
  };
  const std::vector<Case> cases = {
      {"small buy", {"a", "AAPL", 100, std::nullopt}, true, {}},
      {"order notional too big", {"b", "MSFT", 1100, 100.0}, false, {LimitKind::kOrderNotional}},
      // 2600 · 100 = 260k: over the 250k position notional and 25% concentration
      {"position notional after the trade", {"c", "AAPL", 600, std::nullopt}, false,
       {LimitKind::kPositionNotional, LimitKind::kConcentration}},
      {"selling down is never limited by size", {"s", "AAPL", -2000, std::nullopt}, true, {}},
      {"unknown symbol with a price", {"d", "TSLA", 10, 200.0}, true, {}},
  };
  for (const auto& cs : cases) {
    SECTION(cs.name) {
      auto d = m.check(cs.order, kT0);
      CHECK(d.approved == cs.approved);
      std::vector<LimitKind> got;
      for (const auto& b : d.breaches) got.push_back(b.kind);
      CHECK(got == cs.breaches);
      CHECK(d.reasons.size() == cs.breaches.size());
      CHECK(d.to_json()["approved"] == cs.approved);
    }
  }
  SECTION("no price at all") {
    auto d = m.check({"e", "NOPE", 10, std::nullopt}, kT0);
    CHECK_FALSE(d.approved);
    REQUIRE(d.reasons.size() == 1);
    CHECK(d.reasons[0].find("no price") != std::string::npos);
  }
  SECTION("REDUCING halves the order-notional room for adding orders") {
    REQUIRE(m.on_margin(0.85, kT0).is_ok());  // margin utilisation breached → REDUCING
    m.evaluate(kT0);
    REQUIRE(m.state() == TradingState::kReducing);
    REQUIRE(m.on_margin(0.1, kT0).is_ok());  // recovered, but the 30 s cooldown keeps REDUCING
    m.evaluate(kT0);
    REQUIRE(m.state() == TradingState::kReducing);
    CHECK(m.check({"f", "AAPL", 400, std::nullopt}, kT0).approved);         // 40k ≤ 50k
    CHECK_FALSE(m.check({"g", "AAPL", 600, std::nullopt}, kT0).approved);   // 60k > 50k
  }
}

TEST_CASE("risk: order json parsing and bad input", "[risk]") {
  std::string err;
  auto o = OrderRequest::from_json({{"symbol", "AAPL"}, {"side", "sell"}, {"quantity", 10}, {"price", 99.5}}, &err);
  REQUIRE(o);
  CHECK(o->quantity == -10);
  CHECK(*o->price == 99.5);
  CHECK_FALSE(OrderRequest::from_json({{"symbol", "AAPL"}, {"side", "hold"}, {"quantity", 10}}, &err));
  CHECK_FALSE(OrderRequest::from_json({{"side", "buy"}, {"quantity", 10}}, &err));
  CHECK_FALSE(OrderRequest::from_json({{"symbol", "AAPL"}, {"quantity", 0}}, &err));
  CHECK_FALSE(OrderRequest::from_json({{"symbol", "AAPL"}, {"quantity", 1}, {"price", -1}}, &err));
  CHECK_FALSE(OrderRequest::from_json("not an object", &err));
  RiskManager m(RiskConfig::defaults());
  CHECK(m.on_price("AAPL", -1, kT0).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(m.on_fill("AAPL", 0, 10, kT0).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(m.on_vpin("AAPL", 1.5, std::nullopt, kT0).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(m.on_position("", 1, std::nullopt, kT0).code() == nautilus::StatusCode::kInvalidArgument);
  CHECK(m.portfolio().positions().empty());
}

TEST_CASE("risk: config from json lists every error", "[risk]") {
  auto c = RiskConfig::from_json({{"initial_equity", 500'000},
                                  {"limits", {{"leverage", 3.0}, {"drawdown", {{"limit", 0.2}, {"halt_at", 1.0}}}}},
                                  {"symbols", {{"AAPL", {{"position_quantity", 500}}}}}});
  CHECK(c.initial_equity == 500'000);
  CHECK(c.find(LimitKind::kLeverage, "")->limit == 3.0);
  CHECK(c.find(LimitKind::kDrawdown, "")->limit == 0.2);
  CHECK(c.find(LimitKind::kPositionQuantity, "AAPL")->limit == 500);
  CHECK(c.find(LimitKind::kPositionQuantity, "MSFT")->limit == 10'000);
  CHECK(c.find(LimitKind::kPositionQuantity, "AAPL")->dynamic);  // inherits the global spec's flags
  try {
    (void)RiskConfig::from_json({{"initial_equity", -1},
                                 {"limits", {{"bogus", 1}}},
                                 {"symbols", {{"AAPL", {{"leverage", 2}}}}},
                                 {"nope", 1}});
    FAIL("expected invalid_argument");
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    CHECK(what.find("bogus") != std::string::npos);
    CHECK(what.find("portfolio-wide") != std::string::npos);
    CHECK(what.find("nope") != std::string::npos);
  }
  try {
    (void)RiskConfig::from_json({{"initial_equity", -1}, {"hysteresis", 2}});
    FAIL("expected invalid_argument");
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    CHECK(what.find("initial_equity") != std::string::npos);
    CHECK(what.find("hysteresis") != std::string::npos);
  }
}

TEST_CASE("risk: average-cost P&L and historical VaR by hand", "[risk]") {
  Portfolio p(1'000'000);
  p.apply_fill("AAPL", 100, 10.0);
  p.apply_fill("AAPL", 100, 12.0);  // avg 11
  CHECK(p.positions().at("AAPL").avg_price == Approx(11.0));
  p.apply_fill("AAPL", -150, 13.0);  // realizes 150 · 2
  CHECK(p.realized_pnl() == Approx(300.0));
  p.apply_fill("AAPL", -100, 9.0);  // closes 50 (realizes 50 · −2), opens −50 at 9
  CHECK(p.realized_pnl() == Approx(200.0));
  CHECK(p.quantity("AAPL") == -50);
  CHECK(p.positions().at("AAPL").avg_price == 9.0);
  p.set_price("AAPL", 8.0);
  CHECK(p.unrealized_pnl() == Approx(50.0));
  CHECK(p.equity() == Approx(1'000'250.0));

  // 20 samples with returns −10%, −9%, ..., +9%: for a 1000 long, the 95% VaR
  // is the ⌈20 · 0.05⌉ = 1st worst loss (100), the 99% also the 1st.
  ReturnHistory h(kSec, 100);
  std::map<std::string, double> prices = {{"X", 100.0}};
  h.maybe_sample(prices, kT0);
  for (int i = 0; i < 20; ++i) {
    double r = (i - 10) / 100.0;
    prices["X"] *= 1.0 + r;
    REQUIRE(h.maybe_sample(prices, kT0 + (i + 1) * kSec));
  }
  CHECK(h.var({{"X", 1000.0}}, 0.95, 10).value() == Approx(100.0));
  CHECK(h.var({{"X", -1000.0}}, 0.95, 10).value() == Approx(90.0));  // a short loses on +9%
  CHECK_FALSE(h.var({{"X", 1000.0}}, 0.95, 50).has_value());
  // 40 more samples of 0: N = 60, k = ⌈3⌉ − 1 = 2 → the 3rd worst (−8%).
  for (int i = 0; i < 40; ++i) REQUIRE(h.maybe_sample(prices, kT0 + (21 + i) * kSec));
  CHECK(h.var({{"X", 1000.0}}, 0.95, 10).value() == Approx(80.0));
  CHECK(h.var({{"X", 1000.0}}, 0.99, 10).value() == Approx(100.0));  // ⌈0.6⌉ − 1 = 0
}
