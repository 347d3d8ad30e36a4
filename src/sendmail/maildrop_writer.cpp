#include "sendmail/maildrop_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <random>

namespace petrel::sendmail {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// "<unix time>.<128 random bits in hex>": oldest first in a sorted
// listing, and not guessable by the other users (who cannot list the
// directory, mode 1733, but could try names).
std::string new_name() {
  std::random_device random;
  char name[64];
  std::snprintf(name, sizeof name, "%lld.%08x%08x%08x%08x", static_cast<long long>(std::time(nullptr)), random(),
                random(), random(), random());
  return name;
}

bool write_all(int fd, const std::string& data) {
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::error_code drop_message(const std::string& maildrop, const pickup::MaildropMessage& message, std::string& name,
                             std::string& what) {
  name = new_name();
  const std::string temporary = maildrop + "/.tmp." + name;
  const std::string final_path = maildrop + "/" + name;
  // 0644: petreld, another user, must read it; the directory (1733) keeps
  // others from listing it, the random name from guessing it.
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    what = "cannot create a file in the maildrop " + maildrop;
    return last_error();
  }
  ::fchmod(fd, 0644);  // whatever the umask
  const std::string data = pickup::encode_maildrop(message);
  if (!write_all(fd, data) || ::fsync(fd) != 0) {
    const auto ec = last_error();
    ::close(fd);
    ::unlink(temporary.c_str());
    what = "cannot write to the maildrop " + maildrop;
    return ec;
  }
  if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
    const auto ec = last_error();
    ::close(fd);
    ::unlink(temporary.c_str());
    what = "cannot rename a file in the maildrop " + maildrop;
    return ec;
  }
  // The rename must be on disk too. The directory is not readable by
  // others (no fsync on it then): sync the file system instead.
  const int dir = ::open(maildrop.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int synced = dir >= 0 ? ::fsync(dir) : ::syncfs(fd);
  const auto ec = synced == 0 ? std::error_code{} : last_error();
  if (dir >= 0) ::close(dir);
  ::close(fd);
  if (ec) what = "cannot sync the maildrop " + maildrop;
  return ec;
}

}  // namespace petrel::sendmail
