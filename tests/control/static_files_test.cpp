// The dashboard's static files (control/static_files.h): names, types, cache
// headers, and the routes on a real ControlServer's dispatch: what is served,
// and that nothing outside the directory, no directory and no listing is.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "control/static_files.h"

using namespace nautilus::control;

namespace {

struct WebDir {
  std::string root;
  WebDir() {
    char tmpl[] = "/tmp/nautilus-web-XXXXXX";
    root = mkdtemp(tmpl);
    std::filesystem::create_directories(root + "/assets/nested");
    write("index.html", "<!doctype html><title>t</title>");
    write("assets/main-AB12CD34.js", "console.log(1)");
    write("assets/main-AB12CD34.css", "body{}");
    write("assets/notes.txt", "plain");
    write("secret.txt", "outside assets");
  }
  ~WebDir() { std::filesystem::remove_all(root); }
  void write(const std::string& rel, const std::string& body) const { std::ofstream(root + "/" + rel) << body; }
};

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

HttpResponse get(ControlServer& server, const std::string& path) {
  HttpRequest req;
  req.method = "GET";
  req.path = path;
  bool is_stream = false;
  StreamHandler stream;
  return server.dispatch(req, is_stream, stream);
}

}  // namespace

TEST_CASE("static files: content type by extension") {
  struct Case {
    const char* name;
    const char* type;
  };
  const Case cases[] = {
      {"index.html", "text/html; charset=utf-8"},     {"main-AB12CD34.js", "text/javascript; charset=utf-8"},
      {"main-AB12CD34.css", "text/css; charset=utf-8"}, {"icon.svg", "image/svg+xml"},
      {"shot.png", "image/png"},                        {"data.json", "application/json"},
      {"font.woff2", "font/woff2"},                     {"archive.tar.gz", "application/octet-stream"},
      {"README", "application/octet-stream"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(content_type_for(c.name) == c.type);
  }
}

TEST_CASE("static files: only plain names may be served") {
  struct Case {
    const char* name;
    bool servable;
  };
  const Case cases[] = {
      {"main-AB12CD34.js", true}, {"index.html", true},     {"a_b.c-d", true},
      {"", false},                {".env", false},          {"..", false},
      {"../token", false},        {"a/b.js", false},        {"a\\b.js", false},
      {"a b.js", false},          {"%2e%2e", false},        {"x\n.js", false},
  };
  for (const auto& c : cases) {
    INFO("'" << c.name << "'");
    CHECK(is_servable_name(c.name) == c.servable);
  }
  CHECK(is_servable_name(std::string(128, 'a')));
  CHECK_FALSE(is_servable_name(std::string(129, 'a')));
  CHECK_FALSE(is_servable_name(std::string("a\0b", 3)));
}

TEST_CASE("static files: esbuild's content hash marks a bundle immutable") {
  struct Case {
    const char* name;
    bool hashed;
  };
  const Case cases[] = {
      {"main-AB12CD34.js", true}, {"main-5SK5YP7K.css", true}, {"chunk-ZZZZZZZZ.js", true},
      {"index.html", false},      {"main.js", false},          {"main-ab12cd34.js", false},  // esbuild's are upper case
      {"main-AB12CD3.js", false}, {"mainAB12CD34.js", false},  {"-AB12CD34.js", false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(has_content_hash(c.name) == c.hashed);
  }
}

TEST_CASE("static files: a file with its type, ETag and cache policy") {
  WebDir web;
  HttpResponse js = serve_static_file(web.root + "/assets", "main-AB12CD34.js");
  CHECK(js.status == 200);
  CHECK(js.body == "console.log(1)");
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(header(js, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(header(js, "X-Content-Type-Options") == "nosniff");
  CHECK(header(js, "Content-Security-Policy").empty());
  const std::string etag = header(js, "ETag");
  CHECK(etag.size() > 2);
  CHECK(etag.front() == '"');

  // The ETag follows the content: a rewrite of another length changes it.
  web.write("assets/main-AB12CD34.js", "console.log('changed')");
  CHECK(header(serve_static_file(web.root + "/assets", "main-AB12CD34.js"), "ETag") != etag);

  HttpResponse index = serve_static_file(web.root, "index.html");
  CHECK(index.status == 200);
  CHECK(header(index, "Cache-Control") == "no-cache");
  CHECK(header(index, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
}

TEST_CASE("static files: routes serve the page and assets, and nothing else") {
  WebDir web;
  ServerOptions options;  // no token, no authenticator: dispatch checks nothing
  ControlServer server(options);
  install_static_routes(server, web.root);

  struct Case {
    const char* path;
    int status;
    const char* body;  // "" = not checked
  };
  const Case cases[] = {
      {"/", 200, "<!doctype html><title>t</title>"},
      {"/index.html", 200, "<!doctype html><title>t</title>"},
      {"/assets/main-AB12CD34.css", 200, "body{}"},
      {"/assets/notes.txt", 200, "plain"},
      {"/assets/missing.js", 404, ""},
      {"/assets/nested", 404, ""},                // a directory: neither listed nor read
      {"/assets/", 404, ""},                      // no listing of assets/
      {"/assets/..%2Fsecret.txt", 404, ""},       // decoded to ../secret.txt: refused by name
      {"/assets/%2E%2E%2Fsecret.txt", 404, ""},
      {"/assets/.%2Findex.html", 404, ""},
      {"/assets/nested/x.js", 404, ""},           // one segment only
      {"/secret.txt", 404, ""},                   // only index.html at the top
  };
  for (const auto& c : cases) {
    INFO(c.path);
    HttpResponse r = get(server, c.path);
    CHECK(r.status == c.status);
    if (*c.body) CHECK(r.body == c.body);
    if (r.status == 404) {
      CHECK(r.content_type == "application/json");
      auto j = nlohmann::json::parse(r.body);
      CHECK(j["error"]["code"] == "not_found");
      CHECK(r.body.find("outside assets") == std::string::npos);
    }
  }
}

TEST_CASE("static files: without a built dashboard the page says how to get one") {
  ServerOptions options;
  ControlServer server(options);
  install_static_routes(server, "");
  for (const char* path : {"/", "/assets/main-AB12CD34.js"}) {
    INFO(path);
    HttpResponse r = get(server, path);
    CHECK(r.status == 404);
    CHECK(nlohmann::json::parse(r.body)["error"]["message"].get<std::string>().find("build-web.sh") != std::string::npos);
  }
}

TEST_CASE("static files: the web root is the configured one, else one holding index.html near the binary") {
  CHECK(find_web_root("/srv/dash") == "/srv/dash");
  // The test binary lives in <build>/tests; the build writes <build>/web.
  std::string found = find_web_root("");
  if (!found.empty()) {
    CHECK(std::filesystem::is_regular_file(found + "/index.html"));
  } else {
    // No build of web/ beside this binary (NAUTILUS_WEB=OFF): nothing invented.
    CHECK_FALSE(std::filesystem::exists(std::string(NAUTILUS_BINARY_DIR) + "/web/index.html"));
  }
}
