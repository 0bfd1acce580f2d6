#include "engines/portfolio/positions.h"

#include <cmath>

namespace nautilus::portfolio {
namespace {

// A reducing fill within this relative distance of the position closes it
// exactly: 0.1 + 0.2 bought and 0.3 sold must leave flat, not 5.6e-17 long.
constexpr double kCloseTolerance = 1e-12;

bool finite_positive(double v) { return std::isfinite(v) && v > 0.0; }

}  // namespace

std::optional<double> Position::mark() const {
  if (quantity > 0.0 && bid) return bid;
  if (quantity < 0.0 && ask) return ask;
  return last;
}

double Position::unrealized_pnl() const {
  auto m = mark();
  return m && quantity != 0.0 ? (*m - avg_price) * quantity : 0.0;
}

double Position::market_value() const {
  auto m = mark();
  return quantity * (m ? *m : avg_price);
}

PositionBook::PositionBook(double initial_cash) : initial_cash_(initial_cash), cash_(initial_cash) {}

Status PositionBook::apply_fill(const std::string& symbol, double f, double price, double commission,
                                FillEffect* effect) {
  if (symbol.empty()) return {StatusCode::kInvalidArgument, "fill: empty symbol"};
  if (!std::isfinite(f) || f == 0.0) return {StatusCode::kInvalidArgument, "fill: quantity must be finite and non-zero"};
  if (!finite_positive(price)) return {StatusCode::kInvalidArgument, "fill: price must be finite and > 0"};
  if (!std::isfinite(commission) || commission < 0.0) {
    return {StatusCode::kInvalidArgument, "fill: commission must be finite and >= 0"};
  }
  Position& p = positions_[symbol];
  FillEffect e;
  const double q = p.quantity;
  const double size = std::fabs(f);
  const bool reduces = q != 0.0 && (q > 0.0) != (f > 0.0);
  if (!reduces) {
    e.opened_quantity = size;
    const double held = std::fabs(q);
    p.avg_price = (p.avg_price * held + price * size) / (held + size);
    p.quantity = q + f;
  } else {
    const double held = std::fabs(q);
    const bool exact_close = std::fabs(size - held) <= kCloseTolerance * std::max(size, held);
    e.closed_quantity = exact_close ? held : std::min(size, held);
    e.opened_quantity = exact_close ? 0.0 : std::max(0.0, size - held);
    e.gross_realized = (q > 0.0 ? price - p.avg_price : p.avg_price - price) * e.closed_quantity;
    e.flipped = e.opened_quantity > 0.0;
    if (exact_close) {
      p.quantity = 0.0;
      p.avg_price = 0.0;
    } else if (e.flipped) {
      p.quantity = f > 0.0 ? e.opened_quantity : -e.opened_quantity;
      p.avg_price = price;
    } else {
      p.quantity = q + f;  // the average is unchanged by a reduction
    }
  }
  // Pro rata: the closed and the opened part each carry their share.
  e.close_commission = commission * (e.closed_quantity / (e.closed_quantity + e.opened_quantity));
  e.open_commission = commission - e.close_commission;
  e.realized = e.gross_realized - commission;
  p.realized_pnl += e.realized;
  p.commission += commission;
  p.last = price;
  ++p.fills;
  cash_ -= f * price + commission;
  if (effect) *effect = e;
  return Status::ok();
}

Status PositionBook::set_quote(const std::string& symbol, double bid, double ask) {
  if (symbol.empty()) return {StatusCode::kInvalidArgument, "quote: empty symbol"};
  if (!finite_positive(bid) || !finite_positive(ask)) return {StatusCode::kInvalidArgument, "quote: bid and ask must be > 0"};
  if (bid > ask) return {StatusCode::kInvalidArgument, "quote: bid above ask"};
  Position& p = positions_[symbol];
  p.bid = bid;
  p.ask = ask;
  return Status::ok();
}

Status PositionBook::set_last(const std::string& symbol, double price) {
  if (symbol.empty()) return {StatusCode::kInvalidArgument, "trade: empty symbol"};
  if (!finite_positive(price)) return {StatusCode::kInvalidArgument, "trade: price must be > 0"};
  positions_[symbol].last = price;
  return Status::ok();
}

const Position* PositionBook::find(const std::string& symbol) const {
  auto it = positions_.find(symbol);
  return it == positions_.end() ? nullptr : &it->second;
}

double PositionBook::equity() const { return cash_ + net_exposure(); }

double PositionBook::gross_exposure() const {
  double g = 0.0;
  for (const auto& [s, p] : positions_) g += std::fabs(p.market_value());
  return g;
}

double PositionBook::net_exposure() const {
  double n = 0.0;
  for (const auto& [s, p] : positions_) n += p.market_value();
  return n;
}

double PositionBook::realized_pnl() const {
  double r = 0.0;
  for (const auto& [s, p] : positions_) r += p.realized_pnl;
  return r;
}

double PositionBook::unrealized_pnl() const {
  double u = 0.0;
  for (const auto& [s, p] : positions_) u += p.unrealized_pnl();
  return u;
}

double PositionBook::commission() const {
  double c = 0.0;
  for (const auto& [s, p] : positions_) c += p.commission;
  return c;
}

}  // namespace nautilus::portfolio
