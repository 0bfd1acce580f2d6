// What the CLI e2e tests share: run the real binaries as a shell script would
// (a command line in the background, its stdout and stderr in files), and a
// real nautilusd on port 0 with its own state directory, which the CLI finds
// through NAUTILUS_STATE_DIR alone.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace nautilus::e2e {

inline const std::string kBin = NAUTILUS_BINARY_DIR;
inline const std::string kSource = NAUTILUS_SOURCE_DIR;
inline const std::string kDaemon = kBin + "/apps/nautilusd/nautilusd";
inline const std::string kTestDaemon = kBin + "/tests/nautilusd_e2e";
inline const std::string kCli = kBin + "/apps/nautilus-cli/nautilus";

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string temp_dir() {
  char tmpl[] = "/tmp/nautilus-cli-e2e-XXXXXX";
  return mkdtemp(tmpl);
}

// A shell command in the background; wait() gives its exit code (128+N for
// a signal).
struct Proc {
  pid_t pid = -1;
  std::string out, err;
  static Proc spawn(const std::string& cmd, const std::string& dir, const std::string& tag) {
    Proc p;
    p.out = dir + "/" + tag + ".out";
    p.err = dir + "/" + tag + ".err";
    p.pid = fork();
    if (p.pid == 0) {
      int o = ::open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = ::open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return p;
  }
  int wait() {
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

struct Result {
  int rc;
  std::string out, err;
};

inline Result run(const std::string& cmd, const std::string& dir) {
  static std::atomic<int> n{0};
  Proc p = Proc::spawn(cmd, dir, "cmd" + std::to_string(++n));
  int rc = p.wait();
  return {rc, slurp(p.out), slurp(p.err)};
}

// Polls `pred` every 5 ms for up to 30 s: long enough for a loaded machine,
// so no test depends on how fast the daemon happens to be.
template <class Pred>
bool eventually(Pred pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct Daemon {
  std::string dir = temp_dir();
  Proc proc;
  std::string url;
  explicit Daemon(const std::string& config_text = "", const std::string& binary = kDaemon) {
    std::string cmd = binary + " --listen 127.0.0.1:0 --state-dir " + dir + " --log-format json";
    if (!config_text.empty()) {
      std::ofstream(dir + "/nautilusd.toml") << config_text;
      cmd += " --config " + dir + "/nautilusd.toml";
    }
    proc = Proc::spawn(cmd, dir, "daemon");
    REQUIRE(eventually([&] {
      return std::filesystem::exists(dir + "/address") || ::waitpid(proc.pid, nullptr, WNOHANG) != 0;
    }));
    REQUIRE(std::filesystem::exists(dir + "/address"));
    url = slurp(dir + "/address");
    while (!url.empty() && url.back() == '\n') url.pop_back();
    // The address comes with the listener, before the engines start: tests
    // talk to engines, so wait (bounded) until the daemon says it is ready.
    eventually([&] {
      if (::waitpid(proc.pid, nullptr, WNOHANG) != 0) return true;
      return run_cli("status --json").out.find("\"ready\":true") != std::string::npos;
    });
  }
  ~Daemon() {
    if (proc.pid > 0) {
      ::kill(proc.pid, SIGTERM);
      proc.wait();
    }
    std::filesystem::remove_all(dir);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  std::string cli(const std::string& args) const {
    return "env -u NAUTILUS_URL -u NAUTILUS_TOKEN NAUTILUS_STATE_DIR=" + dir + " " + kCli + " " + args;
  }
  Result run_cli(const std::string& args) const { return run(cli(args), dir); }
  int kill_with(int sig) {
    ::kill(proc.pid, sig);
    return proc.wait();
  }
};

inline std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace nautilus::e2e
