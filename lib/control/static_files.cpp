#include "control/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <utility>

namespace nautilus::control {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kHashLength = 8;  // esbuild's [hash] in entryNames/assetNames
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kRevalidate = "no-cache";
// The page loads only its own bundles and talks only to its own origin (the
// REST routes and the WebSocket); the inline allowance is for styles set by
// uPlot and preact through the DOM, never for scripts.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

struct TypeByExtension {
  std::string_view extension;
  std::string_view type;
};
constexpr std::array kTypes = {
    TypeByExtension{".html", "text/html; charset=utf-8"},
    TypeByExtension{".js", "text/javascript; charset=utf-8"},
    TypeByExtension{".mjs", "text/javascript; charset=utf-8"},
    TypeByExtension{".css", "text/css; charset=utf-8"},
    TypeByExtension{".json", "application/json"},
    TypeByExtension{".map", "application/json"},
    TypeByExtension{".svg", "image/svg+xml"},
    TypeByExtension{".png", "image/png"},
    TypeByExtension{".ico", "image/x-icon"},
    TypeByExtension{".woff2", "font/woff2"},
    TypeByExtension{".txt", "text/plain; charset=utf-8"},
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

HttpResponse not_found(std::string_view what) { return HttpResponse::error(404, "not_found", what); }

// The first ancestor-or-self of `start` (up to `levels` parents) holding
// `relative`/index.html.
std::string search_upwards(fs::path start, const fs::path& relative, int levels) {
  std::error_code ec;
  for (int i = 0; i <= levels && !start.empty(); ++i) {
    fs::path candidate = start / relative;
    if (fs::is_regular_file(candidate / "index.html", ec)) return candidate.lexically_normal().string();
    if (start == start.parent_path()) break;
    start = start.parent_path();
  }
  return {};
}

}  // namespace

std::string find_web_root(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path dir = exe.parent_path();
  if (auto installed = search_upwards(dir.parent_path(), "share/nautilus/web", 0); !installed.empty()) return installed;
  return search_upwards(dir, "web", 3);
}

std::string_view content_type_for(std::string_view file_name) {
  for (const auto& t : kTypes) {
    if (ends_with(file_name, t.extension)) return t.type;
  }
  return "application/octet-stream";
}

bool is_servable_name(std::string_view file_name) {
  if (file_name.empty() || file_name.size() > kMaxNameLength || file_name.front() == '.') return false;
  for (char c : file_name) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool has_content_hash(std::string_view file_name) {
  auto dot = file_name.find('.');
  if (dot == std::string_view::npos || dot < kHashLength + 2) return false;
  std::string_view stem = file_name.substr(0, dot);
  if (stem[stem.size() - kHashLength - 1] != '-') return false;
  for (char c : stem.substr(stem.size() - kHashLength)) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isdigit(u) && !std::isupper(u)) return false;
  }
  return true;
}

HttpResponse serve_static_file(const std::string& dir, std::string_view file_name) {
  if (dir.empty()) {
    return not_found("the dashboard is not installed: build it (scripts/build-web.sh) or set [control] web_root");
  }
  if (!is_servable_name(file_name)) return not_found("no such file");
  std::string path = dir + "/" + std::string(file_name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return not_found("no such file");
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  // A directory (or a fifo, a device) is never listed or read.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return not_found("no such file");
  std::string body(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < body.size()) {
    ssize_t n = ::read(fd, body.data() + got, body.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  body.resize(got);

  HttpResponse r;
  r.status = 200;
  r.content_type = std::string(content_type_for(file_name));
  r.body = std::move(body);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1'000'000'000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", has_content_hash(file_name) ? kImmutable : kRevalidate);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (ends_with(file_name, ".html")) r.headers.emplace_back("Content-Security-Policy", kPagePolicy);
  return r;
}

void install_static_routes(ControlServer& server, const std::string& root) {
  RouteOptions pub;
  pub.public_route = true;
  auto index = [root](const HttpRequest&) { return serve_static_file(root, "index.html"); };
  server.add_route("GET", "/", index, pub);
  server.add_route("GET", "/index.html", index, pub);
  std::string assets = root.empty() ? std::string() : root + "/assets";
  server.add_route("GET", "/assets/{file}",
                   [assets](const HttpRequest& req) { return serve_static_file(assets, req.params.at("file")); }, pub);
}

}  // namespace nautilus::control
