// Where nautilusd keeps its state (the bearer token, the address it listens on)
// and how the CLI finds them: `--state-dir` / NAUTILUS_STATE_DIR, else
// /var/lib/nautilus for root, else $XDG_STATE_HOME/nautilus (~/.local/state).
#pragma once

#include <optional>
#include <string>

namespace nautilus::control {

inline constexpr const char* kTokenFile = "token";      // 0600 (0640 in a group-shared dir), one line
inline constexpr const char* kAddressFile = "address";  // the control URL, one line
inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8001";

std::string default_state_dir();
// nautilusd's config file: `explicit_path` if given, else NAUTILUS_CONFIG, else
// the first of $XDG_CONFIG_HOME/nautilus/nautilusd.toml,
// ~/.config/nautilus/nautilusd.toml, /etc/nautilus/nautilusd.toml that exists;
// "" when none does. The daemon and the CLI search the same way.
std::string find_config_file(const std::string& explicit_path);
// Creates the directory (0700) when missing. Throws std::runtime_error.
void ensure_state_dir(const std::string& dir);
// Reads the token, creating a fresh random one (0600, no window with looser
// rights) on first start. Throws std::runtime_error.
std::string load_or_create_token(const std::string& dir);
// The first line of `dir/name`, or nullopt when the file does not exist.
std::optional<std::string> read_state_file(const std::string& dir, const char* name);
// True when `dir` grants its group read and search (e.g. systemd's
// StateDirectoryMode=0750 with Group=nautilus): the operators' group may then
// read the token and address, and use the socket.
bool shared_with_group(const std::string& dir);
// Writes atomically (temp file + rename), 0600, or 0640 where
// shared_with_group(dir) unless `owner_only` (the JWT signing key: whoever
// reads it can mint an admin token). A token readable by others is refused
// at start. A newline is appended.
void write_state_file(const std::string& dir, const char* name, const std::string& content, bool owner_only = false);

}  // namespace nautilus::control
