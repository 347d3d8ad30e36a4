// The dashboard's web files (src/dashboard/web/), built into petreld by
// embed_assets.cmake: the page works without any file at run time and
// without any other host.
#pragma once

#include <cstddef>
#include <string_view>

namespace petrel::dashboard {

struct Asset {
  std::string_view name;          // path under web/: "index.html", "vendor/uPlot.iife.min.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

// The file of that name, or null.
inline const Asset* find_asset(std::string_view name) {
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    if (kAssets[i].name == name) return &kAssets[i];
  }
  return nullptr;
}

}  // namespace petrel::dashboard
