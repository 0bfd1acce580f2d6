// Positions at average cost, cash and equity: the portfolio engine's book.
// Pure: no bus, no clock; every input is a fill or a price.
//
// Accounting (issue 13):
//   - A fill that adds to a position (or opens one) moves the average:
//       avg' = (avg·|q| + price·|f|) / (|q| + |f|).
//   - A fill that reduces it realises (price − avg)·closed for a long and
//     (avg − price)·closed for a short; the average is unchanged.
//   - A fill that flips the position is a close of the whole position and an
//     open of the rest at the fill price; its commission is shared between the
//     two parts pro rata to their quantities (reported in FillEffect).
//   - Commission is subtracted from realised P&L on every fill, opening fills
//     included, and from cash.
//   - Marks: a long at the bid, a short at the ask; without a quote, at the last
//     price (the last trade, else the last fill).
//   cash = initial − Σ signed_qty·price − Σ commission
//   equity = cash + Σ q·mark = initial + realised + unrealised.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace nautilus::portfolio {

struct Position {
  double quantity = 0.0;        // signed: long > 0
  double avg_price = 0.0;       // 0 when flat
  double realized_pnl = 0.0;    // net of every commission paid on this symbol
  double commission = 0.0;      // total commission paid on this symbol
  std::optional<double> bid, ask;  // the latest quote
  std::optional<double> last;      // the last trade (or fill) price
  std::uint64_t fills = 0;

  // The price the position is valued at: bid for a long, ask for a short,
  // else the last price; nullopt when nothing is known (valued at cost).
  std::optional<double> mark() const;
  double unrealized_pnl() const;  // (mark − avg)·q; 0 without a mark
  double market_value() const;    // q·mark (q·avg without a mark)
};

// What one fill did to its position.
struct FillEffect {
  double closed_quantity = 0.0;     // |part| that reduced the position
  double opened_quantity = 0.0;     // |part| that added to (or opened) it
  double gross_realized = 0.0;      // from the closed part, before commission
  double close_commission = 0.0;    // commission share of the closed part
  double open_commission = 0.0;     // commission share of the opened part
  double realized = 0.0;            // gross_realized − commission: the change in realised P&L
  bool flipped = false;
};

class PositionBook {
 public:
  explicit PositionBook(double initial_cash = 0.0);

  // A fill of `signed_quantity` (buy > 0) at `price` paying `commission` (≥ 0).
  // kInvalidArgument (nothing changes) for a non-finite or zero quantity, a
  // non-positive price or a negative commission.
  Status apply_fill(const std::string& symbol, double signed_quantity, double price, double commission,
                    FillEffect* effect = nullptr);
  // kInvalidArgument for bid > ask or a non-positive / non-finite side.
  Status set_quote(const std::string& symbol, double bid, double ask);
  Status set_last(const std::string& symbol, double price);

  const Position* find(const std::string& symbol) const;
  const std::map<std::string, Position>& positions() const { return positions_; }

  double initial_cash() const { return initial_cash_; }
  double cash() const { return cash_; }
  double equity() const;          // cash + Σ market value
  double gross_exposure() const;  // Σ |market value|
  double net_exposure() const;    // Σ market value
  double realized_pnl() const;    // Σ over symbols
  double unrealized_pnl() const;
  double commission() const;

 private:
  double initial_cash_;
  double cash_;
  std::map<std::string, Position> positions_;
};

}  // namespace nautilus::portfolio
