// The spool: where an accepted message lives, durably, until it is
// delivered. An interface so that a second backend (in memory for tests, a
// different store) slots in without touching its callers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "spool/spooled_message.hpp"

namespace petrel::spool {

class Spool {
 public:
  using StoreDone = std::function<void(std::error_code)>;

  virtual ~Spool() = default;

  // Stores message and envelope durably (fsync'ed) and then calls done, on a
  // spool thread, with no error; only then may the server say 250.
  // Concurrent stores share one sync (group commit). A full disk reports
  // std::errc::no_space_on_device. A big message's spill_file becomes the
  // spool's (renamed into it); after a failure it is gone or where it was.
  virtual void store(std::shared_ptr<const SpooledMessage> message, StoreDone done) = 0;

  enum class Load { with_content, envelopes_only };

  // Every message still in the spool, for recovery at start-up. A large
  // spool is recovered envelopes_only, its contents read one by one as they
  // are delivered (load_content).
  virtual std::vector<std::shared_ptr<SpooledMessage>> load_all(Load what = Load::with_content) = 0;

  // The content of one message, or nullopt if it is not in the spool.
  virtual std::optional<std::string> load_content(const QueueId& id) = 0;

  // The same, telling "not there" (nullopt, ec clear) from "could not read"
  // (nullopt, ec set: retry later, never treat as deleted).
  virtual std::optional<std::string> read_content(const QueueId& id, std::error_code& ec) = 0;

  // The content of one message without the tail a big message keeps in a
  // file (SpooledMessage::tail_size), as read_content reports it.
  virtual std::optional<std::string> read_head(const QueueId& id, std::error_code& ec) = 0;
  // The file holding a big message's tail, for a reader that streams it.
  virtual std::string tail_path(const QueueId& id) const = 0;
  // Where a session writes the part of a big message past its head while it
  // arrives (SpooledMessage::spill_file); it must be on the spool's file
  // system, as store() renames the file into the spool.
  virtual std::string spill_directory() const = 0;

  // One message's envelope record (everything but the content): found
  // (true), not there (false, ec clear) or unreadable (false, ec set).
  virtual bool read_envelope(const QueueId& id, SpooledMessage& out, std::error_code& ec) = 0;

  // Every envelope in queue-ID order, starting after `after` ("" : from the
  // first), until visit returns false. The messages are not kept: memory
  // does not grow with the spool. Returns a read error, if any.
  using Visit = std::function<bool(SpooledMessage&)>;
  virtual std::error_code scan_envelopes(std::string_view after, const Visit& visit) = 0;

  // Small records beside the messages: the suppression list, the API's
  // idempotency keys. Keys are the caller's, in namespaces of its own
  // ("s/<tenant>/<address>"); a record without value deletes its key.
  struct Record {
    std::string key;
    std::optional<std::string> value;
  };

  // Records a message's delivery progress (attempts, per-recipient states,
  // next attempt, last error) over its stored envelope; the content is not
  // touched. durable: synced before returning, as after a remote server's
  // 250, so a restart never sends to that recipient again; otherwise best
  // effort (a lost update only repeats a local attempt, which Maildir
  // delivery recognises). A message no longer in the spool is ignored.
  // Returns the write error, if any (a message no longer there is not one).
  // `records` (the events of this change of state, for the webhook
  // outbox) are written in the same batch, so that both or neither
  // survive a crash; they are written even when the message is gone.
  virtual std::error_code record_progress(const SpooledMessage& progress, bool durable,
                                          const std::vector<Record>& records) = 0;
  std::error_code record_progress(const SpooledMessage& progress, bool durable) {
    return record_progress(progress, durable, {});
  }

  // The messages are delivered: forget them. Need not be synced: a message
  // that reappears after a crash is delivered again, and local delivery
  // recognises what it already delivered.
  // `records` are written in the same batch, as for record_progress.
  virtual std::error_code remove(const std::vector<QueueId>& ids, const std::vector<Record>& records) = 0;
  std::error_code remove(const std::vector<QueueId>& ids) { return remove(ids, {}); }

  // Number of messages stored and not removed.
  virtual std::size_t size() const = 0;

  // Whether the file system is below the free-space reserve now, when new
  // messages would be refused: for a caller that must not start what it
  // cannot finish (the HTTP API says 503 before it renders anything).
  virtual bool short_of_space() const = 0;


  // Stores the messages and the records in ONE write, so that either all
  // are there after a crash or none is, durably and in the next group
  // commit, then calls done as store() does. Either list may be empty.
  virtual void store_group(std::vector<std::shared_ptr<const SpooledMessage>> messages, std::vector<Record> records,
                           StoreDone done) = 0;

  // Records written at once, not synced: bookkeeping whose loss in a crash
  // only repeats work (where a webhook stands, events it has had).
  virtual std::error_code write_records(const std::vector<Record>& records) = 0;

  // One record: found (true), not there (false, ec clear) or unreadable
  // (false, ec set).
  virtual bool read_record(std::string_view key, std::string& value, std::error_code& ec) = 0;

  // Records whose keys start with prefix, in key order, starting after
  // `after` (a full key; "" : from the first), until visit returns false.
  using VisitRecord = std::function<bool(std::string_view key, std::string_view value)>;
  virtual std::error_code scan_records(std::string_view prefix, std::string_view after, const VisitRecord& visit) = 0;
};

struct RocksDbSpoolOptions {
  std::string directory;
  std::size_t max_batch_messages = 1024;  // per group commit
  // Refuse new messages (no_space_on_device) while the file system has
  // less than this free, so RocksDB never runs out of space itself; 0: off.
  std::uint64_t min_free_bytes = 0;
};

// Opens (creating if needed) the RocksDB spool. Throws std::runtime_error
// with a clear message when the directory cannot be opened.
std::unique_ptr<Spool> open_rocksdb_spool(const RocksDbSpoolOptions& options);

}  // namespace petrel::spool
