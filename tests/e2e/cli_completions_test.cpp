// The shell completions in completions/ (bash, zsh, fish): each file parses,
// completes a few words, offers every option `nautilus <command> --help`
// lists for every command, and completes engine names from a running daemon
// (and nothing, silently, without one). zsh and fish come from
// scripts/install-deps.sh; under CI (CI=true) a missing shell fails the test.
#include "e2e/cli_e2e_support.h"

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <vector>

using namespace nautilus::e2e;

namespace {

const std::string kCompletions = kSource + "/completions";
const std::string kZshDriver = kSource + "/tests/e2e/data/zsh_complete.zsh";

bool have(const std::string& shell) { return std::system(("command -v " + shell + " >/dev/null 2>&1").c_str()) == 0; }

// True to go on with `shell`; a missing shell fails under CI, warns elsewhere.
bool shell_available(const std::string& shell) {
  if (have(shell)) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    FAIL_CHECK(shell << " is not installed (scripts/install-deps.sh installs it)");
  } else {
    WARN(shell << " is not installed: its completion is not checked (scripts/install-deps.sh installs it)");
  }
  return false;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The environment every shell runs in: the built CLI first on PATH, and the
// daemon (if any) found through NAUTILUS_STATE_DIR.
std::string env_prefix(const std::string& state_dir) {
  return "env -u NAUTILUS_URL PATH=" + kBin + "/apps/nautilus-cli:$PATH NAUTILUS_STATE_DIR=" + state_dir + " ";
}

// The words each shell offers for `line` (the last word is the one completed;
// a line ending in a space completes an empty word).
std::set<std::string> complete_bash(const std::string& line, const std::string& dir, const std::string& state_dir) {
  std::vector<std::string> words = split_words(line);
  if (line.empty() || line.back() == ' ') words.push_back("");
  std::string array;
  for (const auto& w : words) array += quote(w) + " ";
  std::string script = "source " + kCompletions + "/nautilus.bash; COMP_WORDS=(" + array + "); COMP_CWORD=" +
                       std::to_string(words.size() - 1) + "; _nautilus; printf '%s\\n' \"${COMPREPLY[@]}\"";
  auto r = run(env_prefix(state_dir) + "bash --norc --noprofile -c " + quote(script), dir);
  INFO("bash: " << line << ": " << r.err);
  CHECK(r.rc == 0);
  CHECK(r.err.empty());
  std::set<std::string> out;
  for (const auto& w : split_words(r.out)) out.insert(w);
  return out;
}

std::set<std::string> complete_fish(const std::string& line, const std::string& dir, const std::string& state_dir) {
  std::string script = "source " + kCompletions + "/nautilus.fish; complete -C" + quote(line);
  auto r = run(env_prefix(state_dir) + "fish --no-config -c " + quote(script), dir);
  INFO("fish: " << line << ": " << r.err);
  CHECK(r.rc == 0);
  CHECK(r.err.empty());
  std::set<std::string> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) out.insert(l.substr(0, l.find('\t')));
  return out;
}

std::set<std::string> complete_zsh(const std::string& line, const std::string& dir, const std::string& state_dir) {
  std::string out_file = dir + "/zsh-matches";
  auto r = run(env_prefix(state_dir) + "zsh -f " + kZshDriver + " " + kCompletions + " " + out_file + " " + quote(line), dir);
  INFO("zsh: " << line << ": " << r.err);
  CHECK(r.rc == 0);
  std::set<std::string> out;
  for (const auto& w : split_words(slurp(out_file))) {
    if (w != "DONE") out.insert(w);
  }
  return out;
}

using Completer = std::set<std::string> (*)(const std::string&, const std::string&, const std::string&);

// Every command path (leaf or not) with the long options its --help lists.
std::map<std::string, std::set<std::string>> cli_options(const std::string& dir) {
  std::map<std::string, std::set<std::string>> out;
  std::vector<std::string> todo{""};
  const std::regex option_line(R"(^  (-\w,)?(--[\w-]+)(,(--[\w-]+))?)");
  while (!todo.empty()) {
    std::string path = todo.back();
    todo.pop_back();
    auto r = run(kCli + " " + path + " --help", dir);
    REQUIRE(r.rc == 0);
    std::istringstream in(r.out);
    bool subcommands = false;
    std::set<std::string> options;
    for (std::string l; std::getline(in, l);) {
      if (l.starts_with("Subcommands:")) {
        subcommands = true;
        continue;
      }
      if (subcommands && l.starts_with("  ") && !l.starts_with("   ")) {
        std::string name = split_words(l).at(0);
        todo.push_back(path.empty() ? name : path + " " + name);
        continue;
      }
      std::smatch m;
      if (std::regex_search(l, m, option_line)) {
        for (int g : {2, 4}) {
          if (m[g].matched && m[g] != "--help") options.insert(m[g]);
        }
      }
    }
    out[path] = options;
  }
  return out;
}

}  // namespace

TEST_CASE("e2e completions: bash, zsh and fish parse, complete words, and cover every option of every command") {
  std::string dir = temp_dir();
  std::string no_daemon = dir + "/no-daemon";
  std::filesystem::create_directories(no_daemon);
  REQUIRE(run("bash -n " + kCompletions + "/nautilus.bash", dir).rc == 0);
  std::vector<std::pair<std::string, Completer>> shells{{"bash", complete_bash}};
  if (shell_available("zsh")) {
    CHECK(run("zsh -n " + kCompletions + "/_nautilus", dir).rc == 0);
    shells.emplace_back("zsh", complete_zsh);
  }
  if (shell_available("fish")) {
    CHECK(run("fish --no-config -n " + kCompletions + "/nautilus.fish", dir).rc == 0);
    shells.emplace_back("fish", complete_fish);
  }
  auto options = cli_options(dir);
  REQUIRE(options.count("bus publish") == 1);
  REQUIRE(options["bus publish"].count("--priority") == 1);

  struct Word {
    std::string line;
    std::set<std::string> expected;
  };
  const std::vector<Word> words{
      {"nautilus eng", {"engine"}},
      {"nautilus ", {"status", "engine", "bus", "data", "risk", "bench", "top"}},
      {"nautilus engine ", {"list", "status", "start", "stop", "restart", "command"}},
      {"nautilus risk ", {"check", "state", "halt", "resume"}},
      {"nautilus bus publish --priority ", {"flash_crash", "urgent", "critical", "high", "normal", "low"}},
      {"nautilus bus subscribe ", {"marketdata", "engine"}},
      {"nautilus --url http://x:1 bus ", {"publish", "subscribe"}},
      {"nautilus top --sort p9", {"p90", "p99", "p999"}},
  };
  for (const auto& [shell, complete] : shells) {
    for (const auto& w : words) {
      auto got = complete(w.line, dir, no_daemon);
      for (const auto& e : w.expected) {
        INFO(shell << ": '" << w.line << "' should offer " << e);
        CHECK(got.count(e) == 1);
      }
    }
    for (const auto& [path, opts] : options) {
      if (opts.empty()) continue;
      auto got = complete("nautilus " + path + (path.empty() ? "" : " ") + "--", dir, no_daemon);
      for (const auto& o : opts) {
        INFO(shell << ": 'nautilus " << path << " --' should offer " << o);
        CHECK(got.count(o) == 1);
      }
    }
  }

  // Engine names come from the running daemon; without one, nothing is
  // offered and nothing is printed (the helpers above check stderr is empty).
  for (const auto& [shell, complete] : shells) {
    INFO(shell);
    CHECK(complete("nautilus engine status ", dir, no_daemon).empty());
  }
  Daemon d;
  for (const auto& [shell, complete] : shells) {
    for (const std::string line : {"nautilus engine status ", "nautilus engine restart h", "nautilus risk halt --engine "}) {
      // The helper gives up after a second; a loaded test machine may need
      // a second try (a shell user would press tab again).
      std::string expected = line.ends_with("--engine ") ? "risk" : "heartbeat";
      INFO(shell << ": " << line);
      CHECK(eventually([&] { return complete(line, dir, d.dir).count(expected) == 1; }));
    }
  }
  std::filesystem::remove_all(dir);
}
