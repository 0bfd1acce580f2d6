// Shared by the e2e tests that run several real nautilusd on Redis
// (tests/e2e/cluster_*_test.cpp): a daemon config on given bus URLs, what
// `nautilus cluster status` lists, waiting for an engine to run, and orders
// published on the engine bus with the risk decisions they draw counted per
// order id (so "each order decided once", "at least once" and "duplicates"
// are all read off one map).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "bus/router.h"
#include "support/daemon_process.h"

namespace nautilus::test {

// A daemon on the given bus URLs hosting `engines` (TOML sections). Pending
// entries are reclaimed after `claim_idle_ms` idle: 1 s instead of 30 s by
// default, so a test waits briefly after a death or an outage. (A reclaim
// also takes entries from a live consumer still busy with its batch after
// that long: a duplicate, as at-least-once allows.)
inline std::string cluster_config(const std::string& marketdata_url, const std::string& engine_url,
                                  const std::string& engines = "[engines.risk]\n", int claim_idle_ms = 1000) {
  const auto tuned = [claim_idle_ms](const std::string& u) {
    return u + (u.find('?') == std::string::npos ? "?" : "&") + "claim_idle_ms=" + std::to_string(claim_idle_ms);
  };
  return "[bus]\nmarketdata = \"" + tuned(marketdata_url) + "\"\nengine = \"" + tuned(engine_url) + "\"\n\n" + engines;
}

// `nautilus --json cluster status` of `d`, an empty object when it failed.
inline nlohmann::json cluster_of(const DaemonProcess& d) {
  auto r = d.cli("--json cluster status");
  if (r.rc != 0) return nlohmann::json::object();
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

inline std::size_t daemons_listed(const DaemonProcess& d) {
  auto j = cluster_of(d);
  return j.contains("daemons") ? j["daemons"].size() : 0;
}

// Every engine of `d` by name, as `nautilus --json engine status` lists
// them (state, messages, errors, ...); empty when the daemon did not answer.
inline std::map<std::string, nlohmann::json> engines_of(const DaemonProcess& d) {
  auto r = d.cli("--json engine status");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  std::map<std::string, nlohmann::json> by_name;
  if (r.rc != 0 || !j.is_array()) return by_name;
  for (const auto& e : j) {
    if (e.is_object()) by_name[e.value("name", "")] = e;
  }
  return by_name;
}

// `messages` of engine `name` (everything its subscriptions handled), -1
// when it is not listed.
inline long long messages_of(const std::map<std::string, nlohmann::json>& engines, const std::string& name) {
  auto it = engines.find(name);
  return it == engines.end() ? -1 : it->second.value("messages", -1LL);
}

// True once every daemon in `ds` reports each engine of `names` RUNNING
// (its consumer groups exist, so nothing published after this is missed).
inline bool engine_running_everywhere(std::initializer_list<const DaemonProcess*> ds,
                                      std::initializer_list<std::string> names = {"risk"}) {
  for (const auto* d : ds) {
    const auto engines = engines_of(*d);
    for (const auto& name : names) {
      auto it = engines.find(name);
      if (it == engines.end() || it->second.value("state", "") != "RUNNING") return false;
    }
  }
  return true;
}

inline long long engine_messages(const DaemonProcess& d, const std::string& name) {
  return messages_of(engines_of(d), name);
}

// The `nautilus top` row of consumer group `group` as `d` sees it (bus,
// consumers, pending, lag, lost), null when `d` does not list it.
inline nlohmann::json consumer_group(const DaemonProcess& d, const std::string& group) {
  auto r = d.cli("--json top --once --interval 1");
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.rc != 0 || !j.is_object() || !j.contains("consumer_groups")) return nullptr;
  for (const auto& g : j["consumer_groups"]) {
    if (g.value("group", "") == group) return g;
  }
  return nullptr;
}

// A group with nothing pending, no lag and nothing trimmed before it read it.
inline bool caught_up(const nlohmann::json& g) {
  return g.is_object() && g.value("pending", -1) == 0 && g.value("lag", -1) == 0 && g.value("lost", -1) == 0;
}

// Order `i` of a flood: a unique id the risk engine echoes as `order_id` in
// its decision, on one of five symbols.
inline std::shared_ptr<Message> make_order(int i) {
  auto m = std::make_shared<Message>();
  const std::string symbol = "SYM" + std::to_string(i % 5);
  m->topic = "strategy.order." + symbol;
  m->type = MessageType::kOrder;
  m->priority = Priority::kHigh;
  m->payload = nlohmann::json{{"id", "o-" + std::to_string(i)}, {"symbol", symbol}, {"quantity", 1}, {"side", "buy"}}.dump();
  return m;
}

// The risk decisions seen on the engine bus, counted per order id, through
// a consumer group of the test's own (so it takes nothing from the engines').
class DecisionCounter {
 public:
  explicit DecisionCounter(Router& router, const std::string& group = "test-observer") {
    SubscribeOptions observer;
    observer.group = group;
    sub_ = router.subscribe(BusKind::kEngine, "risk.decision.*", [this](const MessagePtr& m) {
      auto j = nlohmann::json::parse(m->payload, nullptr, false);
      if (!j.is_object()) return;
      std::lock_guard lock(mu_);
      ++decided_[j.value("order_id", std::string())];
    }, observer);
  }
  ~DecisionCounter() { sub_->cancel(); }
  DecisionCounter(const DecisionCounter&) = delete;
  DecisionCounter& operator=(const DecisionCounter&) = delete;

  std::size_t distinct() const {
    std::lock_guard lock(mu_);
    return decided_.size();
  }
  std::size_t total() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [id, seen] : decided_) n += static_cast<std::size_t>(seen);
    return n;
  }
  // Orders o-0 .. o-(n-1) never decided (for a failure message).
  std::size_t missing(int n) const {
    std::lock_guard lock(mu_);
    std::size_t gone = 0;
    for (int i = 0; i < n; ++i) gone += decided_.count("o-" + std::to_string(i)) ? 0 : 1;
    return gone;
  }
  // Waits until `n` distinct orders were decided; false when it never came.
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) const {
    return eventually([&] { return distinct() >= n; }, limit);
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> decided_;  // order id -> decisions seen
  SubscriptionPtr sub_;
};

}  // namespace nautilus::test
