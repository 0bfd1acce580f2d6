// Average-cost positions on golden fill sequences worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "engines/portfolio/positions.h"

using namespace nautilus::portfolio;

namespace {

struct Step {
  const char* what;
  double quantity, price, commission;
  // Expected after the fill:
  double position, avg, realized, cash;
  double closed, opened, close_commission;
};

void run(PositionBook& book, const std::string& symbol, const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    CAPTURE(s.what);
    FillEffect e;
    REQUIRE(book.apply_fill(symbol, s.quantity, s.price, s.commission, &e).is_ok());
    const Position* p = book.find(symbol);
    REQUIRE(p != nullptr);
    CHECK(p->quantity == Approx(s.position).margin(1e-12));
    CHECK(p->avg_price == Approx(s.avg).margin(1e-12));
    CHECK(p->realized_pnl == Approx(s.realized).margin(1e-9));
    CHECK(book.cash() == Approx(s.cash).margin(1e-9));
    CHECK(e.closed_quantity == Approx(s.closed).margin(1e-12));
    CHECK(e.opened_quantity == Approx(s.opened).margin(1e-12));
    CHECK(e.close_commission == Approx(s.close_commission).margin(1e-12));
    CHECK(e.close_commission + e.open_commission == Approx(s.commission).margin(1e-12));
    // The accounting identity holds after every fill.
    CHECK(book.equity() == Approx(book.initial_cash() + book.realized_pnl() + book.unrealized_pnl()).margin(1e-6));
  }
}

}  // namespace

TEST_CASE("positions: adds, a partial reduce, a flip and a close, commissions on every fill", "[portfolio][positions]") {
  PositionBook book(100'000);
  run(book, "AAPL",
      {
          // what                  qty   price  comm  | pos   avg   realized  cash       closed opened close_comm
          {"open long 100 @ 10",    100,  10.0,  1.0,    100,  10.0,  -1.0,    98'999.0,  0,     100,   0},
          {"add 50 @ 13: avg 11",    50,  13.0,  1.0,    150,  11.0,  -2.0,    98'348.0,  0,     50,    0},
          {"sell 60 @ 14: +180-1",  -60,  14.0,  1.0,     90,  11.0,  177.0,   99'187.0,  60,    0,     1.0},
          // 150 sold: 90 close (+90), 60 open short at 12; commission 3 → 1.8 close, 1.2 open
          {"flip: sell 150 @ 12",  -150,  12.0,  3.0,    -60,  12.0,  264.0,  100'984.0,  90,    60,    1.8},
      });
  // A short marks at the ask.
  REQUIRE(book.set_quote("AAPL", 11.5, 11.6).is_ok());
  const Position* p = book.find("AAPL");
  CHECK(p->mark() == Approx(11.6));
  CHECK(p->unrealized_pnl() == Approx(24.0));            // (11.6 − 12)·(−60)
  CHECK(book.equity() == Approx(100'288.0));             // 100'984 − 60·11.6
  CHECK(book.gross_exposure() == Approx(696.0));
  CHECK(book.net_exposure() == Approx(-696.0));
  run(book, "AAPL", {{"cover 60 @ 11.6: +24-1", 60, 11.6, 1.0, 0, 0, 287.0, 100'287.0, 60, 0, 1.0}});
  CHECK(book.equity() == Approx(100'287.0));
  CHECK(book.commission() == Approx(7.0));
  CHECK(book.find("AAPL")->fills == 5);
}

TEST_CASE("positions: shorts average and realise the other way; an opening fill's commission is realised", "[portfolio][positions]") {
  PositionBook book(10'000);
  run(book, "MSFT",
      {
          {"open short 10 @ 50",  -10, 50.0, 2.0,  -10, 50.0, -2.0, 10'498.0, 0, 10, 0},
          {"add short 10 @ 40",   -10, 40.0, 0.0,  -20, 45.0, -2.0, 10'898.0, 0, 10, 0},
          {"cover 5 @ 30: +75",     5, 30.0, 0.0,  -15, 45.0, 73.0, 10'748.0, 5, 0, 0},
          // 25 bought: 15 close (+15·(45−35) = 150), 10 open long at 35; commission 5 → 3 close
          {"flip long @ 35",       25, 35.0, 5.0,   10, 35.0, 218.0, 9'868.0, 15, 10, 3.0},
      });
  // A long marks at the bid; without a quote at the last price.
  PositionBook other(0);
  REQUIRE(other.apply_fill("X", 100, 10.0, 0.0).is_ok());
  CHECK(other.find("X")->unrealized_pnl() == Approx(0.0));  // the last price is the fill
  REQUIRE(other.set_last("X", 10.25).is_ok());
  CHECK(other.find("X")->unrealized_pnl() == Approx(25.0));
  REQUIRE(other.set_quote("X", 10.5, 10.7).is_ok());
  CHECK(other.find("X")->unrealized_pnl() == Approx(50.0));  // at the bid, not the mid or last
}

TEST_CASE("positions: large and tiny quantities", "[portfolio][positions]") {
  PositionBook big(0);
  run(big, "ES",
      {
          {"1e9 @ 1000.25", 1e9, 1000.25, 0.0, 1e9, 1000.25, 0.0, -1.00025e12, 0, 1e9, 0},
          {"1e9 @ 1000.75", -1e9, 1000.75, 0.0, 0, 0, 5e8, 5e8, 1e9, 0, 0},
      });
  CHECK(big.find("ES")->realized_pnl == 5e8);  // exact: every term is a binary fraction

  PositionBook tiny(1'000);
  run(tiny, "BTCUSD",
      {
          {"0.1 @ 30000", 0.1, 30'000, 0.0, 0.1, 30'000, 0.0, -2'000, 0, 0.1, 0},
          {"0.2 @ 30000", 0.2, 30'000, 0.0, 0.3, 30'000, 0.0, -8'000, 0, 0.2, 0},
          // 0.1 + 0.2 is 0.30000000000000004: selling 0.3 still leaves the book flat
          {"sell 0.3 @ 31000", -0.3, 31'000, 0.0, 0.0, 0.0, 300.0, 1'300, 0.3, 0, 0},
      });
  CHECK(tiny.find("BTCUSD")->quantity == 0.0);
  CHECK(tiny.gross_exposure() == 0.0);
  PositionBook dust(0);
  run(dust, "DUST", {{"1e-8 @ 2", 1e-8, 2.0, 0.0, 1e-8, 2.0, 0.0, -2e-8, 0, 1e-8, 0},
                     {"sell 4e-9 @ 3", -4e-9, 3.0, 0.0, 6e-9, 2.0, 4e-9, -8e-9, 4e-9, 0, 0}});
}

TEST_CASE("positions: bad fills and quotes are refused and change nothing", "[portfolio][positions]") {
  PositionBook book(1'000);
  REQUIRE(book.apply_fill("A", 10, 5.0, 1.0).is_ok());
  REQUIRE(book.set_quote("A", 5.0, 5.1).is_ok());
  const double cash = book.cash(), equity = book.equity();
  struct Bad {
    double q, price, commission;
  };
  for (const Bad& b : {Bad{0, 5, 0}, Bad{NAN, 5, 0}, Bad{1, 0, 0}, Bad{1, -5, 0}, Bad{1, INFINITY, 0}, Bad{1, 5, -1}}) {
    CHECK_FALSE(book.apply_fill("A", b.q, b.price, b.commission).is_ok());
  }
  CHECK_FALSE(book.apply_fill("", 1, 5, 0).is_ok());
  CHECK_FALSE(book.set_quote("A", 5.2, 5.1).is_ok());  // bid above ask
  CHECK_FALSE(book.set_quote("A", 0, 5.1).is_ok());
  CHECK_FALSE(book.set_last("A", -1).is_ok());
  CHECK(book.cash() == cash);
  CHECK(book.equity() == equity);
  CHECK(*book.find("A")->bid == 5.0);
  CHECK(book.find("A")->fills == 1);
}
