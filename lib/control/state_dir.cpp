#include "control/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

namespace nautilus::control {

std::string default_state_dir() {
  if (const char* d = std::getenv("NAUTILUS_STATE_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/var/lib/nautilus";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/nautilus";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/nautilus";
  return "/tmp/nautilus-" + std::to_string(::geteuid());
}

std::string find_config_file(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* e = std::getenv("NAUTILUS_CONFIG"); e && *e) return e;
  std::vector<std::string> candidates;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) candidates.push_back(std::string(x) + "/nautilus/nautilusd.toml");
  if (const char* h = std::getenv("HOME"); h && *h) candidates.push_back(std::string(h) + "/.config/nautilus/nautilusd.toml");
  candidates.push_back("/etc/nautilus/nautilusd.toml");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(c, ec)) return c;
  }
  return {};
}

void ensure_state_dir(const std::string& dir) {
  std::string partial;
  for (std::size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      partial = dir.substr(0, i);
      if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        throw std::runtime_error("cannot create state directory " + partial + ": " + std::strerror(errno));
      }
    }
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error("state directory " + dir + " is not a directory");
  }
}

std::optional<std::string> read_state_file(const std::string& dir, const char* name) {
  std::ifstream in(dir + "/" + name);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool shared_with_group(const std::string& dir) {
  struct stat st{};
  return ::stat(dir.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IXGRP)) == (S_IRGRP | S_IXGRP);
}

void write_state_file(const std::string& dir, const char* name, const std::string& content, bool owner_only) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // O_EXCL + the final mode at creation: the file never exists with looser
  // rights. 0640 only where the operator shared the directory with a group.
  mode_t mode = shared_with_group(dir) && !owner_only ? 0640 : 0600;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::string data = content + "\n";
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ok = (::fsync(fd) == 0) && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
}

std::string load_or_create_token(const std::string& dir) {
  if (auto t = read_state_file(dir, kTokenFile); t && !t->empty()) {
    struct stat st{};
    std::string path = dir + "/" + kTokenFile;
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 007) != 0) {
      throw std::runtime_error(path + " is readable by others (chmod o-rwx it)");
    }
    return *t;
  }
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 32; ++i) {
    unsigned v = rd();
    token += kHex[v & 15];
    token += kHex[(v >> 4) & 15];
  }
  write_state_file(dir, kTokenFile, token);
  return token;
}

}  // namespace nautilus::control
