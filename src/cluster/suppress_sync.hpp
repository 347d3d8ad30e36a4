// The suppression list shared through Redis (docs/cluster.md, "The shared
// suppression list"). Every change made on this node (SuppressionList's
// change observer) is queued and written to Redis: the tenant's hash and
// the log stream, in one script. A reader follows the log (XREAD BLOCK
// from the last id applied, kept in the spool) and applies the other
// nodes' changes to the spool's list, which stays the only one reads go
// to: sending never asks Redis. When the log cannot say what was missed
// (first start, entries trimmed away, a Redis that lost its data), a full
// resync pushes what Redis lacks (HSETNX) and pulls every hash (HSCAN).
//
// Runs on the io_context of the cluster link's own thread, with two
// connections: one blocks in XREAD, the other writes.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/redis_client.hpp"
#include "cluster/suppress_codec.hpp"

namespace petrel::spool {
class Spool;
}

namespace petrel::cluster {

struct SuppressSyncOptions {
  std::string node_name;
  std::size_t stream_max = 100000;    // the log's approximate length (XADD MAXLEN ~)
  std::size_t pending_max = 100000;   // local changes waiting for Redis
  std::size_t batch = 200;            // changes per write, log entries per read
  std::chrono::milliseconds block{1000};  // XREAD BLOCK; the reader's timeout is this plus the request timeout
  // A start-up push sends the local entries made this long before the
  // last log entry applied, or later (the ones a restart may have lost).
  std::chrono::seconds push_margin{600};
};

class SuppressSync {
 public:
  SuppressSync(boost::asio::io_context& io, RedisClient& writer, RedisClient& reader, spool::Spool& spool,
               SuppressSyncOptions options);
  ~SuppressSync();
  void start();
  // From any thread (the spool's, as SuppressionList reports changes).
  void local_changes(const std::vector<suppress::Change>& changes);
  // The sync's state, for cluster status; on the io_context's thread.
  nlohmann::json status() const;

 private:
  using Reply = RedisReply;
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<std::string> session();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<std::string> check_log(const Cursor& cursor, bool& full);
  boost::asio::awaitable<std::string> full_resync(const std::string& epoch);
  boost::asio::awaitable<std::string> pull_all(const std::string& epoch, const std::string& last_id);
  boost::asio::awaitable<std::string> push_since(std::int64_t since);
  boost::asio::awaitable<std::string> read_log(bool block, std::size_t& read);
  boost::asio::awaitable<Reply> call(RedisClient& client, std::vector<std::string> args, const char* purpose);
  boost::asio::awaitable<Reply> write(std::vector<std::string> args, const char* purpose);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);

  struct Applied {
    std::size_t added = 0, removed = 0;
  };
  // Applies changes (from the log or a hash) to the spool's list, with
  // the cursor when given; returns an error, or "".
  std::string apply(const std::vector<suppress::Change>& changes, const std::optional<Cursor>& cursor,
                    Applied& applied);
  std::optional<Cursor> load_cursor();
  bool store_cursor(const Cursor& c);
  void went_up(const std::string& how);
  void went_down(const std::string& why);

  boost::asio::io_context& io_;
  RedisClient& writer_;
  RedisClient& reader_;
  spool::Spool& spool_;
  SuppressSyncOptions options_;
  RedisScript write_script_;
  RedisScript epoch_script_;
  PendingWrites pending_;
  boost::asio::steady_timer wake_;  // the writer waits on it for changes
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  Cursor cursor_;
  // The start-up push, and one after the queue overflowed: local entries
  // at or after this (unix seconds) that Redis lacks; nullopt: none due.
  std::optional<std::int64_t> push_due_;
  bool up_ = false;
  bool logged_down_ = false;
  std::string last_error_;
  std::uint64_t applied_ = 0, written_ = 0, dropped_ = 0, full_resyncs_ = 0;
  double lag_seconds_ = 0;
};

}  // namespace petrel::cluster
