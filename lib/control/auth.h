// Who may do what on the control API. A request's principal comes from its
// bearer credential: the state directory's token file (the admin token of
// old), or an HS256 JWT signed with the state directory's key (control/jwt.h),
// or nothing (an anonymous caller on a loopback listener gets a configured
// role, viewer by default, or none). Roles order route classes: viewer reads
// and subscribes, operator also publishes and runs engines, admin also
// manages tokens. Per-principal topic rules (allow/deny glob patterns, deny
// winning, as NATS user permissions and Redis ACL channel patterns do) narrow
// publish and subscribe further. Reasons for a refused credential go to the
// caller's log, never to the client.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nautilus::control {

enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view text);

// What a route does, for the role check and the rate limiter.
enum class RouteClass {
  kPublic = 0,  // /health: anyone, no credential
  kRead,        // GET status, engines, stats, history, metrics
  kSubscribe,   // NDJSON bus subscribe (and the future WebSocket)
  kPublish,     // bus publish
  kOperate,     // engine start/stop/restart/command, risk halt/resume, ...
  kAdmin,       // token management
};
inline constexpr std::size_t kRouteClassCount = 6;
std::string_view to_string(RouteClass c);
std::optional<RouteClass> parse_route_class(std::string_view text);
// The least role that may use routes of the class.
Role required_role(RouteClass c);

// Allow/deny glob patterns (core/topic_pattern.h syntax) over topics. An empty
// allow list allows every topic; a deny match always wins.
struct TopicRules {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  bool permits_topic(std::string_view topic) const;
  // May a subscription on `pattern` be opened at all: some allow pattern
  // covers every topic it can match, and no deny pattern does. Messages on
  // topics the rules refuse are still filtered one by one (permits_topic).
  bool permits_pattern(std::string_view pattern) const;
  nlohmann::json to_json() const;
  static TopicRules from_json(const nlohmann::json& j);  // throws std::invalid_argument
  bool empty() const { return allow.empty() && deny.empty(); }
};
// True when every topic glob `inner` matches is matched by glob `outer`.
bool pattern_covers(std::string_view outer, std::string_view inner);

struct Principal {
  std::string name;        // "admin-token", a JWT's sub, "anonymous"
  std::string token_id;    // a JWT's jti; empty otherwise
  Role role = Role::kViewer;
  bool authenticated = false;  // a valid credential was presented
  TopicRules publish;
  TopicRules subscribe;
  bool may(RouteClass c) const;
};
using PrincipalPtr = std::shared_ptr<const Principal>;

// The state directory's files for signed tokens.
inline constexpr const char* kJwtKeyFile = "jwt.key";        // 0600, hex of 32 random bytes
inline constexpr const char* kRevokedFile = "revoked-tokens";  // one jti per line
inline constexpr const char* kIssuedFile = "issued-tokens.json";  // what `token list` shows (no secrets)

struct AuthOptions {
  std::string admin_token;  // the token file's content; empty: none
  std::string jwt_key;      // raw key bytes; empty: JWTs are refused
  std::string state_dir;    // revocation list and issued tokens; empty: in memory only
  std::string issuer = "nautilusd";
  std::string audience = "nautilus-control";
  std::optional<Role> anonymous_loopback = Role::kViewer;  // nullopt: loopback needs a credential too
};

struct AuthResult {
  PrincipalPtr principal;  // null when refused
  std::string reason;      // why refused: for the log only
};

struct TokenRequest {
  std::string name;
  Role role = Role::kViewer;
  std::int64_t ttl_s = 24 * 3600;
  TopicRules publish;
  TopicRules subscribe;
};

class Authenticator {
 public:
  explicit Authenticator(AuthOptions options);

  // `authorization`: the Authorization header ("" when absent). The scheme
  // "Bearer" is matched case-insensitively (RFC 7235).
  AuthResult authenticate(std::string_view authorization, bool loopback, std::int64_t now_s) const;
  // The anonymous principal for a public route or a loopback caller.
  PrincipalPtr anonymous() const { return anonymous_; }
  const std::optional<Role>& anonymous_loopback() const { return options_.anonymous_loopback; }

  // Issues a token: {"token", "id", "name", "role", "expires", ...}; records
  // it (without the token) in the issued list. Throws std::invalid_argument.
  nlohmann::json issue(const TokenRequest& request, std::int64_t now_s);
  // The issued tokens, each with "revoked".
  nlohmann::json list() const;
  // Revokes by id; false when no such token was issued.
  bool revoke(const std::string& id);
  bool signing_enabled() const { return !options_.jwt_key.empty(); }

 private:
  void reload_revoked_locked() const;
  void save_issued_locked() const;

  AuthOptions options_;
  PrincipalPtr anonymous_;
  PrincipalPtr admin_;
  mutable std::mutex mu_;
  mutable std::set<std::string> revoked_;
  mutable std::int64_t revoked_mtime_ns_ = -1;
  mutable std::int64_t revoked_size_ = -1;
  nlohmann::json issued_ = nlohmann::json::array();
};

// The JWT key from the state directory, created (32 random bytes, 0600) on
// first start. Refuses a key file readable by its group or others.
std::string load_or_create_jwt_key(const std::string& state_dir);

}  // namespace nautilus::control
