// The redis:// and redis+cluster:// URLs and their query parameters
// (RedisConfig), and the reconnect backoff they configure. The parameters are
// listed in docs/redis-layout.md.
#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

#include "bus/redis_bus.h"

namespace nautilus {

namespace {

std::string percent_decode(std::string_view s, std::string_view url) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
      throw std::invalid_argument("bad percent escape in redis URL '" + std::string(url) + "'");
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

template <typename T>
T parse_number(std::string_view text, std::string_view what, std::string_view url, T lo, T hi) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    throw std::invalid_argument("bad " + std::string(what) + " '" + std::string(text) + "' in redis URL '" +
                                std::string(url) + "'");
  }
  return v;
}

void apply_param(RedisConfig& c, std::string_view key, std::string_view value, std::string_view url) {
  auto i = [&](int lo, int hi) { return parse_number<int>(value, key, url, lo, hi); };
  auto u = [&](std::uint64_t lo, std::uint64_t hi) { return parse_number<std::uint64_t>(value, key, url, lo, hi); };
  if (key == "prefix") {
    if (value.empty() || value.find_first_of("{}: ") != std::string_view::npos) {
      throw std::invalid_argument("bad prefix '" + std::string(value) + "' in redis URL");
    }
    c.prefix = std::string(value);
  } else if (key == "shards") c.shards = i(1, 1024);
  else if (key == "maxlen") c.maxlen = u(1, UINT64_MAX);
  else if (key == "dead_maxlen") c.dead_maxlen = u(1, UINT64_MAX);
  else if (key == "batch") c.max_batch = u(1, 100'000);
  else if (key == "buffer_ms") c.buffer_interval_ms = i(0, 10'000);
  else if (key == "buffer") c.buffer_limit = u(1, 100'000'000);
  else if (key == "group") {
    if (value.empty()) throw std::invalid_argument("empty group in redis URL");
    c.group = std::string(value);
  } else if (key == "count") c.read_count = u(1, 100'000);
  else if (key == "block_ms") c.block_ms = i(1, 60'000);
  else if (key == "claim_idle_ms") c.claim_idle_ms = i(1, 86'400'000);
  else if (key == "max_deliveries") c.max_deliveries = i(1, 1'000'000);
  else if (key == "attempts") c.attempts = i(1, 1'000'000);
  else if (key == "backoff_ms") c.backoff_ms = i(1, 3'600'000);
  else if (key == "backoff_max_ms") c.backoff_max_ms = i(1, 3'600'000);
  else if (key == "connect_timeout_ms") c.connect_timeout_ms = i(1, 600'000);
  else if (key == "discover_ms") c.discover_ms = i(1, 3'600'000);
  else if (key == "max_age_ms") c.max_age_ms = parse_number<std::int64_t>(value, key, url, 1, 366LL * 86'400'000);
  else if (key == "monitor_ms") c.monitor_ms = i(10, 3'600'000);
  else if (key == "wait_replicas") c.wait_replicas = i(0, 100);
  else if (key == "high_reader") c.high_reader = i(0, 1) == 1;
  else if (key == "wait_timeout_ms") c.wait_timeout_ms = i(1, 600'000);
  else throw std::invalid_argument("unknown parameter '" + std::string(key) + "' in redis URL '" + std::string(url) + "'");
}

// host, host:port or [v6]:port; the port stays as given when absent.
void parse_host_port(std::string_view rest, std::string_view url, std::string& host, int& port) {
  std::string_view port_text;
  if (rest.starts_with('[')) {  // [::1]:6379
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("bad IPv6 host in redis URL '" + std::string(url) + "'");
    host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (rest.starts_with(':')) port_text = rest.substr(1);
    else if (!rest.empty()) throw std::invalid_argument("bad host in redis URL '" + std::string(url) + "'");
  } else {
    auto colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (host.empty()) throw std::invalid_argument("missing host in redis URL '" + std::string(url) + "'");
  if (host.find_first_of(" /@,") != std::string::npos) {
    throw std::invalid_argument("bad host in redis URL '" + std::string(url) + "'");
  }
  if (!port_text.empty() || rest.ends_with(':')) port = parse_number<int>(port_text, "port", url, 1, 65535);
}

}  // namespace

RedisConfig parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kClusterScheme = "redis+cluster://";
  RedisConfig c;
  std::string_view rest;
  if (url.starts_with(kScheme)) {
    rest = url.substr(kScheme.size());
  } else if (url.starts_with(kClusterScheme)) {
    c.cluster = true;
    rest = url.substr(kClusterScheme.size());
  } else {
    throw std::invalid_argument("redis URL '" + std::string(url) + "' must start with redis:// or redis+cluster://");
  }
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument("redis URL credentials must be user:password@ or :password@ in '" +
                                  std::string(url) + "'");
    }
    c.user = percent_decode(cred.substr(0, colon), url);
    c.password = percent_decode(cred.substr(colon + 1), url);
    if (c.password.empty()) throw std::invalid_argument("empty password in redis URL '" + std::string(url) + "'");
  }
  while (true) {
    auto comma = c.cluster ? rest.find(',') : std::string_view::npos;
    std::pair<std::string, int> node{std::string(), 6379};
    parse_host_port(rest.substr(0, comma), url, node.first, node.second);
    c.seeds.push_back(std::move(node));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  c.host = c.seeds.front().first;
  c.port = c.seeds.front().second;
  if (!path.empty()) {
    if (c.cluster) throw std::invalid_argument("a Redis Cluster has no /db (only db 0) in redis URL '" + std::string(url) + "'");
    c.db = parse_number<int>(path, "db", url, 0, 1 << 20);
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) {
      throw std::invalid_argument("parameter '" + std::string(kv) + "' needs a value in redis URL '" + std::string(url) + "'");
    }
    apply_param(c, kv.substr(0, eq), percent_decode(kv.substr(eq + 1), url), url);
  }
  if (c.backoff_max_ms < c.backoff_ms) c.backoff_max_ms = c.backoff_ms;
  return c;
}

int reconnect_delay_ms(const RedisConfig& config, int attempt) {
  std::int64_t d = config.backoff_ms;
  for (int i = 1; i < attempt && d < config.backoff_max_ms; ++i) d *= 2;
  return static_cast<int>(std::min<std::int64_t>(d, config.backoff_max_ms));
}

}  // namespace nautilus
