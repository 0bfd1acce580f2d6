#include "terminal.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nautilus::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_resized = 0;

void on_stop_signal(int) { g_stop = 1; }
void on_winch(int) { g_resized = 1; }

void install(int sig, void (*handler)(int), struct sigaction& old) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupt the wait so the loop sees the flag at once
  sigaction(sig, &sa, &old);
}

constexpr std::string_view kEnter = "\033[?1049h\033[?25l";  // alternate screen, hide cursor
constexpr std::string_view kLeave = "\033[?25h\033[?1049l";  // show cursor, main screen

}  // namespace

std::optional<TerminalSize> terminal_size(int fd) {
  winsize ws{};
  if (isatty(fd) != 1 || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  return TerminalSize{ws.ws_col, ws.ws_row};
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

FullScreen::FullScreen() {
  // A background job must not touch the terminal's modes (SIGTTOU would stop it).
  if (isatty(STDIN_FILENO) == 1 && tcgetpgrp(STDIN_FILENO) == getpgrp() && tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));  // keep ISIG: Ctrl-C still raises SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    raw_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  write_all(STDOUT_FILENO, kEnter);
}

FullScreen::~FullScreen() {
  write_all(STDOUT_FILENO, kLeave);
  if (raw_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

char FullScreen::read_key() {
  if (!raw_) return 0;
  char buf[32];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n <= 0) return 0;
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] == 'q' || buf[i] == 'Q') return 'q';
  }
  return buf[0];
}

SignalFlags::SignalFlags() {
  g_stop = 0;
  g_resized = 0;
  install(SIGINT, on_stop_signal, old_int_);
  install(SIGTERM, on_stop_signal, old_term_);
  install(SIGHUP, on_stop_signal, old_hup_);
  install(SIGWINCH, on_winch, old_winch_);
  install(SIGPIPE, SIG_IGN, old_pipe_);  // a closed pipe is EPIPE from write_all, not death
}

SignalFlags::~SignalFlags() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGHUP, &old_hup_, nullptr);
  sigaction(SIGWINCH, &old_winch_, nullptr);
  sigaction(SIGPIPE, &old_pipe_, nullptr);
}

bool SignalFlags::stop_requested() const { return g_stop != 0; }

bool SignalFlags::take_resized() {
  if (g_resized == 0) return false;
  g_resized = 0;
  return true;
}

}  // namespace nautilus::cli
