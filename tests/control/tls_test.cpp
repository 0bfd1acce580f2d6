// TLS on the control API (control/transport.h): a self-signed certificate
// made by the test with the openssl CLI, verified by libcurl as a client; a
// plain-HTTP client to the TLS listener gets no HTTP answer; a non-loopback
// listener without TLS is refused unless allowed.
#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <cstdlib>

#include "auth_fixture.h"
#include "control/control_client.h"

using namespace nautilus;
using namespace nautilus::control;
using namespace nautilus::control::testing;

namespace {

struct CurlAnswer {
  long status = 0;
  std::string body;
  std::string error;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

CurlAnswer https_get(const std::string& url, const std::string& ca_file, const std::string& token) {
  CurlAnswer a;
  CURL* curl = curl_easy_init();
  REQUIRE(curl);
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());  // verify against the test's own certificate
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  a.error = err;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return a;
}

}  // namespace

TEST_CASE("tls: a TLS listener serves HTTPS with a self-signed certificate; plain HTTP to it is refused") {
  char tmpl[] = "/tmp/nautilus-tls-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  const std::string make = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                           "-subj /CN=nautilus-test -addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" +
                           cert + "' >/dev/null 2>&1";
  REQUIRE(std::system(make.c_str()) == 0);

  AuthServer s;  // the routes, authenticator and clock; its own listeners stay plain
  // Loopback is plain unless TLS is asked for: the test asks, as a
  // non-loopback listener gets it.
  ServerOptions so;
  so.auth = s.auth;
  so.clock = &s.clock;
  so.tls_cert_file = cert;
  so.tls_key_file = key;
  ControlServer server(so);
  Endpoint ep = server.listen(parse_endpoint("127.0.0.1:0"), true);
  install_api_routes(server, *s.ctx);
  server.start();
  const std::string https = "https://127.0.0.1:" + std::to_string(ep.port);

  CurlAnswer health = https_get(https + "/health", cert, "");
  INFO(health.error);
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains("\"status\""));
  CHECK(https_get(https + "/api/v1/tokens", cert, kAdminToken).status == 200);
  CHECK(https_get(https + "/api/v1/tokens", cert, s.token(Role::kViewer)).status == 403);
  // A client that does not trust the certificate does not get through.
  CHECK(https_get(https + "/health", "/dev/null", "").status == 0);
  // The CLI's client speaks https:// too, trusting NAUTILUS_CA_FILE.
  ::unsetenv("NAUTILUS_CA_FILE");
  CHECK_THROWS_WITH(ControlClient(https, kAdminToken).get("/api/v1/status"), Catch::Contains("certificate not trusted"));
  ::setenv("NAUTILUS_CA_FILE", cert.c_str(), 1);
  CHECK(ControlClient(https, kAdminToken).get("/api/v1/status").body.contains("engines"));
  CHECK(ControlClient(https, kAdminToken).request("GET", "/api/v1/tokens", nullptr).status == 200);
  // The certificate names 127.0.0.1 (and CN nautilus-test), not localhost: the
  // name is checked, not just the chain.
  CHECK_THROWS_WITH(ControlClient("https://localhost:" + std::to_string(ep.port), kAdminToken).get("/health"),
                    Catch::Contains("certificate not trusted"));
  ::unsetenv("NAUTILUS_CA_FILE");
  // Plain HTTP to the TLS port: the handshake fails, no HTTP answer.
  RawResponse plain = raw_request("http://127.0.0.1:" + std::to_string(ep.port), "GET", "/health");
  CHECK(plain.status == 0);
  server.stop(std::chrono::milliseconds(2000));
  std::string rm = "rm -rf '" + dir + "'";
  (void)!std::system(rm.c_str());
}

TEST_CASE("tls: a listener off loopback without TLS is refused unless --insecure-listen") {
  ServerOptions so;
  so.token = kAdminToken;
  ControlServer refused(so);
  CHECK_THROWS_WITH(refused.listen(parse_endpoint("0.0.0.0:0")), Catch::Contains("without TLS") &&
                                                                     Catch::Contains("--insecure-listen"));
  CHECK_THROWS_WITH(refused.listen(parse_endpoint("127.0.0.1:0"), true), Catch::Contains("no certificate"));
  so.allow_insecure_listen = true;
  ControlServer allowed(so);
  CHECK_FALSE(allowed.listen(parse_endpoint("0.0.0.0:0")).is_loopback());
  so.tls_cert_file = "/nonexistent/cert.pem";
  so.tls_key_file = "/nonexistent/key.pem";
  ControlServer bad_cert(so);
  CHECK_THROWS_WITH(bad_cert.listen(parse_endpoint("0.0.0.0:0")), Catch::Contains("/nonexistent/cert.pem"));
}
