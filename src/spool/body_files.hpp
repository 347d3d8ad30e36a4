// The content of big messages past their head, in files beside the
// database. A session spills such a message into incoming/ as it arrives
// (limits.body_in_memory); the spool makes that file durable under the
// message's queue ID in bodies/ before the commit that acknowledges it,
// and deletes it with the message. So no message is ever held whole in
// memory on its way in, and RocksDB never carries megabyte values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "spool/queue_id.hpp"

namespace petrel::spool {

struct SpooledMessage;

class BodyFiles {
 public:
  // Creates DIR/incoming and DIR/bodies (mode 0700). Throws
  // std::runtime_error naming the directory when it cannot.
  explicit BodyFiles(const std::string& spool_directory);

  // Where sessions create their spill files.
  const std::string& incoming() const { return incoming_; }
  // The file holding the content of `id` past its head.
  std::string path(const QueueId& id) const;

  // Each spilled message's file synced and renamed to path(id), then the
  // directory synced once: after this they survive a crash. Messages
  // without a spill file are skipped.
  std::error_code adopt(const std::vector<const SpooledMessage*>& messages) const;
  // Undoes adopt() after the commit failed: the files are deleted (the
  // client was not told 250 and will send the message again).
  void discard(const std::vector<const SpooledMessage*>& messages) const;

  // Appends the file of `id` to `out`; a message without one adds nothing.
  std::error_code append(const QueueId& id, std::string& out) const;
  // Deletes the files of messages that have left the spool.
  void remove(const std::vector<QueueId>& ids) const;
  // At start: deletes what a crash left behind, every file in incoming/
  // and each file in bodies/ whose message the spool does not have.
  void sweep(const std::function<bool(const QueueId&)>& has_message) const;

 private:
  std::string incoming_;
  std::string bodies_;
};

// Reads the file at `path` in pieces of at most 64 KiB and hands each to
// `piece`; for checks (DKIM) over a body that is not in memory. Throws
// std::system_error when it cannot be read.
void read_pieces(const std::string& path, const std::function<void(std::string_view)>& piece);

}  // namespace petrel::spool
