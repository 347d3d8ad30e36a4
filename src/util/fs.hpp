// Small file-system helpers with error codes instead of exceptions.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace petrel::util {

// mkdir -p, mode 0700 for what it creates.
std::error_code make_directories(const std::string& path);

// fsync of a directory, so a rename or create in it is durable.
std::error_code sync_directory(const std::string& path);

}  // namespace petrel::util
