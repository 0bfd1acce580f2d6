// Incident replay: a recording in the history store (the daemon's recorder,
// or `nautilus backtest run --record`) read back as the market data timeline
// of a backtest, and the engines' decisions of the re-run compared with the
// recorded ones.
//
// What is compared (nautilus(1), BACKTEST REPLAY): the engine-bus messages
// on the decision topics (risk.state, risk.decision.*, vpin.alert.*,
// strategy.order.*, portfolio.fill.*) in the window, topic by topic: the
// n-th message on a topic replayed against the n-th recorded one, by type
// and payload. Left out of the payloads: order ids and every timestamp
// field (kIgnoredPayloadFields), and the message's own order id where a text
// quotes it: they legitimately differ between a live daemon and a fresh run; the envelope's id, time, source and correlation
// are not compared either. The order across topics is not compared: the
// daemon's engines run on their own threads, so two topics' messages of one
// instant interleave differently from run to run. The first difference is
// the mismatched pair with the earliest time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backtest/market_data_file.h"
#include "store/record.h"
#include "store/store.h"

namespace nautilus::backtest {

// The engine-bus topic globs whose messages are decisions.
const std::vector<std::string>& decision_topic_patterns();
bool is_decision_topic(std::string_view topic);
// Payload keys dropped (at any depth) before two decisions are compared.
inline constexpr std::string_view kIgnoredPayloadFields[] = {"id", "order_id", "timestamp_ns", "ts_ns",
                                                             "market_ns", "decision_ns", "start_ns", "end_ns"};

// A recorded marketdata.real_time.<trade|quote|bar>.<SYMBOL> message as the
// event a backtest publishes: delivered at its recorded time, same topic,
// same payload. nullopt for any other record.
std::optional<MarketEvent> market_event_from_record(const store::Record& r);

// All recorded market data in [from, to), in recorded order (time, then the
// order the recorder wrote it). Throws std::runtime_error on a store failure.
std::vector<MarketEvent> recorded_market_events(store::Store& store, std::int64_t from_ns, std::int64_t to_ns);
// The recorded decisions in [from, to), in recorded order.
std::vector<store::Record> recorded_decisions(store::Store& store, std::int64_t from_ns, std::int64_t to_ns);

// Payload keys that carry the market price at the moment of a decision:
// risk's mark for an order, the quote a fill took and what follows from it.
// On a live daemon that moment is a race between engine threads (risk may
// have taken in a few more trades before the order reached it), so
// `--ignore-prices` leaves them out too; a backtest recording needs no such
// allowance.
inline constexpr std::string_view kPriceFields[] = {"price", "notional", "commission", "realized_pnl", "reference_price"};

struct CompareOptions {
  bool ignore_prices = false;  // also leave out kPriceFields
};

struct DecisionDifference {
  std::string topic;
  std::size_t index = 0;                   // the n-th message on the topic (0-based)
  std::optional<store::Record> recorded;   // absent: the replay decided more
  std::optional<store::Record> replayed;   // absent: the replay decided less
  std::vector<std::string> fields;         // the differing payload keys ("type" for the envelope type)
  std::int64_t at_ns = 0;                  // the earlier of the two times
};

struct TopicCounts {
  std::size_t recorded = 0, replayed = 0;
};

struct ReplayComparison {
  std::map<std::string, TopicCounts> topics;
  std::vector<std::string> differing_topics;  // every topic with a difference, by name
  std::size_t recorded = 0, replayed = 0;
  std::optional<DecisionDifference> first_difference;
  bool identical() const { return !first_difference; }
};

// Both inputs in their own recorded / published order.
ReplayComparison compare_decisions(const std::vector<store::Record>& recorded, const std::vector<store::Record>& replayed,
                                   const CompareOptions& options = {});

// The text nautilus(1) prints ("identical" or the first difference, both
// messages) and the --json document.
std::string comparison_text(const ReplayComparison& c);
nlohmann::json to_json(const ReplayComparison& c);

}  // namespace nautilus::backtest
