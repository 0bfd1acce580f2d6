#include "bus/redis_presence.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "bus/redis_connection.h"
#include "bus/redis_nodes.h"

namespace nautilus {

namespace {

std::string presence_prefix(const RedisConfig& config) { return config.prefix + ":daemons:"; }

}  // namespace

std::string default_instance_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "host") + "-" + std::to_string(getpid());
}

DaemonPresence::DaemonPresence(RedisConfig config, std::string instance, std::chrono::milliseconds ttl,
                               std::function<std::string()> describe)
    : config_(std::move(config)), instance_(std::move(instance)), ttl_(ttl), describe_(std::move(describe)) {
  if (instance_.empty() || instance_.find_first_of("{}* ") != std::string::npos) {
    throw std::invalid_argument("daemon instance id '" + instance_ + "' must be non-empty without {}* or spaces");
  }
  if (ttl_ < std::chrono::milliseconds(300)) throw std::invalid_argument("presence ttl must be at least 300 ms");
}

DaemonPresence::~DaemonPresence() { stop(); }

std::string DaemonPresence::key() const { return presence_prefix(config_) + instance_; }

void DaemonPresence::start() {
  thread_ = std::thread([this] { run(); });
}

void DaemonPresence::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_.exchange(true)) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DaemonPresence::run() {
  pthread_setname_np(pthread_self(), "presence");
  redis::NodeSet nodes(config_, "nautilus:presence:" + instance_);
  const std::string k = key();
  const std::string ttl_ms = std::to_string(ttl_.count());
  const auto every = ttl_ / 3;
  while (!stop_.load()) {
    if (nodes.ready() || nodes.ensure(stop_)) {
      const std::string text = describe_();
      redis::ReplyPtr r = nodes.command(k, {"SET", k, text, "PX", ttl_ms});
      if (r && r->type == REDIS_REPLY_ERROR) {
        redis::log_limited("presence", "SET " + k + ": " + std::string(redis::as_view(r.get())));
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, every, [this] { return stop_.load(); });
  }
  // A clean exit leaves at once; a killed daemon's key expires after ttl.
  if (nodes.ready()) nodes.command(k, {"DEL", k});
  nodes.close();
}

std::vector<std::string> DaemonPresence::list(const RedisConfig& config) {
  redis::NodeSet nodes(config, "nautilus:presence:list");
  std::atomic<bool> no_stop{false};
  if (!nodes.ensure(no_stop)) {
    throw std::runtime_error("redis at " + config.host + ":" + std::to_string(config.port) +
                             " unreachable: " + nodes.last_error());
  }
  // On a cluster the keys spread over the masters: each is scanned.
  std::vector<std::string> keys;
  const std::string match = presence_prefix(config) + "*";
  for (redis::Connection* conn : nodes.masters()) {
    std::string cursor = "0";
    do {
      redis::ReplyPtr r = conn->command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        throw std::runtime_error("redis SCAN failed: " + (r ? std::string(redis::as_view(r.get())) : conn->last_error()));
      }
      cursor = std::string(redis::as_view(r->element[0]));
      const redisReply* batch = r->element[1];
      for (std::size_t i = 0; batch->type == REDIS_REPLY_ARRAY && i < batch->elements; ++i) {
        keys.emplace_back(redis::as_view(batch->element[i]));
      }
    } while (cursor != "0");
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::string> out;
  for (const auto& k : keys) {
    redis::ReplyPtr r = nodes.command(k, {"GET", k});
    if (!r) throw std::runtime_error("redis GET failed: " + nodes.last_error());
    if (r->type == REDIS_REPLY_STRING) out.emplace_back(redis::as_view(r.get()));  // nil: expired meanwhile
  }
  nodes.close();
  return out;
}

}  // namespace nautilus
