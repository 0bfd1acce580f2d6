// A throwaway PostgreSQL 15 server for a test: initdb into a temporary
// directory, pg_ctl on a free port (TCP on 127.0.0.1, its socket in the same
// short directory), trust authentication, fsync off. Run as the `postgres`
// user when the test runs as root (initdb refuses root). Stopped and removed
// by the destructor. available() is false when Debian's postgresql-15 is not
// installed; the test then calls skip_test().
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/daemon_process.h"

namespace nautilus::test {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  static bool available() { return std::filesystem::exists(std::string(kBinDir) + "/initdb"); }

  PostgresServer() {
    char tmpl[] = "/tmp/pgXXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = free_port();
    if (::geteuid() == 0) as_server_user("chown -R postgres " + dir_, /*as_root=*/true);
    run_or_throw(bin("initdb") + " -D " + dir_ + "/data -A trust -U postgres --no-sync -E UTF8 >" + dir_ + "/initdb.log 2>&1");
    start();
  }
  ~PostgresServer() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void start() {
    run_or_throw(bin("pg_ctl") + " -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
                 std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null");
    running_ = true;
  }
  void stop() {
    if (!running_) return;
    run_or_throw(bin("pg_ctl") + " -D " + dir_ + "/data -m fast -w stop >/dev/null");
    running_ = false;
  }
  // A new empty database; returns its URL.
  std::string create_database(const std::string& name) {
    run_or_throw(bin("psql") + " -h 127.0.0.1 -p " + std::to_string(port_) + " -U postgres -q -c 'CREATE DATABASE " +
                 name + "' postgres >/dev/null");
    return url(name);
  }
  std::string url(const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  // Runs SQL through psql; returns its unaligned, tuples-only output.
  std::string psql(const std::string& db, const std::string& sql) const {
    std::string out = dir_ + "/psql.out";
    run_or_throw(bin("psql") + " -h 127.0.0.1 -p " + std::to_string(port_) + " -U postgres -At -c \"" + sql + "\" " +
                 db + " >" + out);
    std::string s = slurp(out);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  int port() const { return port_; }

 private:
  static std::string bin(const std::string& name) { return std::string(kBinDir) + "/" + name; }
  void run_or_throw(const std::string& cmd) const {
    if (as_server_user(cmd, false) != 0) {
      throw std::runtime_error("postgres test server: '" + cmd + "' failed; server log:\n" + slurp(dir_ + "/server.log") +
                               slurp(dir_ + "/initdb.log"));
    }
  }
  static int as_server_user(const std::string& cmd, bool as_root) {
    std::string full = (as_root || ::geteuid() != 0) ? cmd : "su postgres -s /bin/sh -c '" + escape_quotes(cmd) + "'";
    return std::system(full.c_str());
  }
  static std::string escape_quotes(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\'') out += "'\\''";
      else out += c;
    }
    return out;
  }
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("postgres test server: no free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
  }

  std::string dir_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace nautilus::test
