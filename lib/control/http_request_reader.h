// The control server's HTTP/1.1 request parser, apart from the sockets so it
// can be fuzzed (fuzz/fuzz_control.cpp): bytes in, an HttpRequest out, or the
// 4xx to answer. Bounded by header and body size (Boost.Beast's parser).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "control/control_server.h"

namespace nautilus::control {

std::string percent_decode(std::string_view s, bool plus_is_space);

class RequestReader {
 public:
  RequestReader(std::size_t max_header_bytes, std::size_t max_body_bytes);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  enum class State { kNeedMore, kDone, kError };
  // Parses from the front of `pending`, erasing what was used; bytes of a
  // following pipelined request stay in `pending`.
  State feed(std::string& pending);
  bool got_some() const;     // some bytes of this request arrived
  bool header_done() const;  // its headers are complete
  // After kError: the status (400, 413, 431) and code to answer with.
  int error_status() const { return error_status_; }
  const std::string& error_code() const { return error_code_; }
  const std::string& error_message() const { return error_message_; }
  // After kDone: the request (method, path, query, body, authorization).
  HttpRequest take();
  bool keep_alive() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int error_status_ = 0;
  std::string error_code_;
  std::string error_message_;
};

}  // namespace nautilus::control
