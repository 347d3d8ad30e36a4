// The default spool: one RocksDB database. Per message two keys,
//   "e/<queue id>"  the envelope record (envelope_codec.hpp)
//   "c/<queue id>"  the content
// written in the same WriteBatch, so a message is either wholly there or not;
//   "r/<key>"       the callers' small records (store_group, read_record)
//
// Group commit: store() only queues; one writer thread takes everything
// queued (bounded by message count and bytes), writes it as ONE WriteBatch
// with sync=true, and then calls every done callback. While it waits for the
// disk, the next stores pile up and share the next sync, so the number of
// fsyncs per second stays constant however many sessions there are.
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>

#include "metrics/petrel_metrics.hpp"
#include "spool/body_files.hpp"
#include "spool/envelope_codec.hpp"
#include "spool/spool.hpp"
#include "util/fs.hpp"

namespace petrel::spool {
namespace {

constexpr std::string_view envelope_prefix = "e/";
constexpr std::string_view content_prefix = "c/";
// Upper bound for iterating the envelopes: '0' is the octet after '/'.
constexpr std::string_view envelope_prefix_end = "e0";
constexpr std::string_view record_prefix = "r/";

// Bytes per group commit, beyond which the batch is cut (a single larger
// message still goes alone). Keeps the latency of one sync and the memory of
// one WriteBatch bounded.
constexpr std::size_t max_batch_bytes = 64u << 20;

std::string envelope_key(const QueueId& id) { return std::string(envelope_prefix) + id.value; }
std::string content_key(const QueueId& id) { return std::string(content_prefix) + id.value; }
std::string record_key(std::string_view key) { return std::string(record_prefix) + std::string(key); }

void put_records(rocksdb::WriteBatch& wb, const std::vector<Spool::Record>& records) {
  for (const auto& r : records) {
    if (r.value) {
      wb.Put(record_key(r.key), *r.value);
    } else {
      wb.Delete(record_key(r.key));
    }
  }
}

std::error_code to_error_code(const rocksdb::Status& status) {
  if (status.ok()) return {};
  // RocksDB turns ENOSPC into IOError/NoSpace; the text check covers error
  // paths that only keep strerror's words.
  if (status.IsNoSpace() || status.ToString().find("No space left on device") != std::string::npos) {
    return std::make_error_code(std::errc::no_space_on_device);
  }
  return std::make_error_code(std::errc::io_error);
}

// RocksDB's own info LOG lives in the spool directory; once that file system
// is full, the Debian build (assertions on) aborts on the next log line
// instead of reporting the error. So warnings go to stderr, nothing to a file.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list args) override {
    char line[2048];
    const int length = std::vsnprintf(line, sizeof line, format, args);
    if (length < 0) return;
    std::string_view text(line, std::min<std::size_t>(static_cast<std::size_t>(length), sizeof line - 1));
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    std::fprintf(stderr, "spool (rocksdb): %.*s\n", static_cast<int>(text.size()), text.data());
  }
};

rocksdb::Options spool_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Mail is mostly text that is deleted within seconds; compressing it costs
  // CPU for data that rarely reaches an SST file.
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = rocksdb::kNoCompression;
  // The WAL is written with every Write(); sync=true then makes it durable.
  o.manual_wal_flush = false;
  // The memtable is most of the spool's memory: resident until flushed, up
  // to max_write_buffer_number of them while a flush is behind. 16 MiB
  // holds a couple of seconds of mail at full load, long enough for most
  // messages to be delivered and deleted before a flush writes them out;
  // 64 MiB cost 40-55 MiB more at peak with a standing backlog (B1 in
  // docs/performance.md) and no measurable throughput.
  o.write_buffer_size = 16u << 20;
  o.max_write_buffer_number = 3;
  o.max_total_wal_size = 256u << 20;
  // Bounded, so petreld's open files are (RLIMIT_NOFILE, src/petreld/main.cpp):
  // RocksDB's default keeps every table file open.
  o.max_open_files = 1024;
  o.level_compaction_dynamic_level_bytes = true;
  // Large messages (up to 50 MiB) go to blob files instead of SST blocks, so
  // compaction does not rewrite them and a read does not cache a huge block.
  o.enable_blob_files = true;
  o.min_blob_size = 64u << 10;
  o.blob_compression_type = rocksdb::kNoCompression;
  o.enable_blob_garbage_collection = true;
  // A spool deletes everything it writes: compact SST files that are mostly
  // tombstones so that load_all() at start-up does not wade through them.
  o.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/16384,
                                                    /*deletion_trigger=*/8192));
  o.info_log = std::make_shared<StderrLogger>();
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  return o;
}

// One store() or store_group(): written in one batch, never split.
struct PendingStore {
  std::shared_ptr<const SpooledMessage> message;               // store()
  std::vector<std::shared_ptr<const SpooledMessage>> messages;  // store_group()
  std::vector<Spool::Record> records;
  Spool::StoreDone done;

  std::size_t count() const { return (message ? 1 : 0) + messages.size(); }
  void collect(std::vector<const SpooledMessage*>& out) const {
    if (message) out.push_back(message.get());
    for (const auto& m : messages) out.push_back(m.get());
  }
  std::size_t bytes() const {
    std::size_t n = message ? message->content.size() + message->tail_size : 0;
    for (const auto& m : messages) n += m->content.size() + m->tail_size;
    for (const auto& r : records) n += r.key.size() + (r.value ? r.value->size() : 0);
    return n;
  }
};

class RocksDbSpool final : public Spool {
 public:
  RocksDbSpool(std::unique_ptr<rocksdb::DB> db, const RocksDbSpoolOptions& options)
      : db_(std::move(db)),
        directory_(options.directory),
        bodies_(options.directory),
        max_batch_messages_(options.max_batch_messages == 0 ? 1 : options.max_batch_messages),
        min_free_bytes_(options.min_free_bytes) {
    stored_ = count_envelopes();
    bodies_.sweep([this](const QueueId& id) {
      std::string ignored;
      return !db_->Get(rocksdb::ReadOptions(), envelope_key(id), &ignored).IsNotFound();
    });
    writer_ = std::thread([this] { write_loop(); });
  }

  ~RocksDbSpool() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_writer_.notify_one();
    writer_.join();  // the loop drains every pending store first
    if (db_) db_->Close();
  }

  void store(std::shared_ptr<const SpooledMessage> message, StoreDone done) override {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        pending_.push_back({std::move(message), {}, {}, std::move(done)});
        wake_writer_.notify_one();
        return;
      }
    }
    done(std::make_error_code(std::errc::operation_canceled));
  }

  void store_group(std::vector<std::shared_ptr<const SpooledMessage>> messages, std::vector<Record> records,
                   StoreDone done) override {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        pending_.push_back({nullptr, std::move(messages), std::move(records), std::move(done)});
        wake_writer_.notify_one();
        return;
      }
    }
    done(std::make_error_code(std::errc::operation_canceled));
  }

  bool short_of_space() const override;
  bool read_record(std::string_view key, std::string& value, std::error_code& ec) override;
  std::error_code scan_records(std::string_view prefix, std::string_view after, const VisitRecord& visit) override;

  std::vector<std::shared_ptr<SpooledMessage>> load_all(Load what) override;
  std::optional<std::string> load_content(const QueueId& id) override {
    std::error_code ignored;
    return read_content(id, ignored);
  }
  std::optional<std::string> read_content(const QueueId& id, std::error_code& ec) override;
  std::optional<std::string> read_head(const QueueId& id, std::error_code& ec) override;
  std::string tail_path(const QueueId& id) const override { return bodies_.path(id); }
  std::string spill_directory() const override { return bodies_.incoming(); }
  bool read_envelope(const QueueId& id, SpooledMessage& out, std::error_code& ec) override;
  std::error_code scan_envelopes(std::string_view after, const Visit& visit) override;
  std::error_code record_progress(const SpooledMessage& progress, bool durable,
                                  const std::vector<Record>& records) override;
  std::error_code write_records(const std::vector<Record>& records) override;
  using Spool::record_progress;
  std::error_code remove(const std::vector<QueueId>& ids, const std::vector<Record>& records) override;
  using Spool::remove;
  std::size_t size() const override { return stored_.load(); }

 private:
  std::size_t count_envelopes();
  void write_loop();
  std::deque<PendingStore> take_batch();
  std::error_code write_batch(const std::deque<PendingStore>& batch);
  std::error_code check_free_space(std::size_t batch_bytes);
  std::error_code reopen();  // what stops a store while the reopen fails (ENOSPC: 452, else 451)

  // Readers share db_; only reopen() replaces it, under the exclusive lock.
  mutable std::shared_mutex db_mutex_;
  std::unique_ptr<rocksdb::DB> db_;  // null after a failed reopen
  const std::string directory_;
  const BodyFiles bodies_;
  const std::size_t max_batch_messages_;
  const std::uint64_t min_free_bytes_;
  bool short_of_space_ = false;  // writer thread only; for logging transitions
  std::atomic<std::size_t> stored_{0};

  std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::deque<PendingStore> pending_;  // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
  bool last_write_failed_ = false;    // writer thread only
  std::thread writer_;
};

std::size_t RocksDbSpool::count_envelopes() {
  rocksdb::ReadOptions read;
  const rocksdb::Slice upper(envelope_prefix_end.data(), envelope_prefix_end.size());
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  std::size_t count = 0;
  for (it->Seek(rocksdb::Slice(envelope_prefix.data(), envelope_prefix.size())); it->Valid();
       it->Next()) {
    ++count;
  }
  return count;
}

void RocksDbSpool::write_loop() {
  for (;;) {
    std::deque<PendingStore> batch = take_batch();
    if (batch.empty()) return;  // stopping and nothing left
    const std::error_code result = write_batch(batch);
    if (!result) {
      for (const auto& p : batch) stored_ += p.count();
    }
    // Only now, after the sync, may anyone say 250.
    for (auto& p : batch) p.done(result);
  }
}

// Waits for work; returns an empty batch only when stopping with nothing
// queued, so that the destructor drains every store it accepted.
std::deque<PendingStore> RocksDbSpool::take_batch() {
  std::unique_lock lock(mutex_);
  wake_writer_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
  std::deque<PendingStore> batch;
  std::size_t bytes = 0;
  std::size_t messages = 0;
  while (!pending_.empty() && messages < max_batch_messages_) {
    const std::size_t size = pending_.front().bytes();
    if (!batch.empty() && (bytes + size > max_batch_bytes || messages + pending_.front().count() > max_batch_messages_)) {
      break;
    }
    bytes += size;
    messages += pending_.front().count();
    batch.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return batch;
}

// Postfix's queue_minfree, in effect: below the reserve a new message gets
// 452 4.3.1 from us, before RocksDB itself meets ENOSPC, which it handles
// badly (see reopen()).
std::error_code RocksDbSpool::check_free_space(std::size_t batch_bytes) {
  if (min_free_bytes_ == 0) return {};
  struct statvfs fs {};
  if (::statvfs(directory_.c_str(), &fs) != 0) return {};  // cannot tell: let the write decide
  const std::uint64_t available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  const bool short_now = available < min_free_bytes_ + 2 * static_cast<std::uint64_t>(batch_bytes);
  if (short_now != short_of_space_) {
    short_of_space_ = short_now;
    if (short_now) {
      spdlog::warn("spool: only {} MiB free in {} (reserve {} MiB): new messages get 452 4.3.1",
                   available >> 20, directory_, min_free_bytes_ >> 20);
    } else {
      spdlog::info("spool: {} MiB free in {} again: accepting messages", available >> 20, directory_);
    }
  }
  return short_now ? std::make_error_code(std::errc::no_space_on_device) : std::error_code{};
}

// After a failed write RocksDB 7.8 must not simply Resume(): it goes on
// writing the WAL file that failed and aborts on an assertion in Debian's
// build (fixed upstream in 9.x). Reopening replays the WAL, dropping a torn
// tail, and starts a fresh one. Stores in between fail with 451/452, so
// nothing acknowledged is at stake.
std::error_code RocksDbSpool::reopen() {
  std::unique_lock lock(db_mutex_);
  if (db_) db_->Close();
  db_.reset();
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(spool_options(), directory_, &raw);
  if (!status.ok()) {
    spdlog::error("spool: cannot reopen {} after a failed write: {}", directory_, status.ToString());
    return to_error_code(status);
  }
  db_.reset(raw);
  stored_ = count_envelopes();
  spdlog::info("spool: reopened {} after a failed write", directory_);
  return {};
}

std::error_code RocksDbSpool::write_batch(const std::deque<PendingStore>& batch) {
  std::size_t bytes = 0;
  for (const auto& p : batch) bytes += p.bytes();
  if (auto ec = check_free_space(bytes)) return ec;
  if (last_write_failed_) {
    // Still failing because the disk is full is "full" to the client (452
    // 4.3.1), not a local error.
    if (auto ec = reopen()) return ec;
  }

  const auto started = std::chrono::steady_clock::now();
  // Big messages' tails first: the commit must not name a file that a
  // crash could lose.
  std::vector<const SpooledMessage*> messages;
  for (const auto& p : batch) p.collect(messages);
  if (auto ec = bodies_.adopt(messages)) {
    spdlog::error("spool: cannot keep a message file: {}", ec.message());
    bodies_.discard(messages);
    return ec;
  }
  rocksdb::WriteBatch wb;
  const auto put = [&wb](const SpooledMessage& m) {
    wb.Put(envelope_key(m.id), encode_envelope(m));
    wb.Put(content_key(m.id), m.content);
  };
  for (const auto& p : batch) {
    if (p.message) put(*p.message);
    for (const auto& m : p.messages) put(*m);
    put_records(wb, p.records);
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  std::shared_lock lock(db_mutex_);
  const rocksdb::Status status = db_->Write(options, &wb);
  metrics::spool_commit_seconds()().observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  last_write_failed_ = !status.ok();
  if (last_write_failed_) {
    spdlog::error("spool: write failed: {}", status.ToString());
    bodies_.discard(messages);
  }
  return to_error_code(status);
}

// No database (a reopen failed) is a read error, not an empty spool: the
// queue retries later instead of taking its messages for deleted.
std::error_code unavailable() { return std::make_error_code(std::errc::io_error); }

std::optional<std::string> RocksDbSpool::read_content(const QueueId& id, std::error_code& ec) {
  auto content = read_head(id, ec);
  if (content) ec = bodies_.append(id, *content);
  if (ec) content.reset();
  return content;
}

std::optional<std::string> RocksDbSpool::read_head(const QueueId& id, std::error_code& ec) {
  ec.clear();
  std::shared_lock lock(db_mutex_);
  if (!db_) {
    ec = unavailable();
    return std::nullopt;
  }
  std::string content;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), content_key(id), &content);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) {
    ec = to_error_code(status);
    return std::nullopt;
  }
  return content;
}

bool RocksDbSpool::read_envelope(const QueueId& id, SpooledMessage& out, std::error_code& ec) {
  ec.clear();
  std::shared_lock lock(db_mutex_);
  if (!db_) {
    ec = unavailable();
    return false;
  }
  std::string record;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), envelope_key(id), &record);
  if (status.IsNotFound()) return false;
  if (!status.ok()) {
    ec = to_error_code(status);
    return false;
  }
  out = SpooledMessage{};
  out.id = id;
  if (!decode_envelope(record, out)) {
    ec = std::make_error_code(std::errc::illegal_byte_sequence);  // left in place for a human
    return false;
  }
  return true;
}

std::error_code RocksDbSpool::scan_envelopes(std::string_view after, const Visit& visit) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return unavailable();
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  const rocksdb::Slice upper(envelope_prefix_end.data(), envelope_prefix_end.size());
  read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  const std::string start = std::string(envelope_prefix) + std::string(after);
  it->Seek(start);
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(start)) it->Next();
  for (; it->Valid(); it->Next()) {
    SpooledMessage m;
    m.id.value = it->key().ToString().substr(envelope_prefix.size());
    if (!is_valid_queue_id(m.id.value)) continue;
    if (!decode_envelope(std::string_view(it->value().data(), it->value().size()), m)) continue;
    if (!visit(m)) break;
  }
  return to_error_code(it->status());
}

bool RocksDbSpool::short_of_space() const {
  if (min_free_bytes_ == 0) return false;
  struct statvfs fs {};
  if (::statvfs(directory_.c_str(), &fs) != 0) return false;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < min_free_bytes_;
}

bool RocksDbSpool::read_record(std::string_view key, std::string& value, std::error_code& ec) {
  ec.clear();
  std::shared_lock lock(db_mutex_);
  if (!db_) {
    ec = unavailable();
    return false;
  }
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), record_key(key), &value);
  if (status.IsNotFound()) return false;
  ec = to_error_code(status);
  return !ec;
}

std::error_code RocksDbSpool::scan_records(std::string_view prefix, std::string_view after, const VisitRecord& visit) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return unavailable();
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  const std::string first = record_key(prefix);
  const std::string start = after.empty() ? first : record_key(after);
  it->Seek(start);
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(start)) it->Next();
  for (; it->Valid() && it->key().starts_with(first); it->Next()) {
    const std::string_view key(it->key().data() + record_prefix.size(), it->key().size() - record_prefix.size());
    if (!visit(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return to_error_code(it->status());
}

std::vector<std::shared_ptr<SpooledMessage>> RocksDbSpool::load_all(Load what) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return {};
  // One snapshot for envelopes and contents, so both come from the same state.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.fill_cache = false;  // read once at start-up
  const rocksdb::Slice upper(envelope_prefix_end.data(), envelope_prefix_end.size());
  rocksdb::ReadOptions iterate = read;
  iterate.iterate_upper_bound = &upper;

  std::vector<std::shared_ptr<SpooledMessage>> messages;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(iterate));
  for (it->Seek(rocksdb::Slice(envelope_prefix.data(), envelope_prefix.size())); it->Valid();
       it->Next()) {
    auto m = std::make_shared<SpooledMessage>();
    m->id.value = it->key().ToString().substr(envelope_prefix.size());
    // A record we cannot read is left in place for a human to look at,
    // rather than deleted or delivered half-understood.
    if (!is_valid_queue_id(m->id.value)) continue;
    if (!decode_envelope(std::string_view(it->value().data(), it->value().size()), *m)) continue;
    if (what == Load::with_content) {
      if (!db_->Get(read, content_key(m->id), &m->content).ok()) continue;
      if (m->tail_size > 0 && bodies_.append(m->id, m->content)) continue;
    }
    messages.push_back(std::move(m));
  }
  it.reset();
  db_->ReleaseSnapshot(snapshot);
  return messages;
}

std::error_code RocksDbSpool::record_progress(const SpooledMessage& progress, bool durable,
                                              const std::vector<Record>& records) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return unavailable();
  std::string ignored;
  const std::string key = envelope_key(progress.id);
  const rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), key, &ignored);
  if (!found.ok() && !found.IsNotFound()) return to_error_code(found);
  if (found.IsNotFound() && records.empty()) return {};  // removed meanwhile
  rocksdb::WriteBatch wb;
  if (found.ok()) wb.Put(key, encode_envelope(progress));
  put_records(wb, records);
  rocksdb::WriteOptions options;
  options.sync = durable;
  const auto status = db_->Write(options, &wb);
  if (!status.ok()) spdlog::error("spool: progress of qid={} not recorded: {}", progress.id.value, status.ToString());
  return to_error_code(status);
}

std::error_code RocksDbSpool::write_records(const std::vector<Record>& records) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return unavailable();
  rocksdb::WriteBatch wb;
  put_records(wb, records);
  return to_error_code(db_->Write(rocksdb::WriteOptions(), &wb));
}

std::error_code RocksDbSpool::remove(const std::vector<QueueId>& ids, const std::vector<Record>& records) {
  std::shared_lock lock(db_mutex_);
  if (!db_) return unavailable();
  rocksdb::WriteBatch wb;
  std::size_t removed = 0;
  std::string ignored;
  bool with_files = false;
  for (const auto& id : ids) {
    const std::string key = envelope_key(id);
    // Count only what is there, so that size() stays exact.
    const rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), key, &ignored);
    if (found.IsNotFound()) continue;
    if (!found.ok()) return to_error_code(found);
    wb.Delete(key);
    wb.Delete(content_key(id));
    with_files = with_files || ::access(bodies_.path(id).c_str(), F_OK) == 0;
    ++removed;
  }
  put_records(wb, records);
  if (removed == 0 && records.empty()) return {};
  // Not synced: a delete lost in a crash means a redelivery, which local
  // delivery recognises (deterministic Maildir names). Unless a message
  // has a tail file: it goes only after the delete is durable, or a crash
  // could bring back the envelope without it.
  rocksdb::WriteOptions options;
  options.sync = with_files;
  const rocksdb::Status status = db_->Write(options, &wb);
  if (!status.ok()) return to_error_code(status);
  stored_ -= removed;
  if (with_files) bodies_.remove(ids);
  return {};
}

}  // namespace

std::unique_ptr<Spool> open_rocksdb_spool(const RocksDbSpoolOptions& options) {
  // RocksDB creates only the last level itself.
  if (const auto ec = util::make_directories(options.directory)) {
    throw std::runtime_error("cannot create the spool directory " + options.directory + ": " +
                             ec.message());
  }
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(spool_options(), options.directory, &raw);
  if (!status.ok()) {
    throw std::runtime_error("cannot open the spool at " + options.directory + ": " +
                             status.ToString());
  }
  return std::make_unique<RocksDbSpool>(std::unique_ptr<rocksdb::DB>(raw), options);
}

}  // namespace petrel::spool
