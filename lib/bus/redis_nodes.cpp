#include "bus/redis_nodes.h"

#include <charconv>
#include <chrono>
#include <thread>

#include "core/clock.h"

namespace nautilus::redis {

namespace {

constexpr std::int64_t kRefreshEveryNs = 100'000'000;
constexpr std::int64_t kRecheckBrokenNs = 1'000'000'000;
constexpr int kMaxRedirects = 5;

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    t[static_cast<std::size_t>(i)] = crc;
  }
  return t;
}
constexpr std::array<std::uint16_t, 256> kCrc16 = make_crc16_table();

std::uint16_t crc16(std::string_view s) {
  std::uint16_t crc = 0;
  for (char c : s) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  }
  return crc;
}

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kClusterSlots - 1);
}

std::optional<Redirect> parse_redirect(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ERROR) return std::nullopt;
  std::string_view s = as_view(r);
  Redirect out;
  if (s.starts_with("MOVED ")) out.moved = true;
  else if (!s.starts_with("ASK ")) return std::nullopt;
  s.remove_prefix(out.moved ? 6 : 4);
  auto space = s.find(' ');
  if (space == std::string_view::npos || !parse_int(s.substr(0, space), out.slot)) return std::nullopt;
  std::string_view addr = s.substr(space + 1);
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos || !parse_int(addr.substr(colon + 1), out.port)) return std::nullopt;
  out.host = std::string(addr.substr(0, colon));
  if (out.slot < 0 || out.slot >= kClusterSlots || out.port <= 0 || out.port > 65535) return std::nullopt;
  return out;
}

NodeSet::NodeSet(const RedisConfig& config, std::string client_name)
    : config_(config), client_name_(std::move(client_name)) {
  slots_.fill(-1);
  if (!config_.cluster) {
    index_of(config_.host, config_.port);
    return;
  }
  for (const auto& [host, port] : config_.seeds) index_of(host, port);
}

std::size_t NodeSet::index_of(const std::string& host, int port) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->conn->port() == port && nodes_[i]->conn->host() == host) return i;
  }
  auto n = std::make_unique<Node>();
  n->conn = std::make_unique<Connection>(config_, client_name_, host, port);
  std::lock_guard lock(nodes_mu_);
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

Connection* NodeSet::connected(Node& n) {
  if (n.conn->connected()) return n.conn.get();
  // Paced like Connection::reconnect, without sleeping: the other nodes'
  // traffic goes on meanwhile.
  const std::int64_t now = monotonic_now_ns();
  if (now < n.next_attempt_ns) return nullptr;
  if (n.conn->connect_now()) return n.conn.get();
  n.next_attempt_ns = now + std::int64_t{reconnect_delay_ms(config_, n.conn->failures())} * 1'000'000;
  return nullptr;
}

bool NodeSet::ensure(const std::atomic<bool>& stop) {
  if (!config_.cluster) return nodes_.front()->conn->reconnect(stop);
  if (map_loaded_ && !stale_) return true;
  const std::int64_t wait = last_refresh_ns_ + kRefreshEveryNs - monotonic_now_ns();
  if (wait > 0) {
    auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait);
    while (!stop.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (stop.load(std::memory_order_acquire)) return false;
  }
  last_refresh_ns_ = monotonic_now_ns();
  return refresh();
}

bool NodeSet::refresh() {
  // Nodes already connected first: a dead one costs a connect attempt.
  std::vector<Node*> order;
  for (auto& n : nodes_) {
    if (n->conn->connected()) order.push_back(n.get());
  }
  for (auto& n : nodes_) {
    if (!n->conn->connected()) order.push_back(n.get());
  }
  for (Node* asked : order) {
    Connection* c = connected(*asked);
    if (!c) continue;
    ReplyPtr r = c->command({"CLUSTER", "SLOTS"});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      if (r) set_map_error("CLUSTER SLOTS on " + c->host() + ":" + std::to_string(c->port()) + ": " + std::string(as_view(r.get())));
      continue;
    }
    std::array<std::int16_t, kClusterSlots> slots;
    slots.fill(-1);
    std::vector<bool> in_map;
    const std::string asked_host = c->host();
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply* range = r->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
      const redisReply* master = range->element[2];
      if (range->element[0]->type != REDIS_REPLY_INTEGER || range->element[1]->type != REDIS_REPLY_INTEGER ||
          master->type != REDIS_REPLY_ARRAY || master->elements < 2 || master->element[1]->type != REDIS_REPLY_INTEGER) {
        continue;
      }
      std::string host(as_view(master->element[0]));
      if (host.empty() || host == "?") host = asked_host;  // "the address you reached me at"
      const int port = static_cast<int>(master->element[1]->integer);
      const std::size_t index = index_of(host, port);
      if (in_map.size() < nodes_.size()) in_map.resize(nodes_.size(), false);
      in_map[index] = true;
      const long long lo = std::max<long long>(range->element[0]->integer, 0);
      const long long hi = std::min<long long>(range->element[1]->integer, kClusterSlots - 1);
      for (long long s = lo; s <= hi; ++s) slots[static_cast<std::size_t>(s)] = static_cast<std::int16_t>(index);
    }
    in_map.resize(nodes_.size(), false);
    slots_ = slots;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i]->in_map.store(in_map[i], std::memory_order_release);
      // A node that left the map (a dead master, replaced by its replica) is
      // not kept connected.
      if (!in_map[i] && nodes_[i]->conn->connected()) nodes_[i]->conn->close();
    }
    map_loaded_ = true;
    stale_ = false;
    set_map_error({});
    return true;
  }
  set_map_error("no node of the cluster answered CLUSTER SLOTS");
  return false;
}

bool NodeSet::ready() {
  if (!config_.cluster) return nodes_.front()->conn->connected();
  if (!map_loaded_ || stale_) return false;
  if (monotonic_now_ns() - last_refresh_ns_ >= kRecheckBrokenNs) {
    for (const auto& n : nodes_) {
      if (n->in_map.load(std::memory_order_relaxed) && !n->conn->connected() &&
          n->conn->state() != ConnState::kDisconnected) {
        stale_ = true;
        return false;
      }
    }
  }
  return true;
}

void NodeSet::mark_stale() { stale_ = true; }

Connection* NodeSet::for_key(std::string_view key) {
  if (!config_.cluster) {
    Connection* c = nodes_.front()->conn.get();
    return c->connected() ? c : nullptr;
  }
  if (!map_loaded_) {
    stale_ = true;
    return nullptr;
  }
  const int index = slots_[static_cast<std::size_t>(key_slot(key))];
  if (index < 0) {
    stale_ = true;
    return nullptr;
  }
  Connection* c = connected(*nodes_[static_cast<std::size_t>(index)]);
  if (!c) stale_ = true;
  return c;
}

Connection* NodeSet::any() {
  if (!config_.cluster) return for_key({});
  for (auto& n : nodes_) {
    if (n->in_map.load(std::memory_order_relaxed) && n->conn->connected()) return n->conn.get();
  }
  for (auto& n : nodes_) {
    if (n->in_map.load(std::memory_order_relaxed)) {
      if (Connection* c = connected(*n)) return c;
    }
  }
  stale_ = true;
  return nullptr;
}

std::vector<Connection*> NodeSet::masters() {
  std::vector<Connection*> out;
  if (!config_.cluster) {
    if (Connection* c = for_key({})) out.push_back(c);
    return out;
  }
  for (auto& n : nodes_) {
    if (!n->in_map.load(std::memory_order_relaxed)) continue;
    if (Connection* c = connected(*n)) out.push_back(c);
    else stale_ = true;
  }
  return out;
}

bool NodeSet::is_redirect(const redisReply* r) {
  auto redirect = parse_redirect(r);
  if (!redirect) return false;
  if (redirect->moved) stale_ = true;
  return true;
}

ReplyPtr NodeSet::command(std::string_view key, const std::vector<std::string_view>& args) {
  Connection* c = for_key(key);
  for (int hop = 0; c && hop < kMaxRedirects; ++hop) {
    ReplyPtr r = c->command(args);
    if (!r) {
      if (config_.cluster) stale_ = true;
      return nullptr;
    }
    auto redirect = config_.cluster ? parse_redirect(r.get()) : std::nullopt;
    if (!redirect) return r;
    c = connected(*nodes_[index_of(redirect->host, redirect->port)]);
    if (!c) break;
    if (redirect->moved) {
      stale_ = true;  // this call follows it; the next ensure() re-reads the map
    } else {
      c->append({"ASKING"});
      c->append(args);
      ReplyPtr asking = c->get_reply();
      if (!asking) return nullptr;
      ReplyPtr answer = c->get_reply();
      if (!answer || !parse_redirect(answer.get())) return answer;
    }
  }
  stale_ = true;
  return nullptr;
}

ReplyPtr NodeSet::ask(const Redirect& to, std::string_view formatted_command) {
  Connection* c = connected(*nodes_[index_of(to.host, to.port)]);
  if (!c) return nullptr;
  c->append({"ASKING"});
  c->append_formatted(formatted_command);
  ReplyPtr asking = c->get_reply();
  if (!asking) return nullptr;
  return c->get_reply();
}

ConnState NodeSet::state() const {
  // One server: one node, fixed at construction; no lock (publish() asks on
  // every message).
  if (!config_.cluster) return nodes_.front()->conn->state();
  std::lock_guard lock(nodes_mu_);
  ConnState worst = ConnState::kConnected;
  bool any = false;
  for (const auto& n : nodes_) {
    if (!n->in_map.load(std::memory_order_acquire)) continue;
    any = true;
    ConnState s = n->conn->state();
    if (s == ConnState::kDisconnected) continue;  // in the map, not needed by this thread yet
    if (severity(s) > severity(worst)) worst = s;
  }
  if (!any) {
    // No map yet: how the seeds are doing.
    worst = ConnState::kConnecting;
    for (const auto& n : nodes_) {
      if (n->conn->state() == ConnState::kError) worst = ConnState::kError;
    }
  }
  return worst;
}

void NodeSet::set_map_error(std::string text) {
  std::lock_guard lock(nodes_mu_);
  map_error_ = std::move(text);
}

std::string NodeSet::last_error() const {
  std::lock_guard lock(nodes_mu_);
  if (!map_error_.empty()) return map_error_;
  for (const auto& n : nodes_) {
    std::string e = n->conn->last_error();
    if (!e.empty() && n->conn->state() != ConnState::kConnected) return e;
  }
  for (const auto& n : nodes_) {
    std::string e = n->conn->last_error();
    if (!e.empty()) return e;
  }
  return {};
}

void NodeSet::close() {
  for (auto& n : nodes_) n->conn->close();
}

}  // namespace nautilus::redis
