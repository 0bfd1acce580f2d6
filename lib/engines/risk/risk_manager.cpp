#include "engines/risk/risk_manager.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace nautilus::risk {

namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kDayNs = 86'400 * kSecondNs;
constexpr double kInf = std::numeric_limits<double>::infinity();

// JSON has no infinity: an unbounded value (leverage at zero equity) is null.
nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

std::string fmt(double x) {
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

std::string label(LimitKind k, const std::string& symbol) {
  std::string s(to_string(k));
  if (!symbol.empty()) s += " " + symbol;
  return s;
}

bool valid_symbol(const std::string& s) { return !s.empty() && s.size() <= 64; }

}  // namespace

std::string_view to_string(TradingState s) {
  switch (s) {
    case TradingState::kActive: return "ACTIVE";
    case TradingState::kReducing: return "REDUCING";
    case TradingState::kHalted: return "HALTED";
  }
  return "ACTIVE";
}

nlohmann::json LimitAlert::to_json() const {
  nlohmann::json j = {{"kind", to_string(kind)},
                      {"level", to_string(level)},
                      {"severity", to_string(level)},
                      {"previous", to_string(previous)},
                      {"value", num(value)},
                      {"limit", num(limit)},
                      {"base_limit", num(base_limit)},
                      {"usage", num(usage)},
                      {"scale", num(scale)},
                      {"timestamp_ns", at_ns},
                      {"message", message}};
  j["symbol"] = symbol.empty() ? nlohmann::json(nullptr) : nlohmann::json(symbol);
  return j;
}

nlohmann::json StateChange::to_json() const {
  return {{"from", to_string(from)}, {"to", to_string(to)}, {"state", to_string(to)}, {"reason", reason},
          {"timestamp_ns", at_ns}};
}

void RiskEvents::append(RiskEvents&& other) {
  for (auto& a : other.alerts) alerts.push_back(std::move(a));
  for (auto& s : other.state_changes) state_changes.push_back(std::move(s));
}

std::optional<OrderRequest> OrderRequest::from_json(const nlohmann::json& j, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<OrderRequest> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (!j.is_object()) return fail("order must be a JSON object");
  OrderRequest o;
  auto sym = j.find("symbol");
  if (sym == j.end() || !sym->is_string() || !valid_symbol(sym->get<std::string>())) return fail("symbol: a non-empty string is required");
  o.symbol = sym->get<std::string>();
  auto qty = j.find("quantity");
  if (qty == j.end()) qty = j.find("qty");
  if (qty == j.end() || !qty->is_number()) return fail("quantity: a number is required");
  double q = qty->get<double>();
  if (!std::isfinite(q) || q == 0.0) return fail("quantity must be finite and non-zero");
  if (auto side = j.find("side"); side != j.end()) {
    if (!side->is_string()) return fail("side must be \"buy\" or \"sell\"");
    auto s = side->get<std::string>();
    if (q < 0.0) return fail("quantity must be positive when side is given");
    if (s == "buy" || s == "BUY") o.quantity = q;
    else if (s == "sell" || s == "SELL") o.quantity = -q;
    else return fail("side must be \"buy\" or \"sell\"");
  } else {
    o.quantity = q;
  }
  if (auto p = j.find("price"); p != j.end() && !p->is_null()) {
    if (!p->is_number() || !std::isfinite(p->get<double>()) || p->get<double>() <= 0.0) return fail("price must be a number > 0");
    o.price = p->get<double>();
  }
  if (auto id = j.find("id"); id != j.end() && id->is_string()) o.id = id->get<std::string>();
  else if (auto oid = j.find("order_id"); oid != j.end() && oid->is_string()) o.id = oid->get<std::string>();
  return o;
}

nlohmann::json Decision::to_json() const {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& a : breaches) b.push_back(a.to_json());
  return {{"approved", approved},
          {"decision", approved ? "approve" : "deny"},
          {"reduces_exposure", reduces_exposure},
          {"state", to_string(state)},
          {"order_id", order_id},
          {"symbol", symbol},
          {"side", quantity >= 0 ? "buy" : "sell"},
          {"quantity", std::fabs(quantity)},
          {"price", num(price)},
          {"notional", num(notional)},
          {"reasons", reasons},
          {"breaches", b}};
}

RiskManager::RiskManager(RiskConfig config)
    : config_(std::move(config)),
      portfolio_(config_.initial_equity),
      returns_(config_.sample_ns, static_cast<std::size_t>(config_.var_window)),
      peak_equity_(config_.initial_equity),
      day_start_equity_(config_.initial_equity) {
  auto errors = config_.validate();
  if (!errors.empty()) throw std::invalid_argument("invalid risk config: " + errors.front());
}

Status RiskManager::on_price(const std::string& symbol, double price, std::int64_t) {
  if (!valid_symbol(symbol)) return {StatusCode::kInvalidArgument, "bad symbol"};
  if (!std::isfinite(price) || price <= 0.0) return {StatusCode::kInvalidArgument, "price must be finite and > 0"};
  portfolio_.set_price(symbol, price);
  return Status::ok();
}

Status RiskManager::on_fill(const std::string& symbol, double q, double price, std::int64_t) {
  if (!valid_symbol(symbol)) return {StatusCode::kInvalidArgument, "bad symbol"};
  if (!std::isfinite(q) || q == 0.0) return {StatusCode::kInvalidArgument, "fill quantity must be finite and non-zero"};
  if (!std::isfinite(price) || price <= 0.0) return {StatusCode::kInvalidArgument, "fill price must be finite and > 0"};
  portfolio_.apply_fill(symbol, q, price);
  if (!portfolio_.price(symbol)) portfolio_.set_price(symbol, price);
  return Status::ok();
}

Status RiskManager::on_position(const std::string& symbol, double q, std::optional<double> avg, std::int64_t) {
  if (!valid_symbol(symbol)) return {StatusCode::kInvalidArgument, "bad symbol"};
  if (!std::isfinite(q)) return {StatusCode::kInvalidArgument, "position quantity must be finite"};
  if (avg && (!std::isfinite(*avg) || *avg <= 0.0)) return {StatusCode::kInvalidArgument, "avg_price must be > 0"};
  portfolio_.set_position(symbol, q, avg);
  return Status::ok();
}

Status RiskManager::on_vpin(const std::string& symbol, double vpin, std::optional<double> cdf, std::int64_t) {
  if (!valid_symbol(symbol)) return {StatusCode::kInvalidArgument, "bad symbol"};
  if (!std::isfinite(vpin) || vpin < 0.0 || vpin > 1.0) return {StatusCode::kInvalidArgument, "vpin must be in [0, 1]"};
  if (cdf && (!std::isfinite(*cdf) || *cdf < 0.0 || *cdf > 1.0)) return {StatusCode::kInvalidArgument, "cdf must be in [0, 1]"};
  vpin_[symbol] = {vpin, cdf};
  return Status::ok();
}

Status RiskManager::on_margin(double utilization, std::int64_t) {
  if (!std::isfinite(utilization) || utilization < 0.0) return {StatusCode::kInvalidArgument, "utilization must be >= 0"};
  margin_utilization_ = utilization;
  return Status::ok();
}

RiskEvents RiskManager::on_flash_crash_warning(const std::string& symbol, std::int64_t now_ns,
                                               std::optional<double> vpin, std::optional<double> cdf) {
  RiskEvents ev;
  if (vpin && on_vpin(symbol, *vpin, cdf, now_ns).is_ok()) {
    // the warning's numbers are the freshest (it overtakes its own toxicity message)
  } else if (cdf && std::isfinite(*cdf) && *cdf >= 0.0 && *cdf <= 1.0) {
    vpin_[symbol].second = *cdf;
  }
  vpin_latch_[symbol] = now_ns + config_.vpin_halt_ns;
  LimitAlert a;
  a.kind = LimitKind::kVpinToxicity;
  a.symbol = symbol;
  a.level = Level::kCritical;
  if (auto t = tracked_.find({LimitKind::kVpinToxicity, symbol}); t != tracked_.end()) a.previous = t->second.level;
  auto it = vpin_.find(symbol);
  a.value = (it != vpin_.end() && it->second.second) ? *it->second.second : 1.0;
  if (const auto* spec = config_.find(LimitKind::kVpinToxicity, symbol)) a.base_limit = a.limit = spec->limit;
  a.usage = a.limit > 0 ? a.value / a.limit : kInf;
  a.at_ns = now_ns;
  a.message = "flash crash warning on " + symbol + ": trading halted";
  ev.alerts.push_back(std::move(a));
  ev.append(evaluate(now_ns));
  return ev;
}

RiskEvents RiskManager::halt(const std::string& reason, std::int64_t now_ns) {
  manual_halt_ = reason.empty() ? std::string("operator") : reason;
  return evaluate(now_ns);
}

RiskEvents RiskManager::resume(std::int64_t now_ns) {
  manual_halt_.reset();
  vpin_latch_.clear();
  // The operator's resume skips the cooldown: one evaluation settles the state.
  lower_since_ = now_ns - config_.cooldown_ns;
  return evaluate(now_ns);
}

void RiskManager::roll_day(std::int64_t now_ns) {
  const std::int64_t day = now_ns / kDayNs;
  if (day != day_) {
    day_ = day;
    day_start_equity_ = portfolio_.equity();
  }
}

double RiskManager::scale(const std::string& symbol) const {
  if (symbol.empty()) {
    double s = 1.0;
    for (const auto& [sym, pos] : portfolio_.positions()) {
      if (pos.quantity != 0.0) s = std::min(s, scale(sym));
    }
    return s;
  }
  const auto min = static_cast<std::size_t>(config_.vol_min_samples);
  auto realized = returns_.stdev(symbol, static_cast<std::size_t>(config_.vol_short_window), min);
  std::optional<double> baseline;
  if (config_.baseline_vol > 0.0) baseline = config_.baseline_vol;
  else baseline = returns_.stdev(symbol, static_cast<std::size_t>(config_.vol_long_window), min);
  if (!realized || !baseline || *realized <= 0.0 || *baseline <= 0.0) return 1.0;
  const double s = std::pow(*baseline / *realized, config_.vol_exponent);
  return std::clamp(s, config_.min_scale, config_.max_scale);
}

std::optional<std::pair<double, double>> RiskManager::effective_limit(LimitKind k, const std::string& symbol) const {
  const LimitSpec* spec = config_.find(k, symbol);
  if (!spec || !spec->enabled) return std::nullopt;
  const double s = spec->dynamic ? scale(symbol) : 1.0;
  return std::make_pair(spec->limit * s, s);
}

Level RiskManager::next_level(Level prev, double usage, const LimitSpec& spec) const {
  auto threshold = [&spec](Level l) {
    switch (l) {
      case Level::kWarning: return spec.warn_at;
      case Level::kBreach: return 1.0;
      case Level::kCritical: return spec.halt_at;
      case Level::kOk: break;
    }
    return 0.0;
  };
  Level raw = Level::kOk;
  if (usage >= spec.halt_at) raw = Level::kCritical;
  else if (usage >= 1.0) raw = Level::kBreach;
  else if (usage >= spec.warn_at) raw = Level::kWarning;
  if (raw >= prev) return raw;
  // Going down: a level is left only below threshold · (1 − hysteresis).
  Level l = prev;
  while (l != Level::kOk && usage < threshold(l) * (1.0 - config_.hysteresis)) {
    l = static_cast<Level>(static_cast<unsigned char>(l) - 1);
  }
  return std::max(l, raw);
}

std::size_t RiskManager::orders_in_window(const std::string& symbol, std::int64_t now_ns) const {
  std::size_t n = 0;
  for (const auto& [t, s] : orders_) {
    if (t > now_ns - kSecondNs && t <= now_ns && (symbol.empty() || s == symbol)) ++n;
  }
  return n;
}

std::map<std::string, double> RiskManager::notionals() const {
  std::map<std::string, double> out;
  for (const auto& [s, p] : portfolio_.positions()) {
    if (p.quantity != 0.0) out[s] = portfolio_.notional(s);
  }
  return out;
}

std::vector<RiskManager::Item> RiskManager::measure(std::int64_t now_ns) const {
  std::vector<Item> items;
  const double equity = portfolio_.equity();
  const double gross = portfolio_.gross_exposure();
  items.push_back({LimitKind::kGrossExposure, "", gross});
  items.push_back({LimitKind::kNetExposure, "", std::fabs(portfolio_.net_exposure())});
  items.push_back({LimitKind::kLeverage, "", equity > 0.0 ? gross / equity : kInf});
  items.push_back({LimitKind::kDailyLoss, "", std::max(0.0, day_start_equity_ - equity)});
  items.push_back({LimitKind::kDrawdown, "", peak_equity_ > 0.0 ? std::max(0.0, (peak_equity_ - equity) / peak_equity_) : 0.0});
  const auto book = notionals();
  const auto min_var = static_cast<std::size_t>(config_.var_min_samples);
  if (auto v = returns_.var(book, 0.95, min_var)) items.push_back({LimitKind::kVar95, "", *v});
  if (auto v = returns_.var(book, 0.99, min_var)) items.push_back({LimitKind::kVar99, "", *v});
  const double margin = margin_utilization_ ? *margin_utilization_
                                            : (equity > 0.0 ? gross * config_.margin_rate / equity : kInf);
  items.push_back({LimitKind::kMarginUtilization, "", margin});
  for (const auto& [s, p] : portfolio_.positions()) {
    const double n = std::fabs(portfolio_.notional(s));
    items.push_back({LimitKind::kPositionQuantity, s, std::fabs(p.quantity)});
    items.push_back({LimitKind::kPositionNotional, s, n});
    items.push_back({LimitKind::kConcentration, s, equity > 0.0 ? n / equity : kInf});
  }
  for (const auto& [s, v] : vpin_) {
    if (v.second) items.push_back({LimitKind::kVpinToxicity, s, *v.second});
  }
  // The global order-rate limit counts every order; a symbol override counts its own.
  items.push_back({LimitKind::kOrderRate, "", static_cast<double>(orders_in_window("", now_ns))});
  for (const auto& [s, m] : config_.symbols) {
    if (m.count(LimitKind::kOrderRate)) {
      items.push_back({LimitKind::kOrderRate, s, static_cast<double>(orders_in_window(s, now_ns))});
    }
  }
  return items;
}

RiskEvents RiskManager::evaluate(std::int64_t now_ns) {
  RiskEvents ev;
  roll_day(now_ns);
  returns_.maybe_sample(portfolio_.prices(), now_ns);
  while (!orders_.empty() && orders_.front().first <= now_ns - kSecondNs) orders_.pop_front();
  const double equity = portfolio_.equity();
  peak_equity_ = std::max(peak_equity_, equity);

  for (const auto& item : measure(now_ns)) {
    const LimitSpec* spec = config_.find(item.kind, item.symbol);
    auto eff = effective_limit(item.kind, item.symbol);
    if (!spec || !eff) continue;
    Tracked& t = tracked_[{item.kind, item.symbol}];
    const Level prev = t.level;
    const double usage = item.value / eff->first;
    t.value = item.value;
    t.limit = eff->first;
    t.usage = usage;
    t.scale = eff->second;
    t.level = next_level(prev, usage, *spec);
    if (t.level == prev) continue;
    LimitAlert a;
    a.kind = item.kind;
    a.symbol = item.symbol;
    a.level = t.level;
    a.previous = prev;
    a.value = item.value;
    a.limit = eff->first;
    a.base_limit = spec->limit;
    a.usage = usage;
    a.scale = eff->second;
    a.at_ns = now_ns;
    a.message = label(item.kind, item.symbol) + " " + std::string(to_string(t.level)) + ": " + fmt(item.value) +
                " of limit " + fmt(eff->first) + (t.level < prev ? " (recovered from " + std::string(to_string(prev)) + ")" : "");
    ev.alerts.push_back(std::move(a));
  }
  ev.append(update_state(now_ns));
  return ev;
}

TradingState RiskManager::desired_state(std::int64_t, std::string& reason) const {
  if (manual_halt_) {
    reason = "manual halt: " + *manual_halt_;
    return TradingState::kHalted;
  }
  if (!vpin_latch_.empty()) {
    reason = "flash crash warning on " + vpin_latch_.begin()->first;
    return TradingState::kHalted;
  }
  Level worst = Level::kOk;
  const Key* worst_key = nullptr;
  for (const auto& [key, t] : tracked_) {
    if (t.level > worst) {
      worst = t.level;
      worst_key = &key;
    }
  }
  if (worst_key) {
    const auto& t = tracked_.at(*worst_key);
    reason = label(worst_key->first, worst_key->second) + " " + std::string(to_string(worst)) + ": " + fmt(t.value) +
             " of limit " + fmt(t.limit);
  }
  if (worst == Level::kCritical) return TradingState::kHalted;
  if (worst == Level::kBreach) return TradingState::kReducing;
  if (!worst_key || worst < Level::kBreach) reason = "all limits within bounds";
  return TradingState::kActive;
}

RiskEvents RiskManager::update_state(std::int64_t now_ns) {
  RiskEvents ev;
  // A flash-crash latch releases once its time is up and the symbol's toxicity
  // has come back below its limit (with hysteresis).
  for (auto it = vpin_latch_.begin(); it != vpin_latch_.end();) {
    bool calm = true;
    if (auto v = vpin_.find(it->first); v != vpin_.end() && v->second.second) {
      const LimitSpec* spec = config_.find(LimitKind::kVpinToxicity, it->first);
      const double limit = spec ? spec->limit : 1.0;
      calm = *v->second.second < limit * (1.0 - config_.hysteresis);
    }
    if (now_ns > it->second && calm) it = vpin_latch_.erase(it);
    else ++it;
  }
  std::string reason;
  const TradingState want = desired_state(now_ns, reason);
  auto change = [&](TradingState to) {
    ev.state_changes.push_back({state_, to, reason, now_ns});
    state_ = to;
    state_reason_ = reason;
  };
  if (want > state_) {
    change(want);
    lower_since_.reset();
  } else if (want < state_) {
    if (!lower_since_) lower_since_ = now_ns;
    // One step down per cooldown period: HALTED → REDUCING → ACTIVE.
    while (state_ > want && now_ns - *lower_since_ >= config_.cooldown_ns) {
      change(static_cast<TradingState>(static_cast<unsigned char>(state_) - 1));
      lower_since_ = (state_ > want) ? std::optional<std::int64_t>(now_ns) : std::nullopt;
      if (!lower_since_) break;
    }
  } else {
    lower_since_.reset();
    state_reason_ = reason;
  }
  return ev;
}

Decision RiskManager::check(const OrderRequest& order, std::int64_t now_ns) const {
  Decision d;
  d.state = state_;
  d.order_id = order.id;
  d.symbol = order.symbol;
  d.quantity = order.quantity;
  auto deny = [&d](std::string why) { d.reasons.push_back(std::move(why)); };
  auto breach = [&](LimitKind k, const std::string& sym, double value, double limit, double base, double s) {
    LimitAlert a;
    a.kind = k;
    a.symbol = sym;
    a.level = Level::kBreach;
    a.value = value;
    a.limit = limit;
    a.base_limit = base;
    a.usage = limit > 0 ? value / limit : kInf;
    a.scale = s;
    a.at_ns = now_ns;
    a.message = "order " + (order.id.empty() ? std::string() : order.id + " ") + "denied: " + label(k, sym) +
                " would be " + fmt(value) + " > limit " + fmt(limit);
    d.breaches.push_back(a);
    deny(a.message.substr(a.message.find(": ") + 2));
  };
  if (!valid_symbol(order.symbol) || !std::isfinite(order.quantity) || order.quantity == 0.0) {
    deny("malformed order");
    return d;
  }
  const auto market = portfolio_.price(order.symbol);
  if (!order.price && !market) {
    deny("no price known for " + order.symbol + ": give the order a price");
    return d;
  }
  d.price = order.price ? *order.price : *market;
  d.notional = std::fabs(order.quantity * d.price);
  const double q0 = portfolio_.quantity(order.symbol);
  d.reduces_exposure = q0 != 0.0 && ((q0 > 0.0) != (order.quantity > 0.0)) && std::fabs(order.quantity) <= std::fabs(q0);

  // Order rate applies to every order, reducing ones too: it stops a runaway loop.
  auto rate_check = [&](const std::string& sym) {
    if (auto eff = effective_limit(LimitKind::kOrderRate, sym)) {
      const double n = static_cast<double>(orders_in_window(sym, now_ns) + 1);
      if (n > eff->first) breach(LimitKind::kOrderRate, sym, n, eff->first, config_.find(LimitKind::kOrderRate, sym)->limit, eff->second);
    }
  };
  rate_check("");
  if (auto it = config_.symbols.find(order.symbol); it != config_.symbols.end() && it->second.count(LimitKind::kOrderRate)) {
    rate_check(order.symbol);
  }
  if (d.reduces_exposure) {
    d.approved = d.reasons.empty();
    return d;
  }
  if (state_ == TradingState::kHalted) {
    deny("trading is HALTED (" + state_reason_ + "): only orders that reduce exposure are accepted");
  }
  if (auto eff = effective_limit(LimitKind::kOrderNotional, order.symbol)) {
    double limit = eff->first;
    if (state_ == TradingState::kReducing) limit *= config_.reducing_order_scale;
    if (d.notional > limit) {
      breach(LimitKind::kOrderNotional, order.symbol, d.notional, limit,
             config_.find(LimitKind::kOrderNotional, order.symbol)->limit, eff->second);
    }
  }
  if (vpin_latch_.count(order.symbol)) {
    deny("flash crash warning on " + order.symbol);
  } else if (auto t = tracked_.find({LimitKind::kVpinToxicity, order.symbol});
             t != tracked_.end() && t->second.level >= Level::kBreach) {
    breach(LimitKind::kVpinToxicity, order.symbol, t->second.value, t->second.limit,
           config_.find(LimitKind::kVpinToxicity, order.symbol)->limit, t->second.scale);
  }

  // The book after the trade, priced at the market (or the order's price).
  Portfolio after = portfolio_;
  if (!market) after.set_price(order.symbol, d.price);
  after.apply_fill(order.symbol, order.quantity, d.price);
  const double equity = after.equity();
  const double gross = after.gross_exposure();
  const double n_sym = std::fabs(after.notional(order.symbol));
  std::vector<std::pair<LimitKind, std::pair<std::string, double>>> post = {
      {LimitKind::kPositionQuantity, {order.symbol, std::fabs(after.quantity(order.symbol))}},
      {LimitKind::kPositionNotional, {order.symbol, n_sym}},
      {LimitKind::kConcentration, {order.symbol, equity > 0 ? n_sym / equity : kInf}},
      {LimitKind::kGrossExposure, {"", gross}},
      {LimitKind::kNetExposure, {"", std::fabs(after.net_exposure())}},
      {LimitKind::kLeverage, {"", equity > 0 ? gross / equity : kInf}},
  };
  {
    // Reported utilisation (collateral engine) plus the margin the order adds.
    const double base = margin_utilization_ ? *margin_utilization_ * portfolio_.equity() : portfolio_.gross_exposure() * config_.margin_rate;
    const double used = base + (gross - portfolio_.gross_exposure()) * config_.margin_rate;
    post.push_back({LimitKind::kMarginUtilization, {"", equity > 0 ? used / equity : kInf}});
  }
  std::map<std::string, double> book;
  for (const auto& [s, p] : after.positions()) {
    if (p.quantity != 0.0) book[s] = after.notional(s);
  }
  const auto min_var = static_cast<std::size_t>(config_.var_min_samples);
  if (auto v = returns_.var(book, 0.95, min_var)) post.push_back({LimitKind::kVar95, {"", *v}});
  if (auto v = returns_.var(book, 0.99, min_var)) post.push_back({LimitKind::kVar99, {"", *v}});
  for (const auto& [kind, sv] : post) {
    auto eff = effective_limit(kind, sv.first);
    if (eff && sv.second > eff->first) {
      breach(kind, sv.first, sv.second, eff->first, config_.find(kind, sv.first)->limit, eff->second);
    }
  }
  d.approved = d.reasons.empty();
  return d;
}

Decision RiskManager::submit(const OrderRequest& order, std::int64_t now_ns) {
  Decision d = check(order, now_ns);
  orders_.emplace_back(now_ns, order.symbol);
  while (!orders_.empty() && orders_.front().first <= now_ns - kSecondNs) orders_.pop_front();
  return d;
}

nlohmann::json RiskManager::snapshot(std::int64_t now_ns) const {
  nlohmann::json limits = nlohmann::json::array();
  for (const auto& [key, t] : tracked_) {
    const LimitSpec* spec = config_.find(key.first, key.second);
    limits.push_back({{"kind", to_string(key.first)},
                      {"symbol", key.second.empty() ? nlohmann::json(nullptr) : nlohmann::json(key.second)},
                      {"level", to_string(t.level)},
                      {"value", num(t.value)},
                      {"limit", num(t.limit)},
                      {"base_limit", spec ? num(spec->limit) : nlohmann::json(nullptr)},
                      {"usage", num(t.usage)},
                      {"scale", num(t.scale)},
                      {"dynamic", spec && spec->dynamic}});
  }
  nlohmann::json positions = nlohmann::json::object();
  nlohmann::json scales = nlohmann::json::object();
  for (const auto& [s, p] : portfolio_.positions()) {
    positions[s] = {{"quantity", p.quantity}, {"avg_price", p.avg_price}, {"mark", portfolio_.mark(s)},
                    {"notional", portfolio_.notional(s)}};
  }
  for (const auto& [s, price] : portfolio_.prices()) {
    (void)price;
    scales[s] = scale(s);
  }
  nlohmann::json vpin = nlohmann::json::object();
  for (const auto& [s, v] : vpin_) {
    vpin[s] = {{"vpin", v.first}, {"cdf", v.second ? nlohmann::json(*v.second) : nlohmann::json(nullptr)}};
  }
  for (const auto& [s, until] : vpin_latch_) vpin[s]["halted_until_ns"] = until;
  return {{"state", to_string(state_)},
          {"state_reason", state_reason_},
          {"manual_halt", manual_halt_ ? nlohmann::json(*manual_halt_) : nlohmann::json(nullptr)},
          {"equity", num(portfolio_.equity())},
          {"peak_equity", num(peak_equity_)},
          {"day_start_equity", num(day_start_equity_)},
          {"realized_pnl", num(portfolio_.realized_pnl())},
          {"unrealized_pnl", num(portfolio_.unrealized_pnl())},
          {"gross_exposure", num(portfolio_.gross_exposure())},
          {"net_exposure", num(portfolio_.net_exposure())},
          {"orders_last_second", orders_in_window("", now_ns)},
          {"return_samples", returns_.size()},
          {"portfolio_scale", scale("")},
          {"symbol_scales", scales},
          {"positions", positions},
          {"vpin", vpin},
          {"limits", limits},
          {"config", config_.to_json()}};
}

}  // namespace nautilus::risk
