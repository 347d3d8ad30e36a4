// petreld's pickup of the maildrop (docs/petrel-sendmail.md): the files
// petrel-sendmail leaves, read at start, whenever one is renamed into the
// directory (inotify) and every scan_interval, each checked, stored in the
// spool like locally submitted mail, handed to the queue, then deleted.
// A file that is not a valid maildrop file is moved aside, with a log line.
// Runs on a thread of its own; the spool and the queue are thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pickup/maildrop_format.hpp"

namespace petrel::spool {
class Spool;
}
namespace petrel::queue {
class QueueManager;
}

namespace petrel::pickup {

struct PickupOptions {
  std::string maildrop;     // the directory (mode 1733)
  std::string corrupt_dir;  // where bad files go (mode 0700)
  std::string hostname;     // for the Received: field
  MaildropLimits limits;
  SenderRule senders = SenderRule::any;
  std::vector<std::string> sender_domains;  // for SenderRule::own
  uid_t daemon_uid = 0;                     // petreld's own user (may use any sender)
  std::chrono::milliseconds scan_interval{std::chrono::seconds(60)};
  std::chrono::seconds stale_temporary{std::chrono::hours(24)};  // abandoned ".tmp" files are removed after this
};

// Creates the maildrop (mode 1733: anyone may add a file, only its owner
// and petreld may remove it, nobody else may list it) and the directory for
// bad files (0700), owned by uid/gid when given (started as root). Throws
// std::runtime_error naming the path when a path is not a directory or
// cannot be made so.
void prepare_maildrop(const PickupOptions& options, const uid_t* owner, const gid_t* group);

class Pickup {
 public:
  Pickup(PickupOptions options, spool::Spool& spool, queue::QueueManager& queue);
  ~Pickup();  // stops the thread
  Pickup(const Pickup&) = delete;
  Pickup& operator=(const Pickup&) = delete;

  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::pickup
