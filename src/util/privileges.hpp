// Running as an unprivileged user: started as root, petreld binds its ports
// (below 1024) and reads its keys, then becomes the configured user for the
// rest of its life.
#pragma once

#include <string>
#include <sys/types.h>

namespace petrel::util {

struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks the user up; throws std::runtime_error naming it when it does not exist.
RunAs lookup_user(const std::string& name);

// Makes `path` (created if missing) and everything under it owned by the
// user, so the spool and Maildirs stay writable after the switch. Throws
// std::runtime_error naming the path.
// `keep_owners`: a directory under `path` that is given to the user itself
// but whose contents are not (the maildrop: a file's owner there says which
// local user dropped it).
void give_tree_to(const std::string& path, const RunAs& user, const std::string& keep_owners = "");

// setgroups/setgid/setuid to the user, then checks root cannot be regained
// and forbids gaining privileges through exec (no_new_privs). All
// capabilities go with uid 0. Throws std::runtime_error on any failure.
void drop_privileges(const RunAs& user);

}  // namespace petrel::util
