#include "util/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "util/fs.hpp"

namespace petrel::util {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

}  // namespace

RunAs lookup_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) throw std::runtime_error("no such user '" + name + "' (config [server] user)");
  return {name, entry.pw_uid, entry.pw_gid};
}

void give_tree_to(const std::string& path, const RunAs& user, const std::string& keep_owners) {
  if (auto ec = make_directories(path)) throw std::runtime_error("cannot create " + path + ": " + ec.message());
  if (lchown(path.c_str(), user.uid, user.gid) != 0) fail("cannot chown " + path);
  const auto keep = std::filesystem::path(keep_owners).lexically_normal();
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    // lchown: a symlink planted in a Maildir must not hand its target over.
    if (lchown(it->path().c_str(), user.uid, user.gid) != 0) fail("cannot chown " + it->path().string());
    if (!keep_owners.empty() && it->path().lexically_normal() == keep) it.disable_recursion_pending();
  }
  if (ec) throw std::runtime_error("cannot walk " + path + ": " + ec.message());
}

void drop_privileges(const RunAs& user) {
  if (setgroups(0, nullptr) != 0) fail("setgroups");
  if (setgid(user.gid) != 0) fail("setgid " + std::to_string(user.gid));
  if (setuid(user.uid) != 0) fail("setuid " + std::to_string(user.uid));
  if (user.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
    throw std::runtime_error("could regain root after switching to " + user.name);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace petrel::util
