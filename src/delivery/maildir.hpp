// Maildir delivery (tmp/ then new/, https://cr.yp.to/proto/maildir.html),
// in batches so that many messages share each fsync.
#pragma once

#include <string>
#include <system_error>
#include <vector>

namespace petrel::delivery {

struct MaildirFile {
  std::string mailbox_dir;  // the Maildir (contains tmp/ new/ cur/), created if missing
  std::string file_name;    // unique and deterministic (see unique_name), so a
                            // redelivery after a crash finds it already there
  std::string header;       // prepended (Return-Path:, Delivered-To:)
  const std::string* content = nullptr;  // the message, not owned
  // A big message's tail, in the spool's body file, copied after content
  // without passing through memory; "": none.
  std::string tail_path;
  // False for a message this process accepted and has not tried before: it
  // cannot be in the Maildir yet, so the look-ups for a copy are skipped.
  bool may_exist = true;
  std::error_code result;   // out: empty on success
};

// Deterministic unique name: "<arrival>.P<queue-id>R<index>.<host>".
std::string unique_name(std::int64_t arrival_unix_seconds, std::string_view queue_id,
                        std::size_t recipient_index, std::string_view hostname);

// Writes every file to tmp/, makes the data durable, renames into new/ and
// makes the renames durable. A file that may_exist and is found in new/ or
// cur/ is counted as delivered and not written again. Each file's result says how
// it went; one failure does not stop the others.
void deliver_batch(std::vector<MaildirFile>& files);

}  // namespace petrel::delivery
