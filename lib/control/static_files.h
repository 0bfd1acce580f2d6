// The dashboard's assets on the control listener: GET / (index.html) and
// GET /assets/<file> from a directory (scripts/build-web.sh writes it; `cmake
// --install` puts it in share/nautilus/web). Under /assets/ so that no
// single-segment route (/health, /metrics, /ws) can ever be shadowed. Public routes: the page holds no
// data, what it shows comes from the read routes and the WebSocket, which
// keep their own auth. Only plain file names are served (no '/', no leading
// '.', no directory listing); bundles whose names carry esbuild's content
// hash are cached for a year, index.html is revalidated every time.
#pragma once

#include <string>
#include <string_view>

#include "control/control_server.h"

namespace nautilus::control {

// The directory to serve: `configured` when set (a missing one is an error
// the caller reports), else the first of <exe>/../share/nautilus/web (an
// install) and a `web` directory in the executable's directory or one of its
// three parents (a build tree) that holds index.html; "" when none does.
std::string find_web_root(const std::string& configured);

// "text/html; charset=utf-8" for index.html, ... by extension;
// application/octet-stream when unknown.
std::string_view content_type_for(std::string_view file_name);

// True for a name that may be served: [A-Za-z0-9._-], not starting with '.',
// at most 128 characters. Everything else answers 404 before any file access.
bool is_servable_name(std::string_view file_name);

// True for "main-AB12CD34.js": esbuild's 8-character hash before the extension.
bool has_content_hash(std::string_view file_name);

// The response for `file_name` in directory `dir`: the file with its type, ETag and
// Cache-Control, or a 404 JSON error (no such file, not a regular file, bad
// name, or no root at all).
HttpResponse serve_static_file(const std::string& dir, std::string_view file_name);

// Registers GET /, /index.html and /assets/{file}. `root` may be "": the
// routes then answer 404 saying the dashboard is not installed.
void install_static_routes(ControlServer& server, const std::string& root);

}  // namespace nautilus::control
