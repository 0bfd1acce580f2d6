// One hiredis connection owned by one thread, with the connection state machine
// of SPEC section 4 (DISCONNECTED -> CONNECTING -> CONNECTED -> RECONNECTING ->
// ERROR) and exponential backoff between attempts. Private to lib/bus.
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bus/redis_bus.h"

namespace nautilus::redis {

enum class ConnState : unsigned char { kDisconnected, kConnecting, kConnected, kReconnecting, kError };
std::string_view to_string(ConnState s);
// How bad a state is, for reporting the worst of several connections.
int severity(ConnState s);

class ReplyArena;

// A Connection's replies live in its ReplyArena (no malloc per reply element);
// a reply from elsewhere (arena == nullptr) is hiredis's own.
struct ReplyDeleter {
  ReplyArena* arena = nullptr;
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

bool is_error(const redisReply* r, std::string_view prefix = {});
std::string_view as_view(const redisReply* r);
// Errors that say "not now" rather than "never" (LOADING, BUSY, TRYAGAIN,
// MASTERDOWN, CLUSTERDOWN): the command is retried.
bool is_transient(const redisReply* r);

class Connection {
 public:
  Connection(const RedisConfig& config, std::string client_name);
  // To one node of a cluster rather than config.host:port.
  Connection(const RedisConfig& config, std::string client_name, std::string host, int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ConnState state() const { return state_.load(std::memory_order_acquire); }
  bool connected() const { return ctx_ != nullptr; }
  std::string last_error() const;  // any thread

  // One connection attempt, preceded by the backoff delay the previous failures
  // call for (sleeping in small steps, returning early once `stop` is set).
  // After `attempts` consecutive failures the state is ERROR; attempts go on at
  // the maximum delay and a success returns to CONNECTED.
  bool reconnect(const std::atomic<bool>& stop);
  // One attempt now, without the backoff delay (a cluster node found in the
  // slot map; the caller paces its attempts).
  bool connect_now();
  int failures() const { return failures_; }  // consecutive failed attempts
  const std::string& host() const { return host_; }
  int port() const { return port_; }

  // nullptr when the connection broke (it is then closed and must reconnect).
  ReplyPtr command(const std::vector<std::string_view>& args);
  void append(const std::vector<std::string_view>& args);
  void append_formatted(std::string_view resp);
  ReplyPtr get_reply();

  void drop(ConnState next);  // closes the socket, e.g. after a broken reply
  void close();               // final: DISCONNECTED

 private:
  bool connect_once();

  const RedisConfig& config_;
  std::string client_name_;
  std::string host_;
  int port_;
  std::unique_ptr<ReplyArena> arena_;
  redisContext* ctx_ = nullptr;
  std::atomic<ConnState> state_{ConnState::kDisconnected};
  bool ever_connected_ = false;
  int failures_ = 0;
  void set_error(std::string text);

  mutable std::mutex error_mu_;
  std::string last_error_;
};

// Appends one RESP bulk-string array element; used to pre-format commands off
// the writer thread.
void resp_header(std::string& out, std::size_t argc);
void resp_arg(std::string& out, std::string_view arg);
void resp_arg(std::string& out, std::int64_t value);

}  // namespace nautilus::redis

namespace nautilus::redis {
// stderr, at most once per 5 s per `kind` (the bus layer has no logger of its
// own; bad input must be visible without flooding).
void log_limited(std::string_view kind, const std::string& text);
}  // namespace nautilus::redis
