// A real redis-server for the Redis backend tests: started on a free loopback
// port in its own temporary directory (AOF on, fsync always, so a SIGKILL loses
// nothing that was acknowledged), killed and restarted on demand, stopped at
// the end. A missing redis-server fails the test loudly.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nautilus::testing {

// Polls `pred` until it holds or `timeout` passes; the caller REQUIREs the
// result, so a slow machine only makes a test slower, never wrong.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

inline std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  for (const char* d : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/"}) {
    std::string p = std::string(d) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error(name + " not found: the Redis tests need a real server (scripts/install-deps.sh installs redis-server and redis-tools)");
}

inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {}) : extra_(std::move(extra_args)) {
    binary_ = find_program("redis-server");
    char tmpl[] = "/tmp/nautilus-redis-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // Another process may grab the port between our probe and the server's
    // bind: then the server exits and we try a fresh port.
    for (int attempt = 0;; ++attempt) {
      port_ = free_loopback_port();
      if (launch()) return;
      if (attempt == 4) throw std::runtime_error("redis-server did not start; log:\n" + log_tail());
    }
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  std::string url(const std::string& query = "") const {
    return "redis://127.0.0.1:" + std::to_string(port_) + (query.empty() ? "" : "?" + query);
  }

  void kill() { signal_and_reap(SIGKILL); }
  void stop() { signal_and_reap(SIGTERM); }
  // Same port, same directory: the AOF brings the data back. With
  // `until_loaded` false it returns once the server answers at all, LOADING
  // included (to test clients against a server still reading its data).
  void start(bool until_loaded = true) {
    if (running()) return;
    if (!launch(until_loaded)) throw std::runtime_error("redis-server did not restart; log:\n" + log_tail());
  }

  // A command on a fresh connection (inspection from the test's side).
  Reply command(const std::vector<std::string>& args, int db = 0) const {
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      throw std::runtime_error("cannot connect to the test redis-server");
    }
    if (db != 0) freeReplyObject(redisCommand(c, "SELECT %d", db));
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    redisFree(c);
    if (!r) throw std::runtime_error("test redis command failed");
    return Reply(r);
  }
  long long integer(const std::vector<std::string>& args, int db = 0) const {
    Reply r = command(args, db);
    return r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  }

  // Runs redis-cli against this server; returns its stdout.
  std::string cli(const std::string& args) const {
    std::string cmd = find_program("redis-cli") + " -p " + std::to_string(port_) + " " + args + " 2>&1";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) throw std::runtime_error("popen redis-cli failed");
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    ::pclose(f);
    return out;
  }

 private:
  bool launch(bool until_loaded = true) {
    std::vector<std::string> args = {binary_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                     "--dir", dir_, "--logfile", dir_ + "/redis.log", "--daemonize", "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // fork+exec rather than posix_spawn: the child asks to be killed when the
    // test dies, so a crashed test leaves no server behind; and its output
    // goes to /dev/null, not into the test's pipes.
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      ::execv(binary_.c_str(), argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return false;
      }
      timeval tv{0, 200'000};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
      if (c && !c->err) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
        // LOADING means the AOF is still being read: not ready yet.
        bool ready = r && (!until_loaded || !(r->type == REDIS_REPLY_ERROR && std::string(r->str).starts_with("LOADING")));
        if (r) freeReplyObject(r);
        redisFree(c);
        if (ready) return true;
      } else if (c) {
        redisFree(c);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    signal_and_reap(SIGKILL);
    return false;
  }

  void signal_and_reap(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  std::string log_tail() const {
    std::ifstream in(dir_ + "/redis.log");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

  std::string binary_;
  std::string dir_;
  std::vector<std::string> extra_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace nautilus::testing
