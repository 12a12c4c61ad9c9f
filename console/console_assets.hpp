#pragma once
/// The web console's files (console/*.html, *.js, *.css), embedded in the binary at build
/// time (cmake/embed_assets.cmake): the broker serves them with no files on disk and nothing
/// fetched from elsewhere.

#include <optional>
#include <string_view>

namespace portask {

struct console_asset {
  std::string_view path;          ///< relative to console/, e.g. "app.js"
  std::string_view content_type;
  std::string_view body;
};

/// The asset at `path` (relative, e.g. "index.html"), or nothing.
std::optional<console_asset> find_console_asset(std::string_view path);

}  // namespace portask
