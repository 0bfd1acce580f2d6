#include "core/json_syntax.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace nautilus {
namespace {

constexpr int kStackLimit = 256;  // depth beyond this is refused whatever max_depth says

class Checker {
 public:
  Checker(std::string_view text, int max_depth)
      : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()),
        max_depth_(max_depth < kStackLimit ? max_depth : kStackLimit) {}

  JsonSyntax run() {
    if (!skip_bom() || !value() || (skip_ws(), p_ != end_)) return fail();
    JsonSyntax r;
    r.ok = true;
    return r;
  }

 private:
  JsonSyntax fail() {
    JsonSyntax r;
    r.too_deep = too_deep_;
    r.error_pos = static_cast<std::size_t>(p_ - begin_);
    return r;
  }

  bool skip_bom() {
    static constexpr unsigned char kBom[] = {0xEF, 0xBB, 0xBF};
    if (p_ == end_ || static_cast<unsigned char>(*p_) != kBom[0]) return true;
    for (unsigned char b : kBom) {
      if (p_ == end_ || static_cast<unsigned char>(*p_) != b) return false;
      ++p_;
    }
    return true;
  }

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) ++p_;
  }

  bool literal(const char* word) {
    std::size_t n = std::strlen(word);
    for (std::size_t i = 0; i < n; ++i, ++p_) {
      if (p_ == end_ || *p_ != word[i]) return false;
    }
    return true;
  }

  // Iterative over nesting, so depth costs no native stack.
  bool value() {
    char open[kStackLimit];  // '{' or '[' per level
    int depth = 0;
    for (;;) {
      skip_ws();
      if (p_ == end_) return false;
      // One value.
      char c = *p_;
      if (c == '{' || c == '[') {
        if (depth >= max_depth_) {
          too_deep_ = true;
          return false;
        }
        open[depth++] = c;
        ++p_;
        skip_ws();
        if (p_ != end_ && *p_ == (c == '{' ? '}' : ']')) {
          ++p_;
          --depth;
        } else if (c == '{') {
          if (!key()) return false;
          continue;  // the member's value
        } else {
          continue;  // the first element
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == 't') {
        if (!literal("true")) return false;
      } else if (c == 'f') {
        if (!literal("false")) return false;
      } else if (c == 'n') {
        if (!literal("null")) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!number()) return false;
      } else {
        return false;
      }
      // After a value: close containers or move to the next member/element.
      for (;;) {
        if (depth == 0) return true;
        skip_ws();
        if (p_ == end_) return false;
        char close = open[depth - 1] == '{' ? '}' : ']';
        if (*p_ == close) {
          ++p_;
          --depth;
          continue;
        }
        if (*p_ != ',') return false;
        ++p_;
        if (open[depth - 1] == '{' && !key()) return false;
        break;
      }
    }
  }

  // "name" ':' — leaves p_ at the member's value.
  bool key() {
    skip_ws();
    if (p_ == end_ || *p_ != '"' || !string()) return false;
    skip_ws();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool u_escape(unsigned& code) {  // p_ after "\u"
    code = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      int h = p_ == end_ ? -1 : hex(*p_);
      if (h < 0) return false;
      code = code * 16 + static_cast<unsigned>(h);
    }
    return true;
  }

  bool in(unsigned char lo, unsigned char hi) {
    if (p_ == end_) return false;
    auto b = static_cast<unsigned char>(*p_);
    if (b < lo || b > hi) return false;
    ++p_;
    return true;
  }

  // One multi-byte UTF-8 sequence starting at p_ (RFC 3629, table 3-7 of Unicode).
  bool utf8() {
    auto b = static_cast<unsigned char>(*p_);
    ++p_;
    if (b >= 0xC2 && b <= 0xDF) return in(0x80, 0xBF);
    if (b == 0xE0) return in(0xA0, 0xBF) && in(0x80, 0xBF);
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return in(0x80, 0xBF) && in(0x80, 0xBF);
    if (b == 0xED) return in(0x80, 0x9F) && in(0x80, 0xBF);
    if (b == 0xF0) return in(0x90, 0xBF) && in(0x80, 0xBF) && in(0x80, 0xBF);
    if (b >= 0xF1 && b <= 0xF3) return in(0x80, 0xBF) && in(0x80, 0xBF) && in(0x80, 0xBF);
    if (b == 0xF4) return in(0x80, 0x8F) && in(0x80, 0xBF) && in(0x80, 0xBF);
    --p_;
    return false;
  }

  bool string() {  // p_ at the opening quote
    ++p_;
    for (;;) {
      if (p_ == end_) return false;
      auto b = static_cast<unsigned char>(*p_);
      if (b == '"') {
        ++p_;
        return true;
      }
      if (b < 0x20) return false;
      if (b >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      if (b != '\\') {
        ++p_;
        continue;
      }
      ++p_;
      if (p_ == end_) return false;
      char e = *p_++;
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') continue;
      if (e != 'u') {
        --p_;
        return false;
      }
      unsigned code;
      if (!u_escape(code)) return false;
      if (code >= 0xDC00 && code <= 0xDFFF) return false;  // a low surrogate alone
      if (code >= 0xD800 && code <= 0xDBFF) {
        if (p_ == end_ || *p_ != '\\') return false;
        ++p_;
        if (p_ == end_ || *p_ != 'u') return false;
        ++p_;
        unsigned low;
        if (!u_escape(low) || low < 0xDC00 || low > 0xDFFF) return false;
      }
    }
  }

  bool digits() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }

  bool number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    const char* int_end = p_;
    bool exponent = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      exponent = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    // The parser turns a number too large for a double into an error, so we do:
    // only an exponent or a very long integer part can get there.
    std::size_t int_digits = static_cast<std::size_t>(int_end - start) - (*start == '-' ? 1 : 0);
    if (!exponent && int_digits <= 308) return true;
    return finite(start, static_cast<std::size_t>(p_ - start));
  }

  bool finite(const char* s, std::size_t n) {
    char buf[512];
    if (n >= sizeof buf) {
      // Too long to copy: decide by magnitude. Only the integer part's digits
      // and the exponent can push a double past 1.8e308.
      const char* q = s + (*s == '-' ? 1 : 0);
      const char* const stop = s + n;
      while (q < stop && *q == '0') ++q;
      long magnitude = 0;
      while (q < stop && *q >= '0' && *q <= '9') ++magnitude, ++q;
      while (q < stop && *q != 'e' && *q != 'E') ++q;
      if (q < stop) {
        ++q;
        bool negative = *q == '-';
        if (*q == '+' || *q == '-') ++q;
        long exp = 0;
        while (q < stop && exp < 100000) exp = exp * 10 + (*q++ - '0');
        magnitude += negative ? -exp : exp;
      }
      return magnitude <= 308;
    }
    std::memcpy(buf, s, n);
    buf[n] = '\0';
    return std::isfinite(std::strtod(buf, nullptr));
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  int max_depth_;
  bool too_deep_ = false;
};

}  // namespace

JsonSyntax check_json_syntax(std::string_view text, int max_depth) { return Checker(text, max_depth).run(); }

}  // namespace nautilus
