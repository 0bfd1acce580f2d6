#include "bus/redis_connection.h"

#include <sys/time.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "bus/redis_reply_arena.h"
#include "core/clock.h"

namespace nautilus::redis {

std::string_view to_string(ConnState s) {
  switch (s) {
    case ConnState::kDisconnected: return "DISCONNECTED";
    case ConnState::kConnecting: return "CONNECTING";
    case ConnState::kConnected: return "CONNECTED";
    case ConnState::kReconnecting: return "RECONNECTING";
    case ConnState::kError: return "ERROR";
  }
  return "UNKNOWN";
}

int severity(ConnState s) {
  switch (s) {
    case ConnState::kConnected: return 0;
    case ConnState::kDisconnected: return 1;
    case ConnState::kConnecting: return 2;
    case ConnState::kReconnecting: return 3;
    case ConnState::kError: return 4;
  }
  return 4;
}

bool is_error(const redisReply* r, std::string_view prefix) {
  if (!r || r->type != REDIS_REPLY_ERROR) return false;
  return prefix.empty() || as_view(r).starts_with(prefix);
}

std::string_view as_view(const redisReply* r) {
  if (!r || !r->str) return {};
  return {r->str, r->len};
}

bool is_transient(const redisReply* r) {
  for (std::string_view p : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"}) {
    if (is_error(r, p)) return true;
  }
  return false;
}

void log_limited(std::string_view kind, const std::string& text) {
  static std::mutex mu;
  static std::map<std::string, std::int64_t, std::less<>> last;
  std::int64_t now = monotonic_now_ns();
  {
    std::lock_guard lock(mu);
    auto it = last.find(kind);
    if (it != last.end() && now - it->second < 5'000'000'000) return;
    last[std::string(kind)] = now;
  }
  std::fprintf(stderr, "nautilus redis: %s\n", text.c_str());
}

void ReplyDeleter::operator()(redisReply* r) const {
  if (arena) {
    arena->release();
  } else {
    freeReplyObject(r);
  }
}

Connection::Connection(const RedisConfig& config, std::string client_name)
    : Connection(config, std::move(client_name), config.host, config.port) {}

Connection::Connection(const RedisConfig& config, std::string client_name, std::string host, int port)
    : config_(config),
      client_name_(std::move(client_name)),
      host_(std::move(host)),
      port_(port),
      arena_(std::make_unique<ReplyArena>()) {}

Connection::~Connection() { close(); }

namespace {
timeval to_timeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}
}  // namespace

bool Connection::connect_once() {
  redisContext* c = redisConnectWithTimeout(host_.c_str(), port_,
                                            to_timeval(config_.connect_timeout_ms));
  auto fail = [&](std::string why) {
    set_error(std::move(why));
    if (c) redisFree(c);
    return false;
  };
  if (!c) return fail("out of memory");
  if (c->err) return fail(std::string("connect ") + host_ + ":" + std::to_string(port_) + ": " + c->errstr);
  // Reads may block for block_ms inside XREADGROUP; anything much longer than
  // that means the server is gone without a FIN.
  redisSetTimeout(c, to_timeval(std::max(config_.block_ms, 0) + 5000));
  redisEnableKeepAlive(c);
  ReplyArena::install(c);
  ctx_ = c;  // from here on the context belongs to ctx_ (command() frees it when it breaks)
  auto run = [&](const std::vector<std::string_view>& args, std::string_view what) -> bool {
    ReplyPtr r = command(args);
    if (!r) {
      set_error(std::string(what) + ": connection lost");
      return false;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      set_error(std::string(what) + ": " + std::string(as_view(r.get())));
      redisFree(ctx_);
      ctx_ = nullptr;
      return false;
    }
    return true;
  };
  if (!config_.password.empty()) {
    bool ok = config_.user.empty() ? run({"AUTH", config_.password}, "AUTH")
                                   : run({"AUTH", config_.user, config_.password}, "AUTH");
    if (!ok) return false;
  }
  if (config_.db != 0) {
    std::string db = std::to_string(config_.db);
    if (!run({"SELECT", db}, "SELECT")) return false;
  }
  // CLIENT LIST then names the process and role. An error reply is harmless.
  if (!command({"CLIENT", "SETNAME", client_name_})) {
    set_error("CLIENT SETNAME: connection lost");
    return false;
  }
  return true;
}

bool Connection::reconnect(const std::atomic<bool>& stop) {
  if (ctx_) return true;
  if (failures_ > 0) {
    int delay = failures_ >= config_.attempts ? config_.backoff_max_ms : reconnect_delay_ms(config_, failures_);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
    while (!stop.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(delay, 10)));
    }
    if (stop.load(std::memory_order_acquire)) return false;
  }
  return connect_now();
}

bool Connection::connect_now() {
  if (ctx_) return true;
  if (state() != ConnState::kError) {
    state_.store(ever_connected_ ? ConnState::kReconnecting : ConnState::kConnecting, std::memory_order_release);
  }
  if (connect_once()) {
    failures_ = 0;
    ever_connected_ = true;
    state_.store(ConnState::kConnected, std::memory_order_release);
    return true;
  }
  ++failures_;
  if (failures_ >= config_.attempts) {
    if (state() != ConnState::kError) {
      log_limited("error:" + client_name_, client_name_ + ": giving up after " + std::to_string(failures_) +
                                               " attempts (" + last_error() + "); state ERROR");
    }
    state_.store(ConnState::kError, std::memory_order_release);
  }
  return false;
}

ReplyPtr Connection::command(const std::vector<std::string_view>& args) {
  append(args);
  return get_reply();
}

void Connection::append(const std::vector<std::string_view>& args) {
  if (!ctx_) return;
  // Small fixed arrays cover every command we send; argv stays on the stack.
  constexpr std::size_t kMax = 64;
  const char* argv[kMax];
  std::size_t lens[kMax];
  std::vector<const char*> big_argv;
  std::vector<std::size_t> big_lens;
  const char** av = argv;
  std::size_t* al = lens;
  if (args.size() > kMax) {
    big_argv.resize(args.size());
    big_lens.resize(args.size());
    av = big_argv.data();
    al = big_lens.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    av[i] = args[i].data();
    al[i] = args[i].size();
  }
  redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), av, al);
}

void Connection::append_formatted(std::string_view resp) {
  if (!ctx_) return;
  redisAppendFormattedCommand(ctx_, resp.data(), resp.size());
}

ReplyPtr Connection::get_reply() {
  if (!ctx_) return nullptr;
  void* reply = nullptr;
  int rc;
  {
    ReplyArena::Scope scope(*arena_);
    rc = redisGetReply(ctx_, &reply);
  }
  if (rc != REDIS_OK || !reply) {
    set_error(ctx_->errstr[0] ? ctx_->errstr : "connection lost");
    drop(ever_connected_ ? ConnState::kReconnecting : ConnState::kConnecting);
    return nullptr;  // a partial reply stays in the arena until it next resets
  }
  arena_->hold();
  return ReplyPtr(static_cast<redisReply*>(reply), ReplyDeleter{arena_.get()});
}

std::string Connection::last_error() const {
  std::lock_guard lock(error_mu_);
  return last_error_;
}

void Connection::set_error(std::string text) {
  std::lock_guard lock(error_mu_);
  last_error_ = std::move(text);
}

void Connection::drop(ConnState next) {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  if (state() != ConnState::kError || next == ConnState::kDisconnected) {
    state_.store(next, std::memory_order_release);
  }
}

void Connection::close() { drop(ConnState::kDisconnected); }

void resp_header(std::string& out, std::size_t argc) {
  char buf[24];
  buf[0] = '*';
  char* p = std::to_chars(buf + 1, buf + sizeof buf, argc).ptr;
  out.append(buf, p);
  out += "\r\n";
}

void resp_arg(std::string& out, std::string_view arg) {
  char buf[24];
  buf[0] = '$';
  char* p = std::to_chars(buf + 1, buf + sizeof buf, arg.size()).ptr;
  out.append(buf, p);
  out += "\r\n";
  out.append(arg);
  out += "\r\n";
}

void resp_arg(std::string& out, std::int64_t value) {
  char buf[24];
  char* p = std::to_chars(buf, buf + sizeof buf, value).ptr;
  resp_arg(out, std::string_view(buf, static_cast<std::size_t>(p - buf)));
}

}  // namespace nautilus::redis
