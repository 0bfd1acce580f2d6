#include "control/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace nautilus::control {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

JwtResult refuse(std::string reason) {
  JwtResult r;
  r.reason = std::move(reason);
  return r;
}

// A NumericDate claim (RFC 7519 section 2): a JSON number, integer seconds.
std::optional<std::int64_t> numeric_date(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  return std::nullopt;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero: one encoding per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), mac.data(), &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

std::string sign_hs256(const nlohmann::json& claims, std::string_view key) {
  static const std::string kHeader = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  std::string signing_input = kHeader + "." + base64url_encode(claims.dump());
  return signing_input + "." + base64url_encode(hmac_sha256(key, signing_input));
}

JwtResult verify_hs256_signature(std::string_view token, std::string_view key) {
  if (key.empty()) return refuse("no signing key configured");
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return refuse("not a JWS compact serialization");
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return refuse("not a JWS compact serialization");
  }
  auto header_text = base64url_decode(token.substr(0, dot1));
  auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return refuse("bad base64url");
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return refuse("header is not a JSON object");
  // Pinned: the only algorithm this verifier knows is HS256, whatever the token says.
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || *alg != "HS256") {
    return refuse("algorithm " + (alg == header.end() ? std::string("(missing)") : alg->dump()) + " refused (HS256 only)");
  }
  if (header.contains("crit")) return refuse("critical header parameters are not supported");
  std::string expected = hmac_sha256(key, token.substr(0, dot2));
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return refuse("bad signature");
  }
  auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return refuse("payload is not a JSON object");
  JwtResult r;
  r.ok = true;
  r.claims = std::move(payload);
  return r;
}

JwtResult verify_hs256(std::string_view token, std::string_view key, const JwtCheck& check) {
  JwtResult r = verify_hs256_signature(token, key);
  if (!r.ok) return r;
  const nlohmann::json& c = r.claims;
  auto exp = numeric_date(c, "exp");
  if (!exp) return refuse("no exp claim (required)");
  if (check.now_s >= *exp + check.leeway_s) return refuse("expired at " + std::to_string(*exp));
  if (c.contains("nbf")) {
    auto nbf = numeric_date(c, "nbf");
    if (!nbf) return refuse("nbf is not a NumericDate");
    if (check.now_s + check.leeway_s < *nbf) return refuse("not valid before " + std::to_string(*nbf));
  }
  if (c.contains("iat")) {
    auto iat = numeric_date(c, "iat");
    if (!iat) return refuse("iat is not a NumericDate");
    if (*iat > check.now_s + check.leeway_s) return refuse("issued in the future (" + std::to_string(*iat) + ")");
  }
  if (!check.issuer.empty()) {
    auto iss = c.find("iss");
    if (iss == c.end() || !iss->is_string() || *iss != check.issuer) return refuse("wrong issuer");
  }
  if (!check.audience.empty()) {
    auto aud = c.find("aud");
    bool found = false;
    if (aud != c.end() && aud->is_string()) found = *aud == check.audience;
    if (aud != c.end() && aud->is_array()) {
      for (const auto& a : *aud) found |= a.is_string() && a == check.audience;
    }
    if (!found) return refuse("wrong audience");
  }
  return r;
}

}  // namespace nautilus::control
