// Running the real binaries from a test: a shell command in the background
// with its output in files, a bounded wait, and nautilusd on port 0 with its
// own state directory (the CLI finds it through NAUTILUS_STATE_DIR alone).
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

namespace nautilus::test {

inline const std::string kBinaryDir = NAUTILUS_BINARY_DIR;
inline const std::string kDaemonBinary = kBinaryDir + "/apps/nautilusd/nautilusd";
inline const std::string kCliBinary = kBinaryDir + "/apps/nautilus-cli/nautilus";

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/nautilus-t-XXXXXX";
  return mkdtemp(tmpl);
}

// Polls `pred` every 5 ms for at most `limit`; false when it never held.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct Process {
  pid_t pid = -1;
  std::string out, err;  // files holding its stdout and stderr
  static Process spawn(const std::string& cmd, const std::string& dir, const std::string& tag) {
    Process p;
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
  bool exited() {
    if (!reaped_ && ::waitpid(pid, &status_, WNOHANG) == pid) reaped_ = true;
    return reaped_;
  }
  int wait() {
    if (!reaped_) ::waitpid(pid, &status_, 0);
    reaped_ = true;
    pid = -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  int status_ = 0;
  bool reaped_ = false;
};

struct CommandResult {
  int rc;
  std::string out, err;
};

inline CommandResult run_command(const std::string& cmd, const std::string& dir) {
  static std::atomic<int> n{0};
  Process p = Process::spawn(cmd, dir, "cmd" + std::to_string(++n));
  int rc = p.wait();
  return {rc, slurp(p.out), slurp(p.err)};
}

// nautilusd with `config_text` as its config file (none when empty).
class DaemonProcess {
 public:
  explicit DaemonProcess(const std::string& config_text = "", const std::string& extra_flags = "") {
    std::string cmd = kDaemonBinary + " --listen 127.0.0.1:0 --state-dir " + dir + " --log-format json " + extra_flags;
    if (!config_text.empty()) {
      write_config(config_text);
      cmd += " --config " + config_path();
    }
    proc = Process::spawn(cmd, dir, "daemon");
    REQUIRE(eventually([&] { return std::filesystem::exists(dir + "/address") || proc.exited(); }));
    REQUIRE(std::filesystem::exists(dir + "/address"));
    url = slurp(dir + "/address");
    while (!url.empty() && url.back() == '\n') url.pop_back();
  }
  ~DaemonProcess() {
    if (proc.pid > 0) {
      ::kill(proc.pid, SIGTERM);
      proc.wait();
    }
    std::filesystem::remove_all(dir);
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  std::string config_path() const { return dir + "/nautilusd.toml"; }
  void write_config(const std::string& text) const { std::ofstream(config_path()) << text; }
  CommandResult cli(const std::string& args) const {
    return run_command("env NAUTILUS_STATE_DIR=" + dir + " " + kCliBinary + " " + args, dir);
  }
  std::string log() const { return slurp(proc.err); }

  std::string dir = make_temp_dir();
  Process proc;
  std::string url;
};

}  // namespace nautilus::test
