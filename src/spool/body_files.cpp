#include "spool/body_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "spool/spooled_message.hpp"
#include "util/fs.hpp"

namespace petrel::spool {
namespace {

constexpr std::size_t kPiece = 64 * 1024;

std::error_code last_error() { return {errno, std::generic_category()}; }

std::error_code sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code ec;
  if (::fsync(fd) != 0) ec = last_error();
  ::close(fd);
  return ec;
}

std::string make_directory(const std::string& path) {
  if (const auto ec = util::make_directories(path)) {
    throw std::runtime_error("cannot create the spool directory " + path + ": " + ec.message());
  }
  return path;
}

}  // namespace

BodyFiles::BodyFiles(const std::string& spool_directory)
    : incoming_(make_directory(spool_directory + "/incoming")), bodies_(make_directory(spool_directory + "/bodies")) {}

std::string BodyFiles::path(const QueueId& id) const { return bodies_ + "/" + id.value; }

std::error_code BodyFiles::adopt(const std::vector<const SpooledMessage*>& messages) const {
  bool any = false;
  for (const SpooledMessage* m : messages) {
    if (m->spill_file.empty()) continue;
    if (auto ec = sync_file(m->spill_file)) return ec;
    if (::rename(m->spill_file.c_str(), path(m->id).c_str()) != 0) return last_error();
    any = true;
  }
  return any ? util::sync_directory(bodies_) : std::error_code{};
}

void BodyFiles::discard(const std::vector<const SpooledMessage*>& messages) const {
  for (const SpooledMessage* m : messages) {
    if (!m->spill_file.empty()) ::unlink(path(m->id).c_str());
  }
}

std::error_code BodyFiles::append(const QueueId& id, std::string& out) const {
  const int fd = ::open(path(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? std::error_code{} : last_error();
  std::error_code ec;
  struct stat st {};
  if (::fstat(fd, &st) == 0) out.reserve(out.size() + static_cast<std::size_t>(st.st_size));
  std::array<char, kPiece> buffer;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ec = last_error();
    if (n <= 0) break;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return ec;
}

void BodyFiles::remove(const std::vector<QueueId>& ids) const {
  for (const QueueId& id : ids) {
    if (::unlink(path(id).c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("spool: cannot delete {}: {}", path(id), last_error().message());
    }
  }
}

void BodyFiles::sweep(const std::function<bool(const QueueId&)>& has_message) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::size_t swept = 0;
  for (const auto& entry : fs::directory_iterator(incoming_, ec)) {
    if (fs::remove(entry.path(), ec)) ++swept;
  }
  for (const auto& entry : fs::directory_iterator(bodies_, ec)) {
    const QueueId id{entry.path().filename().string()};
    if (!has_message(id) && fs::remove(entry.path(), ec)) ++swept;
  }
  if (swept > 0) spdlog::info("spool: deleted {} partial message file(s) left by a stop", swept);
}

void read_pieces(const std::string& path, const std::function<void(std::string_view)>& piece) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(last_error(), "cannot open " + path);
  std::array<char, kPiece> buffer;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto ec = last_error();
      ::close(fd);
      throw std::system_error(ec, "cannot read " + path);
    }
    if (n == 0) break;
    try {
      piece(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  ::close(fd);
}

}  // namespace petrel::spool
