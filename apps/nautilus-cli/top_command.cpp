// nautilus top [--interval S] [--once] [--sort KEY] [--json]
// A live latency table of the daemon: one row per bus, per bus priority, per
// topic family and per engine, from GET /api/v1/stats polled every interval.
// msgs/s is the change of a delivery counter between two polls divided by the
// time between them on this side's monotonic clock; the latency columns are
// the daemon's histograms since it started. On a terminal the table redraws
// in place on the alternate screen; off one (or with --json) it prints one
// snapshot per interval; --once prints one and exits. A field the daemon does
// not report shows '-' (null in JSON).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "commands.h"
#include "control/control_client.h"
#include "daemon_connection.h"
#include "table.h"
#include "terminal.h"

namespace nautilus::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;  // output: fields in the documented order
using Num = std::optional<double>;

struct TopOptions {
  double interval_s = 1.0;
  bool once = false;
  std::string sort = "name";
};

// ---- rows ------------------------------------------------------------------

enum class SortKey { kRate, kP50, kP90, kP99, kP999, kMax, kQueue, kDrops, kErrors, kName };
constexpr std::pair<const char*, SortKey> kSortKeys[] = {
    {"rate", SortKey::kRate}, {"p50", SortKey::kP50},     {"p90", SortKey::kP90},     {"p99", SortKey::kP99},
    {"p999", SortKey::kP999}, {"max", SortKey::kMax},     {"queue", SortKey::kQueue}, {"drops", SortKey::kDrops},
    {"errors", SortKey::kErrors}, {"name", SortKey::kName}};

SortKey parse_sort(const std::string& s) {
  std::string valid;
  for (const auto& [name, key] : kSortKeys) {
    if (s == name) return key;
    valid += valid.empty() ? name : std::string(", ") + name;
  }
  throw CliError(kExitUsage, "--sort: unknown key '" + s + "' (valid: " + valid + ")");
}

// Priority lanes in the daemon's order, highest first (the order of rows
// sorted by name).
constexpr const char* kPriorities[] = {"flash_crash", "urgent", "high", "normal", "low"};

Num num(const Json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

Num sum(Num a, Num b) {
  if (!a) return b;
  if (!b) return a;
  return *a + *b;
}

// Integral values stay integers in the JSON output; absent ones are null.
OJson out(Num v) {
  if (!v) return nullptr;
  if (*v == std::floor(*v) && std::fabs(*v) < 9.0e15) return static_cast<std::int64_t>(*v);
  return *v;
}

struct Latency {
  Num p50, p90, p99, p999, max;
};

Latency latency_of(const Json& l) {
  if (Num count = num(l, "count"); count && *count == 0) return {};  // an empty histogram's zeros mean nothing
  return {num(l, "p50_ns"), num(l, "p90_ns"), num(l, "p99_ns"), num(l, "p999_ns"), num(l, "max_ns")};
}

OJson latency_json(const Latency& l) {
  return {{"p50_ns", out(l.p50)}, {"p90_ns", out(l.p90)}, {"p99_ns", out(l.p99)}, {"p999_ns", out(l.p999)},
          {"max_ns", out(l.max)}};
}

enum Group : std::size_t { kBuses, kPriorityLanes, kFamilies, kEngines, kConsumerGroups, kGroupCount };
constexpr const char* kGroupTitles[] = {"BUSES", "PRIORITIES", "FAMILIES", "ENGINES", "CONSUMER GROUPS (Redis)"};
constexpr const char* kGroupJson[] = {"buses", "priorities", "families", "engines", "consumer_groups"};

struct Row {
  std::string key;   // identity across snapshots: "<bus>/<family>", ...
  std::string name;  // as shown
  std::string sort_name;
  int rank = 0;      // after sort_name when sorting by name (priority lanes)
  Num counter;       // cumulative deliveries: the msgs/s source
  Num rate;
  Latency lat;
  std::optional<Latency> chain;
  Num queue, drops, errors;
  std::string state;
  bool drops_grew = false, errors_grew = false;
  OJson extra = OJson::object();  // group-specific fields for --json
};

struct Snapshot {
  std::array<std::vector<Row>, kGroupCount> groups;
  std::chrono::system_clock::time_point wall;
  std::optional<double> interval_s;  // since the previous poll
  bool has_chain = false;
};

struct Sample {
  Json body;
  Clock::time_point mono;
  std::chrono::system_clock::time_point wall;
};

std::array<std::vector<Row>, kGroupCount> rows_of(const Json& body) {
  std::array<std::vector<Row>, kGroupCount> g;
  const Json empty = Json::array();
  const Json& buses = body.contains("buses") && body["buses"].is_array() ? body["buses"] : empty;
  std::map<std::string, int> family_seen;
  for (const auto& b : buses) {
    for (const auto& f : b.value("families", empty)) ++family_seen[f.value("family", "")];
  }
  for (const auto& b : buses) {
    if (!b.is_object()) continue;
    const std::string bus = b.value("name", "?");
    Row r;
    r.key = r.name = r.sort_name = bus;
    r.counter = num(b, "delivered");
    if (b.contains("latency_all")) r.lat = latency_of(b["latency_all"]);
    r.queue = num(b, "queue_depth");
    if (!r.queue) {  // older daemons: the subscribers' queues add up to the bus's
      for (const auto& s : b.value("subscribers", empty)) r.queue = sum(r.queue, num(s, "queue_depth"));
    }
    r.drops = num(b, "dropped");
    r.errors = sum(num(b, "decode_errors"), num(b, "handler_errors"));
    r.state = b.value("state", "");
    r.extra = {{"backend", b.value("backend", "")}, {"published", out(num(b, "published"))},
               {"delivered", out(r.counter)}, {"rejected", out(num(b, "rejected"))}};
    g[kBuses].push_back(std::move(r));

    if (b.contains("latency") && b["latency"].is_object()) {
      for (const auto& [prio, l] : b["latency"].items()) {
        Row p;
        p.key = p.name = bus + "/" + prio;
        p.sort_name = bus;
        p.rank = static_cast<int>(std::find(std::begin(kPriorities), std::end(kPriorities), prio) - std::begin(kPriorities));
        p.counter = num(l, "count");
        p.lat = latency_of(l);
        p.extra = {{"bus", bus}, {"priority", prio}, {"count", out(p.counter)}};
        g[kPriorityLanes].push_back(std::move(p));
      }
    }
    for (const auto& f : b.value("families", empty)) {
      if (!f.is_object()) continue;
      const std::string family = f.value("family", "?");
      Row r2;
      r2.key = bus + "/" + family;
      r2.name = family_seen[family] > 1 ? r2.key : family;
      r2.sort_name = r2.name;
      r2.counter = num(f, "delivered");
      r2.lat = latency_of(f.value("latency", Json()));
      r2.drops = num(f, "dropped");
      if (f.contains("chain") && f["chain"].is_object()) r2.chain = latency_of(f["chain"]);
      r2.extra = {{"bus", bus}, {"family", family}, {"delivered", out(r2.counter)},
                  {"chain", r2.chain ? latency_json(*r2.chain) : OJson(nullptr)}};
      g[kFamilies].push_back(std::move(r2));
    }
    // Redis consumer groups: QUEUE is the lag (entries not yet delivered),
    // DROPS what was trimmed before the group read it.
    for (const auto& cg : b.value("groups", empty)) {
      if (!cg.is_object()) continue;
      Row r3;
      r3.key = r3.name = r3.sort_name = bus + "/" + cg.value("group", "?");
      r3.queue = num(cg, "lag");
      r3.drops = num(cg, "lost");
      const Num pending = num(cg, "pending");
      r3.state = "pending " + (pending ? std::to_string(static_cast<long long>(*pending)) : std::string("-")) +
                 (r3.queue ? "" : ", lag unknown");
      r3.extra = {{"bus", bus}, {"group", cg.value("group", "")}, {"pending", out(pending)}, {"lag", out(r3.queue)},
                  {"lost", out(r3.drops)}, {"consumers", out(num(cg, "consumers"))}};
      g[kConsumerGroups].push_back(std::move(r3));
    }
  }
  const Json& engines = body.contains("engines") && body["engines"].is_array() ? body["engines"] : empty;
  for (const auto& e : engines) {
    if (!e.is_object()) continue;
    // Registered kinds nobody configured or started are not running anything.
    if (!e.value("configured", true) && e.value("state", "") == "STOPPED") continue;
    Row r;
    r.key = r.name = r.sort_name = e.value("name", "?");
    r.counter = num(e, "messages");
    if (e.contains("latency")) r.lat = latency_of(e["latency"]);
    r.queue = num(e, "queue_depth");
    r.drops = num(e, "dropped");
    r.errors = num(e, "errors");
    r.state = e.value("state", "");
    r.extra = {{"kind", e.value("kind", "")}, {"messages", out(r.counter)},
               {"last_message_age_ms", out(num(e, "last_message_age_ms"))}};
    g[kEngines].push_back(std::move(r));
  }
  return g;
}

Num sort_value(const Row& r, SortKey k) {
  switch (k) {
    case SortKey::kRate: return r.rate;
    case SortKey::kP50: return r.lat.p50;
    case SortKey::kP90: return r.lat.p90;
    case SortKey::kP99: return r.lat.p99;
    case SortKey::kP999: return r.lat.p999;
    case SortKey::kMax: return r.lat.max;
    case SortKey::kQueue: return r.queue;
    case SortKey::kDrops: return r.drops;
    case SortKey::kErrors: return r.errors;
    case SortKey::kName: break;
  }
  return std::nullopt;
}

// Numbers descending with absent values last; ties (and --sort name) by name.
void sort_rows(std::vector<Row>& rows, SortKey k) {
  std::stable_sort(rows.begin(), rows.end(), [k](const Row& a, const Row& b) {
    if (k != SortKey::kName) {
      Num va = sort_value(a, k), vb = sort_value(b, k);
      if (va.has_value() != vb.has_value()) return va.has_value();
      if (va && *va != *vb) return *va > *vb;
    }
    if (a.sort_name != b.sort_name) return a.sort_name < b.sort_name;
    return a.rank < b.rank;
  });
}

Snapshot make_snapshot(const Sample& cur, const Sample* prev, SortKey key) {
  Snapshot s;
  s.wall = cur.wall;
  s.groups = rows_of(cur.body);
  std::map<std::string, const Row*> before;
  std::array<std::vector<Row>, kGroupCount> prev_rows;
  double dt = 0;
  if (prev) {
    dt = std::chrono::duration<double>(cur.mono - prev->mono).count();
    s.interval_s = dt;
    prev_rows = rows_of(prev->body);
    for (std::size_t g = 0; g < kGroupCount; ++g) {
      for (const auto& r : prev_rows[g]) before[std::to_string(g) + ":" + r.key] = &r;
    }
  }
  for (std::size_t g = 0; g < kGroupCount; ++g) {
    for (auto& r : s.groups[g]) {
      s.has_chain |= r.chain.has_value();
      auto it = before.find(std::to_string(g) + ":" + r.key);
      if (it == before.end()) continue;
      const Row& p = *it->second;
      // A counter that went down means the daemon restarted: no rate this time.
      if (r.counter && p.counter && *r.counter >= *p.counter && dt > 0) r.rate = (*r.counter - *p.counter) / dt;
      r.drops_grew = r.drops && p.drops && *r.drops > *p.drops;
      r.errors_grew = r.errors && p.errors && *r.errors > *p.errors;
    }
    sort_rows(s.groups[g], key);
  }
  return s;
}

// ---- formatting ------------------------------------------------------------

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string local_clock(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// 3 significant digits in the largest unit that keeps the value >= 1:
// 850ns, 1.25µs, 12.5µs, 125µs, 1.25ms, 2.00s.
std::string format_latency(Num ns) {
  if (!ns) return "-";
  static const char* const kUnits[] = {"ns", "µs", "ms", "s"};
  double v = std::max(0.0, *ns);
  int u = 0;
  while (u < 3 && v >= 999.5) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (u == 0 || v >= 99.95) std::snprintf(buf, sizeof buf, "%.0f%s", v, kUnits[u]);
  else if (v >= 9.995) std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[u]);
  else std::snprintf(buf, sizeof buf, "%.2f%s", v, kUnits[u]);
  return buf;
}

std::string format_rate(Num r) {
  if (!r) return "-";
  if (*r < 9.95) return format_fixed(*r, 1);
  return format_count(*r);
}

std::string format_num(Num v) { return v ? format_count(*v) : "-"; }

std::string interval_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

OJson snapshot_json(const Snapshot& s, const std::string& sort) {
  OJson j = {{"time", iso_time(s.wall)},
             {"interval_s", s.interval_s ? OJson(std::round(*s.interval_s * 1e6) / 1e6) : OJson(nullptr)},
             {"sort", sort}};
  for (std::size_t g = 0; g < kGroupCount; ++g) {
    OJson rows = OJson::array();
    for (const auto& r : s.groups[g]) {
      OJson row = {{"name", r.name},
                   {"msgs_per_s", r.rate ? OJson(std::round(*r.rate * 100) / 100) : OJson(nullptr)}};
      OJson lat = latency_json(r.lat);  // items() refers to it: keep it alive through the loop
      for (auto& [k, v] : lat.items()) row[k] = v;
      row["queue_depth"] = out(r.queue);
      row["dropped"] = out(r.drops);
      row["errors"] = out(r.errors);
      row["state"] = r.state.empty() ? OJson(nullptr) : OJson(r.state);
      for (auto& [k, v] : r.extra.items()) row[k] = v;
      rows.push_back(std::move(row));
    }
    j[kGroupJson[g]] = std::move(rows);
  }
  return j;
}

// ---- the table -------------------------------------------------------------

enum Col : std::size_t { kName, kRate, kP50, kP90, kP99, kP999, kMax, kChain, kQueue, kDrops, kErrors, kState, kCols };
constexpr const char* kHeaders[] = {"NAME",  "MSGS/S", "P50",   "P90",    "P99",   "P99.9",
                                    "MAX",   "CHAIN P99", "QUEUE", "DROPS", "ERRORS", "STATE"};
// Dropped in this order when the terminal is too narrow, after the names
// have been shortened.
constexpr Col kDropOrder[] = {kChain, kP90, kP999, kQueue, kMax, kP50, kErrors};

constexpr const char* kBold = "\033[1m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kReset = "\033[0m";
constexpr double kSlowP99Ns = 1e6;  // p99 above 1 ms is worth a glance

std::size_t display_width(std::string_view s) {
  std::size_t w = 0;
  for (char c : s) w += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // count UTF-8 lead bytes only
  return w;
}

// The first `w` columns of `s`, with "…" standing for what was cut.
std::string clip(const std::string& s, std::size_t w) {
  if (display_width(s) <= w) return s;
  if (w == 0) return {};
  std::string outs;
  std::size_t used = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (used + 1 == w) break;
      ++used;
    }
    outs += s[i];
  }
  return outs + "…";
}

const char* state_color(const std::string& st) {
  if (st == "RUNNING" || st == "CONNECTED") return kGreen;
  if (st == "ERROR" || st == "DEGRADED" || st == "DISCONNECTED" || st == "FAILED") return kRed;
  return nullptr;
}

struct Cell {
  std::string text;
  const char* color = nullptr;
};

std::array<Cell, kCols> cells_of(const Row& r) {
  std::array<Cell, kCols> c;
  c[kName] = {"  " + r.name};
  c[kRate] = {format_rate(r.rate)};
  c[kP50] = {format_latency(r.lat.p50)};
  c[kP90] = {format_latency(r.lat.p90)};
  c[kP99] = {format_latency(r.lat.p99), r.lat.p99 && *r.lat.p99 > kSlowP99Ns ? kYellow : nullptr};
  c[kP999] = {format_latency(r.lat.p999)};
  c[kMax] = {format_latency(r.lat.max)};
  Num chain99 = r.chain ? r.chain->p99 : std::nullopt;
  c[kChain] = {format_latency(chain99), chain99 && *chain99 > kSlowP99Ns ? kYellow : nullptr};
  c[kQueue] = {format_num(r.queue)};
  c[kDrops] = {format_num(r.drops), r.drops_grew ? kYellow : nullptr};
  c[kErrors] = {format_num(r.errors), r.errors_grew ? kRed : nullptr};
  c[kState] = {r.state.empty() ? "-" : r.state, state_color(r.state)};
  return c;
}

// The table as lines. `width` 0: no limit (logs); otherwise names shorten and
// the least telling columns go until every line fits.
std::vector<std::string> render_table(const Snapshot& s, bool color, std::size_t width) {
  std::vector<std::array<Cell, kCols>> rows;
  std::vector<std::size_t> heading_at;  // index into `rows` where each group starts
  std::vector<std::size_t> heading_group;
  for (std::size_t g = 0; g < kGroupCount; ++g) {
    if (s.groups[g].empty()) continue;
    heading_at.push_back(rows.size());
    heading_group.push_back(g);
    for (const auto& r : s.groups[g]) rows.push_back(cells_of(r));
  }
  std::array<bool, kCols> shown{};
  shown.fill(true);
  shown[kChain] = s.has_chain;
  std::array<std::size_t, kCols> w{};
  for (std::size_t c = 0; c < kCols; ++c) {
    w[c] = display_width(kHeaders[c]);
    for (const auto& r : rows) w[c] = std::max(w[c], display_width(r[c].text));
  }
  for (std::size_t g : heading_group) w[kName] = std::max(w[kName], display_width(kGroupTitles[g]));
  auto total = [&] {
    std::size_t t = 0, n = 0;
    for (std::size_t c = 0; c < kCols; ++c) {
      if (!shown[c]) continue;
      t += w[c];
      ++n;
    }
    return t + (n > 0 ? 2 * (n - 1) : 0);
  };
  if (width > 0 && total() > width) {
    // Drop the least telling columns until the rest fits beside a short
    // name, then give the name whatever room is left.
    constexpr std::size_t kMinName = 14;
    const std::size_t full_name = w[kName];
    w[kName] = std::min(full_name, kMinName);
    for (Col c : kDropOrder) {
      if (total() <= width) break;
      shown[c] = false;
    }
    if (std::size_t t = total(); t < width) w[kName] = std::min(full_name, w[kName] + (width - t));
  }

  auto line = [&](const std::array<Cell, kCols>& cells, bool header) {
    std::string text;
    std::size_t used = 0;
    bool first = true;
    for (std::size_t c = 0; c < kCols; ++c) {
      if (!shown[c]) continue;
      std::string cell = clip(cells[c].text, w[c]);
      std::string pad(w[c] - display_width(cell), ' ');
      bool left = c == kName || c == kState;
      std::string piece = left ? cell + pad : pad + cell;
      std::string sep = first ? "" : "  ";
      first = false;
      if (width > 0 && used + sep.size() >= width) break;
      if (width > 0 && used + sep.size() + display_width(piece) > width) piece = clip(piece, width - used - sep.size());
      used += sep.size() + display_width(piece);
      text += sep;
      const char* col = header ? nullptr : cells[c].color;
      if (color && col && cells[c].text != "-") {
        // Colour the value, not the padding, so alignment stays exact.
        std::size_t lead = piece.find_first_not_of(' ');
        if (lead == std::string::npos) lead = piece.size();
        std::size_t end = piece.find_last_not_of(' ') + 1;
        text += piece.substr(0, lead) + col + piece.substr(lead, end - lead) + kReset + piece.substr(end);
      } else {
        text += piece;
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return header && color ? kBold + text + kReset : text;
  };

  std::vector<std::string> lines;
  std::array<Cell, kCols> head;
  for (std::size_t c = 0; c < kCols; ++c) head[c] = {kHeaders[c]};
  lines.push_back(line(head, true));
  std::size_t next_heading = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (next_heading < heading_at.size() && heading_at[next_heading] == i) {
      std::string title = kGroupTitles[heading_group[next_heading++]];
      lines.push_back(color ? std::string(kBold) + title + kReset : title);
    }
    lines.push_back(line(rows[i], false));
  }
  if (rows.empty()) lines.push_back("  (the daemon reported no buses or engines)");
  return lines;
}

// ---- polling ---------------------------------------------------------------

Sample fetch(control::ControlClient& client) {
  Sample s;
  const Clock::time_point sent = Clock::now();
  try {
    s.body = client.get("/api/v1/stats").body;
  } catch (const control::ProtocolError& e) {
    // A daemon killed mid-answer leaves a truncated reply: it went away.
    throw CliError(kExitUnreachable, e.what());
  }
  if (!s.body.is_object()) throw CliError(kExitFailure, "unexpected answer from /api/v1/stats");
  // The daemon read its counters somewhere inside the round trip: its middle
  // is the best guess, and keeps a slow answer from skewing msgs/s.
  const Clock::time_point received = Clock::now();
  s.mono = sent + (received - sent) / 2;
  s.wall = std::chrono::system_clock::now();
  return s;
}

// Waits until `until`, waking for signals and keys. False when asked to stop
// (a signal, or 'q' on the full screen); `on_resize` redraws meanwhile.
bool wait_until(Clock::time_point until, SignalFlags& signals, FullScreen* screen,
                const std::function<void()>& on_resize = {}) {
  for (;;) {
    if (signals.stop_requested()) return false;
    if (screen && screen->read_key() == 'q') return false;
    if (signals.take_resized() && on_resize) on_resize();
    auto now = Clock::now();
    if (now >= until) return true;
    // Short slices: a signal landing between the flag check and poll() costs
    // at most one slice.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
    int ms = static_cast<int>(std::min<long long>(left, 100));
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    bool keys = screen && screen->keys();
    ::poll(keys ? &pfd : nullptr, keys ? 1 : 0, ms);
  }
}

std::string plain_snapshot(const Snapshot& s, bool color, std::size_t width) {
  std::string text = iso_time(s.wall);
  if (s.interval_s) text += "  (" + format_fixed(*s.interval_s, 3) + " s since the previous poll)";
  text += "\n";
  for (const auto& l : render_table(s, color, width)) text += l + "\n";
  return text;
}

std::string frame(const Snapshot& s, const std::string& url, double interval_s, const std::string& sort,
                  bool color, bool keys) {
  TerminalSize size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{});
  std::size_t cols = static_cast<std::size_t>(size.cols);
  std::size_t rows = static_cast<std::size_t>(std::max(size.rows, 3));
  std::string title = "nautilus top  " + url + "  " + local_clock(s.wall) + "  every " + interval_text(interval_s) +
                      "  sort " + sort + (keys ? "  q quits" : "");
  std::vector<std::string> lines;
  lines.push_back(color ? std::string(kBold) + clip(title, cols) + kReset : clip(title, cols));
  lines.emplace_back();
  for (auto& l : render_table(s, color, cols)) lines.push_back(std::move(l));
  if (lines.size() > rows) {
    std::size_t hidden = lines.size() - (rows - 1);
    lines.resize(rows - 1);
    lines.push_back(clip("  … " + std::to_string(hidden) + " more rows (a taller window shows them)", cols));
  }
  // Home, each line then clear-to-end-of-line, then clear below: the old frame
  // is overwritten in place, never blanked first, so nothing flickers.
  std::string f = "\033[H";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    f += lines[i];
    f += "\033[K";
    if (i + 1 < lines.size()) f += "\n";
  }
  f += "\033[J";
  return f;
}

void run_top(const GlobalOptions& g, const TopOptions& o) {
  constexpr double kMaxIntervalS = 86400;
  if (!std::isfinite(o.interval_s) || o.interval_s <= 0 || o.interval_s > kMaxIntervalS) {
    char got[32];
    std::snprintf(got, sizeof got, "%g", o.interval_s);
    throw CliError(kExitUsage, std::string("--interval: must be a number of seconds above 0 and at most 86400, got ") + got);
  }
  const SortKey key = parse_sort(o.sort);
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.interval_s));
  SignalFlags signals;

  with_daemon([&] {
    control::ControlClient client = connect_daemon(g);
    Sample prev = fetch(client);  // unreachable: exit 3 here, before any screen change

    if (o.once) {
      if (!wait_until(prev.mono + interval, signals, nullptr)) return;
      Sample cur = fetch(client);
      Snapshot s = make_snapshot(cur, &prev, key);
      // On a terminal the snapshot fits its width; in a file or pipe it is whole.
      auto size = terminal_size(STDOUT_FILENO);
      std::size_t width = size ? static_cast<std::size_t>(size->cols) : 0;
      std::string text = g.json ? snapshot_json(s, o.sort).dump() + "\n" : plain_snapshot(s, g.color(), width);
      write_all(STDOUT_FILENO, text);
      return;
    }

    if (g.json || !g.stdout_is_tty()) {
      // For logs and scripts: one snapshot per interval, each with its rates.
      for (Clock::time_point next = prev.mono + interval;; next += interval) {
        if (!wait_until(next, signals, nullptr)) return;
        Sample cur = fetch(client);
        Snapshot s = make_snapshot(cur, &prev, key);
        std::string text = g.json ? snapshot_json(s, o.sort).dump() + "\n" : plain_snapshot(s, g.color(), 0) + "\n";
        if (!write_all(STDOUT_FILENO, text)) return;  // the reader went away
        if (cur.mono > next + interval) next = cur.mono;  // fell behind (slow daemon): don't burst
        prev = std::move(cur);
      }
    }

    const bool color = g.color();
    FullScreen screen;
    Snapshot shown = make_snapshot(prev, nullptr, key);  // rates need a second poll: '-' until then
    auto draw = [&] { write_all(STDOUT_FILENO, frame(shown, client.url(), o.interval_s, o.sort, color, screen.keys())); };
    draw();
    for (Clock::time_point next = prev.mono + interval;; next += interval) {
      if (!wait_until(next, signals, &screen, draw)) return;
      Sample cur = fetch(client);
      shown = make_snapshot(cur, &prev, key);
      draw();
      if (cur.mono > next + interval) next = cur.mono;
      prev = std::move(cur);
    }
  });
}

}  // namespace

void add_top_command(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<TopOptions>();
  auto* top = app.add_subcommand("top", "Live table of msgs/s, latency, queues, drops and errors per bus, "
                                        "priority, topic family and engine");
  top->add_option("--interval", o->interval_s, "Seconds between polls (default 1; fractions allowed)");
  top->add_flag("--once", o->once, "Print one snapshot (two polls one interval apart) and exit");
  top->add_option("--sort", o->sort,
                  "Order within each group: rate|p50|p90|p99|p999|max|queue|drops|errors|name (default name)");
  top->callback([&g, o] { run_top(g, *o); });
}

}  // namespace nautilus::cli
