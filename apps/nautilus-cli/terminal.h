// The little terminal handling `nautilus top` needs without curses: the
// window size, whole-buffer writes, a full-screen session (alternate screen,
// hidden cursor, stdin without line buffering) that is always undone, and
// SIGINT/SIGTERM/SIGHUP/SIGWINCH turned into flags a loop can poll.
#pragma once

#include <termios.h>

#include <csignal>
#include <optional>
#include <string_view>

namespace nautilus::cli {

struct TerminalSize {
  int cols = 80;
  int rows = 24;
};
// The window size of the terminal on `fd`, if it is one.
std::optional<TerminalSize> terminal_size(int fd);

// Writes all of `text` with as few write(2) calls as the kernel allows (one
// for a terminal frame). False when the reader went away (EPIPE) or on error.
bool write_all(int fd, std::string_view text);

// While alive: the alternate screen with the cursor hidden, and stdin (when
// it is this process's controlling terminal) unbuffered and unechoed so a
// single key can be read. The destructor restores all of it, on every path
// out, exceptions included.
class FullScreen {
 public:
  FullScreen();
  ~FullScreen();
  FullScreen(const FullScreen&) = delete;
  FullScreen& operator=(const FullScreen&) = delete;

  bool keys() const { return raw_; }  // stdin delivers single keys
  // A key pressed since the last call, or 0. Never blocks.
  char read_key();

 private:
  bool raw_ = false;
  termios saved_{};
};

// Catches SIGINT, SIGTERM and SIGHUP (stop) and SIGWINCH (resized) while
// alive, without SA_RESTART so a blocking poll(2) wakes; restores the
// previous handlers on destruction. One instance at a time.
class SignalFlags {
 public:
  SignalFlags();
  ~SignalFlags();
  SignalFlags(const SignalFlags&) = delete;
  SignalFlags& operator=(const SignalFlags&) = delete;

  bool stop_requested() const;
  bool take_resized();  // true once per SIGWINCH burst

 private:
  struct sigaction old_int_{}, old_term_{}, old_hup_{}, old_winch_{}, old_pipe_{};
};

}  // namespace nautilus::cli
