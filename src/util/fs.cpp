#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace petrel::util {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

std::error_code make_one_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return {};
  const int error = errno;
  if (error != EEXIST) return {error, std::generic_category()};
  // EEXIST is fine only if what exists is a directory (or a link to one).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return last_error();
  if (!S_ISDIR(st.st_mode)) return std::make_error_code(std::errc::not_a_directory);
  return {};
}

}  // namespace

std::error_code make_directories(const std::string& path) {
  if (path.empty()) return std::make_error_code(std::errc::invalid_argument);
  // Try the whole path first: in the common case it exists already.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? std::error_code{} : std::make_error_code(std::errc::not_a_directory);
  }
  // Create each prefix ending before a '/', then the path itself.
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (path[slash - 1] == '/') continue;  // "a//b"
    if (auto ec = make_one_directory(path.substr(0, slash))) return ec;
  }
  if (path.back() == '/') return {};
  return make_one_directory(path);
}

std::error_code sync_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code result;
  if (::fsync(fd) != 0) result = last_error();
  ::close(fd);
  return result;
}

}  // namespace petrel::util
