#include "marketdata/sources/replay_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace nautilus::md {
namespace {

enum class TimeUnit { kNs, kMs, kIso };

}  // namespace

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    std::string_view f = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) f.remove_suffix(1);
    out.push_back(f);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size() && std::isfinite(out);
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool parse_iso(std::string_view s, std::int64_t& out) {
  // YYYY-MM-DDTHH:MM:SS[.fraction][Z]
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    return false;
  }
  std::int64_t y, mo, d, h, mi, sec;
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) || !parse_int(s.substr(8, 2), d) ||
      !parse_int(s.substr(11, 2), h) || !parse_int(s.substr(14, 2), mi) || !parse_int(s.substr(17, 2), sec)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  std::string_view rest = s.substr(19);
  std::int64_t frac_ns = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    std::int64_t scale = 100'000'000;
    std::size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      if (scale > 0) frac_ns += (rest[n] - '0') * scale;
      scale /= 10;
      ++n;
    }
    if (n == 0) return false;
    rest.remove_prefix(n);
  }
  if (rest == "Z" || rest.empty()) {
    std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    out = ((days * 86400 + h * 3600 + mi * 60 + sec) * 1'000'000'000) + frac_ns;
    return true;
  }
  return false;
}

bool parse_time(std::string_view s, TimeUnit unit, std::int64_t& out) {
  switch (unit) {
    case TimeUnit::kNs: return parse_int(s, out);
    case TimeUnit::kMs: {
      std::int64_t ms;
      if (!parse_int(s, ms) || ms > INT64_MAX / 1'000'000 || ms < INT64_MIN / 1'000'000) return false;
      out = ms * 1'000'000;
      return true;
    }
    case TimeUnit::kIso: {
      if (parse_iso(s, out)) return true;
      double secs;
      if (!parse_double(s, secs) || secs < 0 || secs > 9.2e9) return false;
      out = static_cast<std::int64_t>(std::llround(secs * 1e9));
      return true;
    }
  }
  return false;
}

Status bad(std::size_t line, const std::string& why) {
  return {StatusCode::kInvalidArgument, "line " + std::to_string(line) + ": " + why};
}

}  // namespace

std::string_view to_string(ReplayKind k) {
  switch (k) {
    case ReplayKind::kTrades: return "trades";
    case ReplayKind::kQuotes: return "quotes";
    case ReplayKind::kBars: return "bars";
  }
  return "unknown";
}

Status ReplayTable::parse(std::string_view text, ReplayTable& out) {
  ReplayTable t;
  std::size_t pos = 0, line_no = 0;
  std::vector<std::string> names;
  TimeUnit unit = TimeUnit::kNs;
  std::size_t ncols = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto fields = split_csv(line);
    if (names.empty()) {
      for (auto f : fields) names.emplace_back(f);
      ncols = names.size();
      if (ncols < 3 || names[1] != "symbol") return bad(line_no, "header must be: time column, symbol, fields...");
      if (names[0] == "timestamp_ns" || names[0] == "ts_ns") {
        unit = TimeUnit::kNs;
      } else if (names[0] == "timestamp_ms" || names[0] == "ts_ms") {
        unit = TimeUnit::kMs;
      } else if (names[0] == "timestamp" || names[0] == "ts" || names[0] == "time") {
        unit = TimeUnit::kIso;
      } else {
        return bad(line_no, "unknown time column '" + names[0] + "'");
      }
      auto has = [&](std::string_view n) { return std::find(names.begin(), names.end(), n) != names.end(); };
      if (has("bid") && has("ask")) {
        t.kind = ReplayKind::kQuotes;
      } else if (has("open") && has("high") && has("low") && has("close")) {
        t.kind = ReplayKind::kBars;
      } else if (has("price")) {
        t.kind = ReplayKind::kTrades;
      } else {
        return bad(line_no, "cannot tell trades (price), quotes (bid, ask) or bars (open, high, low, close)");
      }
      t.header = std::string(line);
      continue;
    }
    if (fields.size() != ncols) {
      return bad(line_no, "expected " + std::to_string(ncols) + " fields, got " + std::to_string(fields.size()));
    }
    ReplayRow row;
    if (!parse_time(fields[0], unit, row.ts_ns)) return bad(line_no, "bad time '" + std::string(fields[0]) + "'");
    if (!t.rows.empty() && row.ts_ns < t.rows.back().ts_ns) return bad(line_no, "time goes backwards");
    if (!valid_symbol(fields[1])) return bad(line_no, "bad symbol '" + std::string(fields[1]) + "'");
    row.symbol = std::string(fields[1]);
    nlohmann::json j = {{"ts_ns", row.ts_ns}};
    for (std::size_t c = 2; c < ncols; ++c) {
      double v;
      if (parse_double(fields[c], v)) {
        j[names[c]] = v;
      } else if (names[c] == "side" || names[c] == "exchange" || names[c] == "condition") {
        j[names[c]] = std::string(fields[c]);
      } else {
        return bad(line_no, "bad number in column '" + names[c] + "'");
      }
    }
    row.payload = j.dump();
    row.line = std::string(line);
    t.rows.push_back(std::move(row));
  }
  if (names.empty()) return bad(line_no, "no header");
  out = std::move(t);
  return Status::ok();
}

Status ReplayTable::load(const std::string& path, ReplayTable& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {StatusCode::kNotFound, "cannot open " + path};
  std::ostringstream ss;
  ss << in.rdbuf();
  Status s = parse(ss.str(), out);
  if (!s.is_ok()) return {s.code(), path + ": " + s.message()};
  return s;
}

std::string ReplayTable::to_csv() const {
  std::string out = header + "\n";
  for (const auto& r : rows) {
    out += r.line;
    out += '\n';
  }
  return out;
}

ReplaySource::ReplaySource(ReplayConfig config, ReplayTable table)
    : config_(std::move(config)), table_(std::move(table)) {
  if (!(config_.speed > 0) || !std::isfinite(config_.speed)) config_.speed = 1.0;
  info_.name = config_.name;
  info_.kind = "replay";
  info_.priority = config_.priority;
  info_.rate_limit = config_.rate_limit;
  switch (table_.kind) {
    case ReplayKind::kTrades: info_.types = {DataType::kTrade, DataType::kTick}; break;
    case ReplayKind::kQuotes: info_.types = {DataType::kQuote}; break;
    case ReplayKind::kBars: info_.types = {DataType::kBar}; break;
  }
  for (std::size_t i = 0; i < table_.rows.size(); ++i) by_symbol_[table_.rows[i].symbol].push_back(i);
  if (config_.start_ns != 0) {
    started_ = true;
    start_ns_ = config_.start_ns;
  }
}

std::int64_t ReplaySource::recorded_time_locked(std::int64_t now_ns) {
  if (!started_) {
    started_ = true;
    start_ns_ = now_ns;
  }
  if (table_.rows.empty()) return 0;
  double elapsed = static_cast<double>(now_ns - start_ns_) * config_.speed;
  return table_.rows.front().ts_ns + static_cast<std::int64_t>(elapsed);
}

std::int64_t ReplaySource::recorded_time(std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  return recorded_time_locked(now_ns);
}

std::vector<const ReplayRow*> ReplaySource::advance(std::int64_t now_ns) {
  std::lock_guard lock(mu_);
  std::int64_t rec = recorded_time_locked(now_ns);
  std::vector<const ReplayRow*> out;
  while (cursor_ < table_.rows.size() && table_.rows[cursor_].ts_ns <= rec) out.push_back(&table_.rows[cursor_++]);
  return out;
}

DataType ReplaySource::row_type() const {
  switch (table_.kind) {
    case ReplayKind::kQuotes: return DataType::kQuote;
    case ReplayKind::kBars: return DataType::kBar;
    case ReplayKind::kTrades: break;
  }
  return DataType::kTrade;
}

bool ReplaySource::finished() const {
  std::lock_guard lock(mu_);
  return cursor_ >= table_.rows.size();
}

FetchResult ReplaySource::fetch(std::string_view symbol, DataType type, std::int64_t now_ns) {
  if (!info_.supports(type)) {
    return FetchResult::failure(FetchError::kUnsupported,
                                info_.name + " replays " + std::string(to_string(table_.kind)));
  }
  std::int64_t rec;
  {
    std::lock_guard lock(mu_);
    rec = recorded_time_locked(now_ns);
  }
  auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) return FetchResult::failure(FetchError::kNotFound, "no rows for " + std::string(symbol));
  const auto& idx = it->second;
  auto pos = std::upper_bound(idx.begin(), idx.end(), rec,
                              [&](std::int64_t t, std::size_t i) { return t < table_.rows[i].ts_ns; });
  if (pos == idx.begin()) {
    return FetchResult::failure(FetchError::kNotFound, "no row for " + std::string(symbol) + " yet");
  }
  const ReplayRow& row = table_.rows[*(pos - 1)];
  auto d = std::make_shared<DataPoint>();
  d->symbol = row.symbol;
  d->type = type;
  d->source = info_.name;
  d->as_of_ns = row.ts_ns;
  if (type == DataType::kTick) {
    auto j = nlohmann::json::parse(row.payload);
    d->payload = nlohmann::json{{"ts_ns", row.ts_ns}, {"price", j.value("price", 0.0)}}.dump();
  } else {
    d->payload = row.payload;
  }
  return FetchResult::success(std::move(d));
}

HistoryResult ReplaySource::fetch_history(const HistoryRequest& request, std::int64_t) {
  HistoryResult out;
  if (!info_.supports(request.type) || request.type == DataType::kTick) {
    out.error = FetchError::kUnsupported;
    out.message = info_.name + " replays " + std::string(to_string(table_.kind));
    return out;
  }
  auto it = by_symbol_.find(request.symbol);
  if (it == by_symbol_.end()) {
    out.error = FetchError::kNotFound;
    out.message = "no rows for " + request.symbol;
    return out;
  }
  const auto& idx = it->second;
  auto time_of = [&](std::size_t i) { return table_.rows[i].ts_ns; };
  auto first = std::lower_bound(idx.begin(), idx.end(), request.from_ns,
                                [&](std::size_t i, std::int64_t t) { return time_of(i) < t; });
  auto last = std::lower_bound(first, idx.end(), request.to_ns,
                               [&](std::size_t i, std::int64_t t) { return time_of(i) < t; });
  if (static_cast<std::size_t>(last - first) > request.limit) first = last - static_cast<std::ptrdiff_t>(request.limit);
  for (auto p = first; p != last; ++p) {
    const ReplayRow& row = table_.rows[*p];
    auto d = std::make_shared<DataPoint>();
    d->symbol = row.symbol;
    d->type = request.type;
    d->source = info_.name;
    d->as_of_ns = row.ts_ns;
    d->payload = row.payload;
    out.points.push_back(std::move(d));
  }
  out.answered_by = info_.name;
  return out;
}

}  // namespace nautilus::md
