// [control] web_root as an operator meets it: --check-config refuses a
// relative directory or one without index.html (file:line: key: reason), and a
// daemon started with a valid one serves that directory's page at / and its
// bundles under /assets/.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/daemon_process.h"

using namespace nautilus::test;

namespace {

// One GET over a fresh connection ("Connection: close"): the raw answer.
std::string http_get(const std::string& url, const std::string& path) {
  const std::string host_port = url.substr(url.find("//") + 2);
  const int port = std::stoi(host_port.substr(host_port.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace

TEST_CASE("e2e dashboard: [control] web_root is checked, then served at / and /assets/") {
  const std::string dir = make_temp_dir();
  const std::string empty_dir = dir + "/empty";
  std::filesystem::create_directories(empty_dir);
  struct Bad {
    std::string value;
  };
  for (const auto& bad : {Bad{"relative/web"}, Bad{empty_dir}}) {
    INFO(bad.value);
    const std::string file = dir + "/bad.toml";
    std::ofstream(file) << "[control]\nweb_root = \"" << bad.value << "\"\n";
    auto r = run_command(kDaemonBinary + " --check-config --config " + file, dir);
    CHECK(r.rc == 2);
    CHECK_THAT(r.err, Catch::Contains(file + ":2: control.web_root: must be an absolute directory holding index.html"));
  }

  const std::string web = dir + "/web";
  std::filesystem::create_directories(web + "/assets");
  std::ofstream(web + "/index.html") << "<!doctype html><title>operator's own page</title>";
  std::ofstream(web + "/assets/app-ABCDEFGH.js") << "export const served = true;";
  DaemonProcess daemon("[control]\nweb_root = \"" + web + "\"\n");

  const std::string page = http_get(daemon.url, "/");
  CHECK_THAT(page, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(page, Catch::Contains("Content-Type: text/html; charset=utf-8"));
  CHECK_THAT(page, Catch::Contains("operator's own page"));
  const std::string bundle = http_get(daemon.url, "/assets/app-ABCDEFGH.js");
  CHECK_THAT(bundle, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(bundle, Catch::Contains("Cache-Control: public, max-age=31536000, immutable"));
  CHECK_THAT(bundle, Catch::Contains("export const served = true;"));
  CHECK_THAT(http_get(daemon.url, "/assets/..%2Findex.html"), Catch::StartsWith("HTTP/1.1 404"));
  // The API is untouched by the page's routes.
  CHECK_THAT(http_get(daemon.url, "/health"), Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(daemon.log(), Catch::Contains("dashboard served from " + web));
  std::filesystem::remove_all(dir);
}
