// Signed bearer tokens for the control API: compact JWS (RFC 7515) with HS256
// only, on OpenSSL's HMAC. The algorithm is pinned by the verifier, never taken
// from the token's header (a token naming "none" or any other alg is refused);
// `exp` is required; `nbf`, `iat`, `aud` and `iss` are checked; the signature
// is compared in constant time (CRYPTO_memcmp). Revocation and roles live in
// control/auth.h, on top of this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nautilus::control {

// base64url without padding (RFC 7515 section 2); decode accepts no padding
// and no characters outside the URL-safe alphabet.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// HMAC-SHA256 over `data` with `key` (raw bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

// header.payload.signature for `claims` with {"alg":"HS256","typ":"JWT"}.
std::string sign_hs256(const nlohmann::json& claims, std::string_view key);

struct JwtCheck {
  std::int64_t now_s = 0;        // Unix seconds
  std::string issuer;            // required `iss`; empty: not checked
  std::string audience;          // required in `aud` (string or array); empty: not checked
  std::int64_t leeway_s = 30;    // clock skew allowed on exp/nbf/iat
};

struct JwtResult {
  bool ok = false;
  std::string reason;     // why it was refused (for the log, never the HTTP body)
  nlohmann::json claims;  // the payload when ok
};

// Verifies signature and algorithm only: the payload as JSON, or the reason.
JwtResult verify_hs256_signature(std::string_view token, std::string_view key);
// Signature, then the registered claims against `check`.
JwtResult verify_hs256(std::string_view token, std::string_view key, const JwtCheck& check);

}  // namespace nautilus::control
