// HS256 JWTs (control/jwt.h) against published vectors (RFC 7515 A.1, RFC
// 4231), and every refusal of issue 22 through a real socket: 401 with a
// generic body, the reason in the server's log only.
#include <catch2/catch.hpp>

#include "control/jwt.h"
#include "auth_fixture.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
    out += kHex[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

// A token with any header and claims, signed HS256 with `key` over exactly
// those bytes (so a lying "alg" still carries a valid HS256 signature).
std::string forge(const nlohmann::json& header, const nlohmann::json& claims, std::string_view key) {
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(hmac_sha256(key, input));
}

}  // namespace

TEST_CASE("jwt: HMAC-SHA256 and base64url match the published vectors") {
  // RFC 4231 test case 2.
  CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  struct Case {
    std::string bytes, encoded;
  };
  // RFC 4648 section 10 vectors, unpadded, plus the URL-safe characters.
  const Case cases[] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
                        {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& c : cases) {
    CHECK(base64url_encode(c.bytes) == c.encoded);
    CHECK(base64url_decode(c.encoded) == c.bytes);
  }
  CHECK_FALSE(base64url_decode("Zm9v=").has_value());  // padding is not base64url here
  CHECK_FALSE(base64url_decode("Zm+v").has_value());   // nor the standard alphabet
  CHECK_FALSE(base64url_decode("Zh").has_value());     // non-zero leftover bits
}

TEST_CASE("jwt: RFC 7515 appendix A.1 (HS256) verifies, and fails once altered") {
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto key = base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  REQUIRE(key);
  JwtCheck at_issue;
  at_issue.now_s = 1300819370;  // ten seconds before its exp
  at_issue.issuer = "joe";
  JwtResult r = verify_hs256(token, *key, at_issue);
  INFO(r.reason);
  REQUIRE(r.ok);
  CHECK(r.claims["iss"] == "joe");
  CHECK(r.claims["http://example.com/is_root"] == true);

  JwtCheck later = at_issue;
  later.now_s = 1300819380 + 60;
  CHECK_FALSE(verify_hs256(token, *key, later).ok);
  std::string flipped = token;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'X' ? 'Y' : 'X';
  CHECK_FALSE(verify_hs256(flipped, *key, at_issue).ok);
  CHECK_FALSE(verify_hs256(token, "another key", at_issue).ok);
}

TEST_CASE("jwt: refused tokens get 401 with a generic body; the reason is in the log") {
  AuthServer s;
  const std::int64_t now = s.now_s();
  const nlohmann::json hs256 = {{"alg", "HS256"}, {"typ", "JWT"}};
  auto claims = [&](nlohmann::json extra) {
    nlohmann::json c = {{"iss", "nautilusd"}, {"aud", "nautilus-control"}, {"sub", "tester"}, {"jti", "j-1"},
                        {"iat", now}, {"nbf", now}, {"exp", now + 3600}, {"role", "admin"}};
    for (auto& [k, v] : extra.items()) {
      if (v.is_null()) c.erase(k);
      else c[k] = v;
    }
    return c;
  };
  const std::string good = forge(hs256, claims({}), kJwtKey);
  // A viewer token whose payload is swapped for an admin one, signature kept.
  std::string viewer = s.token(Role::kViewer);
  std::string swapped = viewer.substr(0, viewer.find('.') + 1) + base64url_encode(claims({}).dump()) +
                        viewer.substr(viewer.rfind('.'));
  TokenRequest revoked_req;
  revoked_req.name = "to-revoke";
  nlohmann::json revoked = s.auth->issue(revoked_req, now);
  REQUIRE(s.auth->revoke(revoked["id"]));

  struct Case {
    const char* what;
    std::string token;
    const char* logged;  // part of the reason in the log
  };
  const Case cases[] = {
      {"alg none", base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(claims({}).dump()) + ".",
       "algorithm \"none\" refused"},
      {"another alg (HS384) with an HS256 signature", forge({{"alg", "HS384"}, {"typ", "JWT"}}, claims({}), kJwtKey),
       "algorithm \"HS384\" refused"},
      {"RS256", forge({{"alg", "RS256"}}, claims({}), kJwtKey), "algorithm \"RS256\" refused"},
      {"changed payload", swapped, "bad signature"},
      {"signed with another key", forge(hs256, claims({}), "not the key not the key not the key"), "bad signature"},
      {"expired", forge(hs256, claims({{"iat", now - 7200}, {"nbf", now - 7200}, {"exp", now - 3600}}), kJwtKey),
       "expired"},
      {"no exp", forge(hs256, claims({{"exp", nullptr}}), kJwtKey), "no exp claim"},
      {"before nbf", forge(hs256, claims({{"nbf", now + 3600}}), kJwtKey), "not valid before"},
      {"issued in the future", forge(hs256, claims({{"iat", now + 3600}}), kJwtKey), "issued in the future"},
      {"wrong aud", forge(hs256, claims({{"aud", "someone-else"}}), kJwtKey), "wrong audience"},
      {"wrong iss", forge(hs256, claims({{"iss", "mallory"}}), kJwtKey), "wrong issuer"},
      {"revoked", revoked["token"].get<std::string>(), "is revoked"},
      {"no role", forge(hs256, claims({{"role", nullptr}}), kJwtKey), "no valid role"},
      {"unknown role", forge(hs256, claims({{"role", "root"}}), kJwtKey), "no valid role"},
      {"not a JWT at all", "just-some-words", "unknown token"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    RawResponse r = raw_request(s.url, "GET", "/api/v1/engines", bearer(c.token));
    CHECK(r.status == 401);
    CHECK(r.headers["www-authenticate"] == "Bearer");
    CHECK(nlohmann::json::parse(r.body) == nlohmann::json::parse(
        R"({"error":{"code":"unauthorized","message":"authentication required"}})"));
    CHECK(s.log.contains(c.logged));
  }
  // The same claims, well signed, pass: the refusals above are the changes.
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", bearer(good)).status == 200);
  // RFC 7235: the scheme is case-insensitive.
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", "bEaReR " + good).status == 200);
  CHECK(raw_request(s.url, "GET", "/api/v1/engines", "Basic " + good).status == 401);
  CHECK(raw_request(s.url, "POST", "/api/v1/engines/quiet/stop", std::string("BEARER ") + kAdminToken).status == 200);
}
