// Status: the error value of the data plane (publish, deliver, decode), where
// exceptions are not used. An OK status carries no message and never allocates.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace nautilus {

enum class StatusCode : unsigned char {
  kOk,
  kInvalidArgument,  // the caller's input is malformed (bad field, bad topic)
  kNotFound,
  kQueueFull,        // a bounded queue or buffer refused the message
  kClosed,           // the bus or subscription is shut down
  kUnavailable,      // a backend (Redis) is unreachable
  kTimeout,
};

std::string_view to_string(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "queue_full: subscriber 'risk' lane urgent is full"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace nautilus
