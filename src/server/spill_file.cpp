#include "server/spill_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <utility>

#include <fmt/format.h>

namespace petrel::server {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// Unique among the files of this process and of earlier ones (the
// directory is emptied at start, but a name must never be reused while a
// file of that name could still be in it).
std::string unique_name() {
  static std::atomic<std::uint64_t> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("{}.{}.{}", std::chrono::duration_cast<std::chrono::microseconds>(now).count(), ::getpid(),
                     counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

SpillFile::~SpillFile() { close_and_delete(); }

std::error_code SpillFile::open() {
  path_ = directory_ + "/" + unique_name();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ >= 0) return {};
  const auto ec = last_error();
  path_.clear();
  return ec;
}

std::error_code SpillFile::append(std::string_view bytes, bool fresh) {
  if (fd_ >= 0 && fresh) {
    // The last message that spilled here was not stored: start over.
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return last_error();
  }
  if (fd_ < 0) {
    if (auto ec = open()) return ec;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error();
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string SpillFile::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return std::exchange(path_, std::string());
}

void SpillFile::close_and_delete() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
  fd_ = -1;
  path_.clear();
}

}  // namespace petrel::server
