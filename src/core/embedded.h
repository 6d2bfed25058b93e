#pragma once
// Files embedded into the binary at build time by cmake/Embed.cmake.

#include <span>
#include <string_view>

namespace hookd {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedded folder, '/'-separated
  std::string_view data;
};

std::span<const EmbeddedFile> catalog_files();    // src/core/catalog/*.json
std::span<const EmbeddedFile> migration_files();  // src/store/<backend>/migrations/*.sql
std::span<const EmbeddedFile> api_files();        // src/api/*.json (openapi.json)
std::span<const EmbeddedFile> web_files();        // src/web/** (the admin panel: index.html, assets/…)

}  // namespace hookd
