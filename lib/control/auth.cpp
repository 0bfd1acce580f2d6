#include "control/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "control/jwt.h"
#include "control/state_dir.h"
#include "core/topic_pattern.h"

namespace nautilus::control {
namespace {

constexpr std::array<std::string_view, 3> kRoleNames = {"viewer", "operator", "admin"};
constexpr std::array<std::string_view, kRouteClassCount> kClassNames = {"public", "read", "subscribe",
                                                                        "publish", "operate", "admin"};

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : raw) {
    out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
    out += kHex[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* what) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) throw std::invalid_argument(std::string(what) + " must be an array of topic patterns");
  for (const auto& p : j) {
    if (!p.is_string()) throw std::invalid_argument(std::string(what) + " must be an array of topic patterns");
    std::string s = p.get<std::string>();
    if (Status st = validate_pattern(s); !st) throw std::invalid_argument(std::string(what) + ": '" + s + "': " + st.message());
    out.push_back(std::move(s));
  }
  return out;
}

// Compares through SHA-256 digests so neither the content nor the length of
// the expected token leaks through timing.
bool same_secret(std::string_view given, std::string_view expected) {
  std::string a = hmac_sha256("nautilus-token-compare", given);
  std::string b = hmac_sha256("nautilus-token-compare", expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string_view to_string(Role r) { return kRoleNames[static_cast<std::size_t>(r)]; }

std::optional<Role> parse_role(std::string_view text) {
  for (std::size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == text) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view to_string(RouteClass c) { return kClassNames[static_cast<std::size_t>(c)]; }

std::optional<RouteClass> parse_route_class(std::string_view text) {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == text) return static_cast<RouteClass>(i);
  }
  return std::nullopt;
}

Role required_role(RouteClass c) {
  switch (c) {
    case RouteClass::kPublic:
    case RouteClass::kRead:
    case RouteClass::kSubscribe: return Role::kViewer;
    case RouteClass::kPublish:
    case RouteClass::kOperate: return Role::kOperator;
    case RouteClass::kAdmin: return Role::kAdmin;
  }
  return Role::kAdmin;
}

bool Principal::may(RouteClass c) const { return static_cast<int>(role) >= static_cast<int>(required_role(c)); }

bool pattern_covers(std::string_view outer, std::string_view inner) {
  // glob_match's greedy walk, where outer's '*' takes any run of inner
  // (wildcards included), '?' any one character but a '*', and a literal only
  // the same literal: sound (true only when inner's set is inside outer's).
  std::size_t pi = 0, ti = 0;
  std::size_t star = std::string_view::npos, star_t = 0;
  auto one = [](char p, char t) {
    if (p == '?') return t != '*';
    return p != '*' && t != '*' && t != '?' && p == t;
  };
  while (ti < inner.size()) {
    if (pi < outer.size() && outer[pi] != '*' && one(outer[pi], inner[ti])) {
      ++pi;
      ++ti;
    } else if (pi < outer.size() && outer[pi] == '*') {
      star = pi++;
      star_t = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++star_t;
    } else {
      return false;
    }
  }
  while (pi < outer.size() && outer[pi] == '*') ++pi;
  return pi == outer.size();
}

bool TopicRules::permits_topic(std::string_view topic) const {
  for (const auto& d : deny) {
    if (glob_match(d, topic)) return false;
  }
  if (allow.empty()) return true;
  for (const auto& a : allow) {
    if (glob_match(a, topic)) return true;
  }
  return false;
}

bool TopicRules::permits_pattern(std::string_view pattern) const {
  for (const auto& d : deny) {
    if (pattern_covers(d, pattern)) return false;
  }
  if (allow.empty()) return true;
  for (const auto& a : allow) {
    if (pattern_covers(a, pattern)) return true;
  }
  return false;
}

nlohmann::json TopicRules::to_json() const { return {{"allow", allow}, {"deny", deny}}; }

TopicRules TopicRules::from_json(const nlohmann::json& j) {
  TopicRules r;
  if (j.is_null()) return r;
  if (!j.is_object()) throw std::invalid_argument("topic rules must be {\"allow\": [...], \"deny\": [...]}");
  r.allow = string_list(j.value("allow", nlohmann::json()), "allow");
  r.deny = string_list(j.value("deny", nlohmann::json()), "deny");
  return r;
}

Authenticator::Authenticator(AuthOptions options) : options_(std::move(options)) {
  auto anon = std::make_shared<Principal>();
  anon->name = "anonymous";
  anon->role = options_.anonymous_loopback.value_or(Role::kViewer);
  anonymous_ = anon;
  auto admin = std::make_shared<Principal>();
  admin->name = "admin-token";
  admin->role = Role::kAdmin;
  admin->authenticated = true;
  admin_ = admin;
  if (!options_.state_dir.empty()) {
    std::ifstream in(options_.state_dir + "/" + kIssuedFile);
    if (in) {
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_array()) issued_ = std::move(j);
    }
    std::lock_guard lock(mu_);
    reload_revoked_locked();
  }
}

void Authenticator::reload_revoked_locked() const {
  if (options_.state_dir.empty()) return;
  std::string path = options_.state_dir + "/" + kRevokedFile;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    revoked_mtime_ns_ = 0;
    revoked_size_ = 0;
    return;  // none revoked on disk; revocations made here are kept in memory too
  }
  std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime == revoked_mtime_ns_ && st.st_size == revoked_size_) return;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') revoked_.insert(line);
  }
  revoked_mtime_ns_ = mtime;
  revoked_size_ = st.st_size;
}

AuthResult Authenticator::authenticate(std::string_view authorization, bool loopback, std::int64_t now_s) const {
  AuthResult out;
  if (authorization.empty()) {
    if (loopback && options_.anonymous_loopback) {
      out.principal = anonymous_;
      return out;
    }
    out.reason = "no credential";
    return out;
  }
  auto space = authorization.find(' ');
  std::string_view scheme = authorization.substr(0, space);
  static constexpr std::string_view kBearer = "bearer";
  bool is_bearer = scheme.size() == kBearer.size();
  for (std::size_t i = 0; is_bearer && i < scheme.size(); ++i) {
    is_bearer = static_cast<char>(std::tolower(static_cast<unsigned char>(scheme[i]))) == kBearer[i];
  }
  if (!is_bearer || space == std::string_view::npos) {
    out.reason = "not a Bearer credential";
    return out;
  }
  std::string_view token = authorization.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (!options_.admin_token.empty() && same_secret(token, options_.admin_token)) {
    out.principal = admin_;
    return out;
  }
  if (token.find('.') == std::string_view::npos) {
    out.reason = "unknown token";
    return out;
  }
  JwtCheck check;
  check.now_s = now_s;
  check.issuer = options_.issuer;
  check.audience = options_.audience;
  JwtResult r = verify_hs256(token, options_.jwt_key, check);
  if (!r.ok) {
    out.reason = "JWT refused: " + r.reason;
    return out;
  }
  const nlohmann::json& c = r.claims;
  auto jti = c.find("jti");
  if (jti == c.end() || !jti->is_string() || jti->get<std::string>().empty()) {
    out.reason = "JWT refused: no jti";
    return out;
  }
  {
    std::lock_guard lock(mu_);
    reload_revoked_locked();
    if (revoked_.count(jti->get<std::string>())) {
      out.reason = "JWT refused: token " + jti->get<std::string>() + " is revoked";
      return out;
    }
  }
  auto role = c.find("role");
  std::optional<Role> parsed = role != c.end() && role->is_string() ? parse_role(role->get<std::string>()) : std::nullopt;
  if (!parsed) {
    out.reason = "JWT refused: no valid role claim";
    return out;
  }
  auto p = std::make_shared<Principal>();
  p->token_id = jti->get<std::string>();
  p->name = c.contains("sub") && c["sub"].is_string() ? c["sub"].get<std::string>() : p->token_id;
  p->role = *parsed;
  p->authenticated = true;
  try {
    const nlohmann::json perm = c.value("perm", nlohmann::json::object());
    if (!perm.is_object()) throw std::invalid_argument("perm must be an object");
    p->publish = TopicRules::from_json(perm.value("publish", nlohmann::json()));
    p->subscribe = TopicRules::from_json(perm.value("subscribe", nlohmann::json()));
  } catch (const std::exception& e) {
    out.reason = std::string("JWT refused: bad perm claim: ") + e.what();
    return out;
  }
  out.principal = std::move(p);
  return out;
}

nlohmann::json Authenticator::issue(const TokenRequest& request, std::int64_t now_s) {
  if (!signing_enabled()) throw std::invalid_argument("token signing is not configured (no key)");
  if (request.ttl_s <= 0) throw std::invalid_argument("ttl must be positive");
  std::string id = random_hex(16);
  std::string name = request.name.empty() ? "token-" + id.substr(0, 8) : request.name;
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"aud", options_.audience},
                           {"sub", name},
                           {"jti", id},
                           {"iat", now_s},
                           {"nbf", now_s},
                           {"exp", now_s + request.ttl_s},
                           {"role", to_string(request.role)}};
  nlohmann::json perm = nlohmann::json::object();
  if (!request.publish.empty()) perm["publish"] = request.publish.to_json();
  if (!request.subscribe.empty()) perm["subscribe"] = request.subscribe.to_json();
  if (!perm.empty()) claims["perm"] = perm;
  nlohmann::json record = {{"id", id}, {"name", name}, {"role", to_string(request.role)}, {"issued", now_s},
                           {"expires", now_s + request.ttl_s}, {"publish", request.publish.to_json()},
                           {"subscribe", request.subscribe.to_json()}};
  {
    std::lock_guard lock(mu_);
    issued_.push_back(record);
    save_issued_locked();
  }
  record["token"] = sign_hs256(claims, options_.jwt_key);
  return record;
}

void Authenticator::save_issued_locked() const {
  if (options_.state_dir.empty()) return;
  write_state_file(options_.state_dir, kIssuedFile, issued_.dump(2), true);
}

nlohmann::json Authenticator::list() const {
  std::lock_guard lock(mu_);
  reload_revoked_locked();
  nlohmann::json out = nlohmann::json::array();
  for (auto rec : issued_) {
    rec["revoked"] = revoked_.count(rec.value("id", "")) > 0;
    out.push_back(std::move(rec));
  }
  return out;
}

bool Authenticator::revoke(const std::string& id) {
  std::lock_guard lock(mu_);
  bool known = false;
  for (const auto& rec : issued_) known |= rec.value("id", "") == id;
  if (!known) return false;
  reload_revoked_locked();
  revoked_.insert(id);
  if (!options_.state_dir.empty()) {
    std::string text;
    for (const auto& r : revoked_) text += (text.empty() ? "" : "\n") + r;
    write_state_file(options_.state_dir, kRevokedFile, text, true);
    // What we just wrote is what we hold: no reload on the next check.
    struct stat st{};
    std::string path = options_.state_dir + "/" + kRevokedFile;
    if (::stat(path.c_str(), &st) == 0) {
      revoked_mtime_ns_ = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      revoked_size_ = st.st_size;
    }
  }
  return true;
}

std::string load_or_create_jwt_key(const std::string& state_dir) {
  std::string path = state_dir + "/" + kJwtKeyFile;
  if (auto hex = read_state_file(state_dir, kJwtKeyFile); hex && !hex->empty()) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      throw std::runtime_error(path + " is readable by others than its owner (chmod 600 it)");
    }
    auto key = from_hex(*hex);
    if (!key || key->size() < 32) throw std::runtime_error(path + " is not a hex key of at least 32 bytes");
    return *key;
  }
  std::string hex = random_hex(32);
  write_state_file(state_dir, kJwtKeyFile, hex, true);
  return *from_hex(hex);
}

}  // namespace nautilus::control
