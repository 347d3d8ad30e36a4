// The page's files (src/catch_web/web/), built in by
// src/dashboard/embed_assets.cmake: nothing is read at run time, nothing
// comes from another host.
#pragma once

#include <cstddef>
#include <string_view>

namespace petrel::catchweb {

struct Asset {
  std::string_view name;          // "index.html", "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

inline const Asset* find_asset(std::string_view name) {
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    if (kAssets[i].name == name) return &kAssets[i];
  }
  return nullptr;
}

}  // namespace petrel::catchweb
