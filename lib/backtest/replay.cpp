#include "backtest/replay.h"

#include <algorithm>
#include <limits>

#include "backtest/report.h"
#include "core/topic_pattern.h"

namespace nautilus::backtest {
namespace {

constexpr std::string_view kMarketPrefix = "marketdata.real_time.";
// The store's queries take a row limit; a replay wants every row of the window.
constexpr std::size_t kAllRows = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());

void drop_ignored(nlohmann::json& j, const CompareOptions& options) {
  if (j.is_object()) {
    for (std::string_view k : kIgnoredPayloadFields) j.erase(std::string(k));
    if (options.ignore_prices) {
      for (std::string_view k : kPriceFields) j.erase(std::string(k));
    }
    for (auto& [key, v] : j.items()) drop_ignored(v, options);
  } else if (j.is_array()) {
    for (auto& v : j) drop_ignored(v, options);
  }
}

// An order id quoted inside a text ("order trend-17645...-13 denied: ...")
// differs as the id does: each occurrence becomes "<id>".
void mask_ids(nlohmann::json& j, const std::vector<std::string>& ids) {
  if (j.is_string()) {
    std::string text = j.get<std::string>();
    bool changed = false;
    for (const auto& id : ids) {
      for (auto pos = text.find(id); pos != std::string::npos; pos = text.find(id, pos + 4)) {
        text.replace(pos, id.size(), "<id>");
        changed = true;
      }
    }
    if (changed) j = std::move(text);
  } else if (j.is_structured()) {
    for (auto& v : j) mask_ids(v, ids);
  }
}

nlohmann::json comparable(std::string_view payload, const CompareOptions& options) {
  auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return nlohmann::json(std::string(payload));  // compared as text
  if (j.is_object()) {
    std::vector<std::string> ids;
    for (const char* key : {"id", "order_id"}) {
      if (auto it = j.find(key); it != j.end() && it->is_string() && !it->get<std::string>().empty()) ids.push_back(*it);
    }
    if (!ids.empty()) mask_ids(j, ids);
  }
  drop_ignored(j, options);
  return j;
}

// The keys whose values differ (both objects), else "payload" for a wholesale difference.
std::vector<std::string> differing_fields(const store::Record& a, const store::Record& b, const CompareOptions& options) {
  std::vector<std::string> out;
  if (a.type != b.type) out.emplace_back("type");
  const nlohmann::json ja = comparable(a.payload, options), jb = comparable(b.payload, options);
  if (ja == jb) return out;
  if (!ja.is_object() || !jb.is_object()) {
    out.emplace_back("payload");
    return out;
  }
  for (const auto& [k, v] : ja.items()) {
    auto it = jb.find(k);
    if (it == jb.end() || *it != v) out.push_back(k);
  }
  for (const auto& [k, v] : jb.items()) {
    if (!ja.contains(k)) out.push_back(k);
  }
  return out;
}

std::string message_line(const store::Record& r) {
  return iso_time(r.ts_ns) + " " + r.topic + " " + std::string(to_string(r.type)) + " " + r.payload;
}

nlohmann::json message_json(const std::optional<store::Record>& r) {
  if (!r) return nullptr;
  return store::to_json(*r);
}

}  // namespace

const std::vector<std::string>& decision_topic_patterns() {
  static const std::vector<std::string> patterns = {"risk.state", "risk.decision.*", "vpin.alert.*", "strategy.order.*",
                                                    "portfolio.fill.*"};
  return patterns;
}

bool is_decision_topic(std::string_view topic) {
  const auto& p = decision_topic_patterns();
  return std::any_of(p.begin(), p.end(), [&](const std::string& pattern) { return glob_match(pattern, topic); });
}

std::optional<MarketEvent> market_event_from_record(const store::Record& r) {
  if (r.bus != BusKind::kMarketData || !r.topic.starts_with(kMarketPrefix) || r.symbol.empty()) return std::nullopt;
  MarketEvent e;
  switch (r.type) {
    case MessageType::kTrade: e.kind = DataKind::kTrades; break;
    case MessageType::kQuote: e.kind = DataKind::kQuotes; break;
    case MessageType::kBar: e.kind = DataKind::kBars; break;
    default: return std::nullopt;
  }
  e.type = r.type;
  e.at_ns = r.ts_ns;
  e.symbol = r.symbol;
  e.topic = r.topic;
  e.payload = r.payload;
  const auto j = nlohmann::json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
  e.ts_ns = r.ts_ns;
  if (j.is_object()) {
    if (auto s = j.find("start_ns"); s != j.end() && s->is_number_integer()) e.ts_ns = s->get<std::int64_t>();
    const char* volume_key = r.type == MessageType::kBar ? "volume" : "size";
    if (auto v = j.find(volume_key); r.type != MessageType::kQuote && v != j.end() && v->is_number()) e.volume = v->get<double>();
  }
  return e;
}

std::vector<MarketEvent> recorded_market_events(store::Store& store, std::int64_t from_ns, std::int64_t to_ns) {
  store::EventQuery q;
  q.from_ns = from_ns;
  q.to_ns = to_ns;
  q.bus = BusKind::kMarketData;
  q.topic_pattern = std::string(kMarketPrefix) + "*";
  q.limit = kAllRows;
  std::vector<MarketEvent> out;
  for (const auto& r : store.events(q)) {
    if (auto e = market_event_from_record(r)) out.push_back(std::move(*e));
  }
  return out;
}

std::vector<store::Record> recorded_decisions(store::Store& store, std::int64_t from_ns, std::int64_t to_ns) {
  store::EventQuery q;
  q.from_ns = from_ns;
  q.to_ns = to_ns;
  q.bus = BusKind::kEngine;
  q.limit = kAllRows;
  std::vector<store::Record> out;
  // One query per topic family keeps the rows read to the decisions (most of
  // a recording is market data, status and analytics).
  for (const auto& pattern : decision_topic_patterns()) {
    q.topic_pattern = pattern;
    for (auto& r : store.events(q)) out.push_back(std::move(r));
  }
  // Per-topic order is what is compared; keep the store's (time, then write)
  // order within a topic, which the stable sort on time does.
  std::stable_sort(out.begin(), out.end(), [](const store::Record& a, const store::Record& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

ReplayComparison compare_decisions(const std::vector<store::Record>& recorded, const std::vector<store::Record>& replayed,
                                   const CompareOptions& options) {
  ReplayComparison c;
  std::map<std::string, std::pair<std::vector<const store::Record*>, std::vector<const store::Record*>>> by_topic;
  for (const auto& r : recorded) {
    by_topic[r.topic].first.push_back(&r);
    ++c.topics[r.topic].recorded;
  }
  for (const auto& r : replayed) {
    by_topic[r.topic].second.push_back(&r);
    ++c.topics[r.topic].replayed;
  }
  c.recorded = recorded.size();
  c.replayed = replayed.size();
  for (const auto& [topic, sides] : by_topic) {
    const auto& [rec, rep] = sides;
    const std::size_t n = std::max(rec.size(), rep.size());
    for (std::size_t i = 0; i < n; ++i) {
      DecisionDifference d;
      if (i < rec.size() && i < rep.size()) {
        d.fields = differing_fields(*rec[i], *rep[i], options);
        if (d.fields.empty()) continue;
        d.at_ns = std::min(rec[i]->ts_ns, rep[i]->ts_ns);
      } else {
        d.at_ns = (i < rec.size() ? rec[i] : rep[i])->ts_ns;
      }
      if (i < rec.size()) d.recorded = *rec[i];
      if (i < rep.size()) d.replayed = *rep[i];
      d.topic = topic;
      d.index = i;
      c.differing_topics.push_back(topic);
      // Topics are visited in name order: a tie in time goes to the first name.
      if (!c.first_difference || d.at_ns < c.first_difference->at_ns) c.first_difference = std::move(d);
      break;  // later messages of this topic are after this one
    }
  }
  return c;
}

std::string comparison_text(const ReplayComparison& c) {
  std::string s;
  s += "decisions: " + std::to_string(c.recorded) + " recorded, " + std::to_string(c.replayed) + " replayed";
  for (const auto& [topic, n] : c.topics) {
    s += "\n  " + topic + ": " + std::to_string(n.recorded) + " recorded, " + std::to_string(n.replayed) + " replayed";
  }
  s += "\n";
  if (c.identical()) return s + "identical\n";
  if (c.differing_topics.size() > 1) {
    s += "differences on " + std::to_string(c.differing_topics.size()) + " topics:";
    for (const auto& t : c.differing_topics) s += " " + t;
    s += "\n";
  }
  const DecisionDifference& d = *c.first_difference;
  s += "first difference: " + d.topic + ", message " + std::to_string(d.index + 1) + " on the topic, at " + iso_time(d.at_ns) + "\n";
  s += "  recorded: " + (d.recorded ? message_line(*d.recorded) : std::string("(none: the replay decided more)")) + "\n";
  s += "  replayed: " + (d.replayed ? message_line(*d.replayed) : std::string("(none: the replay decided less)")) + "\n";
  if (!d.fields.empty()) {
    s += "  differs in:";
    for (const auto& f : d.fields) s += " " + f;
    s += "\n";
  }
  return s;
}

nlohmann::json to_json(const ReplayComparison& c) {
  nlohmann::json topics = nlohmann::json::object();
  for (const auto& [topic, n] : c.topics) topics[topic] = {{"recorded", n.recorded}, {"replayed", n.replayed}};
  nlohmann::json j = {{"identical", c.identical()}, {"recorded", c.recorded},  {"replayed", c.replayed},
                      {"topics", topics},           {"differing_topics", c.differing_topics}};
  if (c.first_difference) {
    const auto& d = *c.first_difference;
    j["first_difference"] = {{"topic", d.topic},       {"index", d.index},
                             {"time", iso_time(d.at_ns)}, {"at_ns", d.at_ns},
                             {"fields", d.fields},     {"recorded", message_json(d.recorded)},
                             {"replayed", message_json(d.replayed)}};
  } else {
    j["first_difference"] = nullptr;
  }
  return j;
}

}  // namespace nautilus::backtest
