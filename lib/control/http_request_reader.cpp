#include "control/http_request_reader.h"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cctype>

namespace nautilus::control {
namespace http = boost::beast::http;

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

struct RequestReader::Impl {
  http::request_parser<http::string_body> parser;
  bool keep_alive = false;
};

RequestReader::RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
  impl_->parser.body_limit(max_body_bytes);
}

RequestReader::~RequestReader() = default;

bool RequestReader::got_some() const { return impl_->parser.got_some(); }
bool RequestReader::header_done() const { return impl_->parser.is_header_done(); }
bool RequestReader::keep_alive() const { return impl_->keep_alive; }

RequestReader::State RequestReader::feed(std::string& pending) {
  auto& parser = impl_->parser;
  boost::beast::error_code ec;
  while (!pending.empty() && !parser.is_done()) {
    std::size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
    pending.erase(0, used);
    if (ec == http::error::need_more) return State::kNeedMore;
    if (ec) break;
    if (used == 0) return State::kNeedMore;
  }
  if (!ec && parser.is_done()) return State::kDone;
  if (!ec) return State::kNeedMore;
  error_status_ = 400;
  error_code_ = "bad_request";
  if (ec == http::error::body_limit) {
    error_status_ = 413;
    error_code_ = "body_too_large";
  } else if (ec == http::error::header_limit) {
    error_status_ = 431;
    error_code_ = "header_too_large";
  }
  error_message_ = "malformed request: " + ec.message();
  return State::kError;
}

HttpRequest RequestReader::take() {
  auto msg = impl_->parser.release();
  impl_->keep_alive = msg.keep_alive();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  std::string_view target(msg.target().data(), msg.target().size());
  auto q = target.find('?');
  req.path = percent_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      std::string_view kv = qs.substr(0, amp);
      auto eq = kv.find('=');
      if (!kv.empty()) {
        req.query[percent_decode(kv.substr(0, eq), true)] =
            eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1), true);
      }
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  req.body = std::move(msg.body());
  auto auth = msg[http::field::authorization];
  req.authorization = std::string(auth.data(), auth.size());
  req.target = std::string(target);
  for (const auto& field : msg) {
    std::string name(field.name_string().data(), field.name_string().size());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    req.headers.emplace_back(std::move(name), std::string(field.value().data(), field.value().size()));
  }
  return req;
}

}  // namespace nautilus::control
