#include "cluster/suppress_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <random>

#include "cluster/suppress_scripts.hpp"
#include "metrics/metrics.hpp"
#include "spool/spool.hpp"
#include "util/async_callback.hpp"

namespace petrel::cluster {
namespace asio = boost::asio;
using petrel::metrics::Counter;
using petrel::metrics::Family;
using petrel::metrics::Gauge;

namespace {

template <typename Metric>
Family<Metric>& registered(Family<Metric>& family) {
  petrel::metrics::registry().add(family);
  return family;
}

Family<Counter>& applied_metric() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_suppress_sync_applied_total",
      "Changes to the suppression list made by other nodes (read from Redis) and applied here, by op (add, remove).",
      {"op"}));
  return f;
}
Family<Counter>& written_metric() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_suppress_sync_written_total", "Changes to the suppression list made here and written to Redis.", {}));
  return f;
}
Family<Counter>& dropped_metric() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_suppress_sync_dropped_total",
      "Local changes to the suppression list not queued for Redis because the queue was full (the next push covers "
      "the additions).",
      {}));
  return f;
}
Family<Counter>& resyncs_metric() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_suppress_sync_resyncs_total",
      "Resyncs with Redis by kind: full (every hash read back), push (local entries Redis lacked sent to it).",
      {"kind"}));
  return f;
}
Family<Gauge>& pending_metric() {
  static Family<Gauge>& f = registered(*new Family<Gauge>(
      "petrel_suppress_sync_pending", "Local changes to the suppression list waiting to be written to Redis.", {}));
  return f;
}
Family<Gauge>& up_metric() {
  static Family<Gauge>& f = registered(*new Family<Gauge>(
      "petrel_suppress_sync_up", "1 while this node follows the shared suppression list in Redis, else 0.", {}));
  return f;
}
Family<Gauge>& lag_metric() {
  static Family<Gauge>& f = registered(*new Family<Gauge>(
      "petrel_suppress_sync_lag_seconds",
      "How old the last change read from Redis was when it was applied here (0 once caught up).", {}));
  return f;
}

template <typename Token>
auto async_command(RedisClient& client, std::vector<std::string> args, const char* purpose, Token&& token) {
  auto start = [&client, args = std::move(args), purpose](std::function<void(RedisReply)> done) mutable {
    client.command(std::move(args), purpose, [done](const RedisReply& r) { done(r); });
  };
  return util::async_callback<RedisReply>(std::move(start), std::forward<Token>(token));
}

template <typename Token>
auto async_eval(RedisClient& client, const RedisScript& script, std::vector<std::string> keys,
                std::vector<std::string> args, const char* purpose, Token&& token) {
  auto start = [&client, &script, keys = std::move(keys), args = std::move(args),
                purpose](std::function<void(RedisReply)> done) mutable {
    client.eval(script, std::move(keys), std::move(args), purpose, [done](const RedisReply& r) { done(r); });
  };
  return util::async_callback<RedisReply>(std::move(start), std::forward<Token>(token));
}

std::string random_id() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id += kHex[random() % 16];
  return id;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// [id, [field, value, ...]] entries of XRANGE, or of one stream of XREAD.
std::vector<std::pair<std::string, Fields>> stream_entries(const RedisReply& entries) {
  std::vector<std::pair<std::string, Fields>> out;
  for (const auto& e : entries.elements) {
    if (e.elements.size() != 2) continue;
    Fields fields;
    const auto& flat = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields.emplace_back(flat[i].text, flat[i + 1].text);
    out.emplace_back(e.elements[0].text, std::move(fields));
  }
  return out;
}

// XREAD's answer: nil when BLOCK ran out, else [[stream, entries]].
std::vector<std::pair<std::string, Fields>> xread_entries(const RedisReply& r) {
  if (r.type != RedisReply::Type::array || r.elements.empty() || r.elements[0].elements.size() != 2) return {};
  return stream_entries(r.elements[0].elements[1]);
}

// XINFO STREAM's flat [name, value, ...]: the value of one name.
const RedisReply* info_field(const RedisReply& r, std::string_view name) {
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    if (r.elements[i].text == name) return &r.elements[i + 1];
  }
  return nullptr;
}

}  // namespace

SuppressSync::SuppressSync(asio::io_context& io, RedisClient& writer, RedisClient& reader, spool::Spool& spool,
                           SuppressSyncOptions options)
    : io_(io),
      writer_(writer),
      reader_(reader),
      spool_(spool),
      options_(std::move(options)),
      write_script_(std::string(scripts::kSuppressWrite)),
      epoch_script_(std::string(scripts::kSuppressEpoch)),
      pending_(options_.pending_max),
      wake_(io) {
  applied_metric().with({"add"});
  applied_metric().with({"remove"});
  written_metric()();
  dropped_metric()();
  resyncs_metric().with({"full"});
  resyncs_metric().with({"push"});
  pending_metric()();
  up_metric()();
  lag_metric()();
}

SuppressSync::~SuppressSync() { *alive_ = false; }

void SuppressSync::start() {
  // A restart may have lost changes that were queued: pushed once caught up.
  push_due_ = std::numeric_limits<std::int64_t>::min();
  asio::co_spawn(io_, run(), asio::detached);
  asio::co_spawn(io_, write_loop(), asio::detached);
}

void SuppressSync::local_changes(const std::vector<suppress::Change>& changes) {
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), changes] {
    if (alive.expired()) return;
    const std::size_t dropped = pending_.push(changes);
    pending_metric()().set(static_cast<double>(pending_.size()));
    if (dropped) {
      dropped_ += dropped;
      dropped_metric()().inc(dropped);
      std::int64_t oldest = unix_now();
      for (const auto& c : changes) oldest = std::min(oldest, c.entry.at);
      const std::int64_t since = oldest - options_.push_margin.count();
      push_due_ = push_due_ ? std::min(*push_due_, since) : since;
      if (pending_.take_overflowed()) {
        spdlog::warn("suppression sync: {} change(s) waiting for Redis, {} not queued; a push sends them once Redis "
                     "answers",
                     pending_.size(), dropped);
      }
    }
    wake_.cancel();
  });
}

asio::awaitable<RedisReply> SuppressSync::call(RedisClient& client, std::vector<std::string> args,
                                               const char* purpose) {
  co_return co_await async_command(client, std::move(args), purpose, asio::use_awaitable);
}

asio::awaitable<RedisReply> SuppressSync::write(std::vector<std::string> args, const char* purpose) {
  std::vector<std::string> keys;
  co_return co_await async_eval(writer_, write_script_, std::move(keys), std::move(args), purpose, asio::use_awaitable);
}

asio::awaitable<void> SuppressSync::sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(io_);
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Connects, syncs, follows; when a request fails, logs it once and
// starts again (the epoch and the log's state are checked every time).
asio::awaitable<void> SuppressSync::run() {
  for (;;) {
    if (!writer_.connected() || !reader_.connected()) {
      if (up_) went_down("connection to Redis lost");
      co_await sleep(std::chrono::milliseconds(200));
      continue;
    }
    const std::string why = co_await session();
    went_down(why);
    co_await sleep(std::chrono::milliseconds(500));
  }
}

asio::awaitable<std::string> SuppressSync::session() {
  std::vector<std::string> keys{std::string(kSuppressEpochKey)};
  std::vector<std::string> args{random_id()};
  const RedisReply epoch =
      co_await async_eval(writer_, epoch_script_, std::move(keys), std::move(args), "suppress-epoch", asio::use_awaitable);
  if (epoch.failed() || epoch.type != RedisReply::Type::string) co_return "reading the epoch: " + epoch.text;
  const std::optional<Cursor> stored = load_cursor();
  bool full = !stored || stored->epoch != epoch.text;
  std::string why;
  if (!full) why = co_await check_log(*stored, full);
  if (!why.empty()) co_return why;
  if (full) {
    why = co_await full_resync(epoch.text);
    if (!why.empty()) co_return why;
    went_up("after a full resync");
  } else {
    cursor_ = *stored;
    std::size_t read = 0;
    do {
      why = co_await read_log(false, read);
      if (!why.empty()) co_return why;
    } while (read > 0);
    went_up("from " + cursor_.last_id);
  }
  for (;;) {
    if (push_due_ && pending_.empty()) {
      std::int64_t since = *push_due_;
      if (since == std::numeric_limits<std::int64_t>::min()) {
        const auto last = StreamId::parse(cursor_.last_id).value_or(StreamId{});
        since = static_cast<std::int64_t>(last.ms / 1000) - options_.push_margin.count();
      }
      why = co_await push_since(since);
      if (!why.empty()) co_return why;
    }
    std::size_t read = 0;
    why = co_await read_log(true, read);
    if (!why.empty()) co_return why;
  }
}

// Whether the log still holds everything after the cursor.
asio::awaitable<std::string> SuppressSync::check_log(const Cursor& cursor, bool& full) {
  std::vector<std::string> args{"XINFO", "STREAM", std::string(kSuppressLogKey)};
  const RedisReply info = co_await call(writer_, std::move(args), "suppress-read");
  if (info.failed()) {
    if (info.text.find("no such key") != std::string::npos) co_return "";  // nothing logged yet
    co_return "reading the log's state: " + info.text;
  }
  std::optional<StreamId> max_deleted, first;
  if (const auto* f = info_field(info, "max-deleted-entry-id")) max_deleted = StreamId::parse(f->text);
  if (const auto* f = info_field(info, "first-entry"); f && !f->elements.empty()) {
    first = StreamId::parse(f->elements[0].text);
  }
  const auto* added = info_field(info, "entries-added");
  const auto* length = info_field(info, "length");
  const bool nothing_removed = added && length && added->type == RedisReply::Type::integer &&
                               length->type == RedisReply::Type::integer && added->integer == length->integer;
  const auto last = StreamId::parse(cursor.last_id).value_or(StreamId{});
  full = log_trimmed_past(last, max_deleted, first, nothing_removed);
  if (full) spdlog::info("suppression sync: the log no longer holds what followed {}: full resync", cursor.last_id);
  co_return "";
}

// Every local entry Redis lacks goes to it, then every hash comes back;
// the log is then followed from where it ended before both.
asio::awaitable<std::string> SuppressSync::full_resync(const std::string& epoch) {
  std::vector<std::string> args{"XREVRANGE", std::string(kSuppressLogKey), "+", "-", "COUNT", "1"};
  const RedisReply last = co_await call(writer_, std::move(args), "suppress-resync");
  if (last.failed()) co_return "reading the log's end: " + last.text;
  const auto entries = stream_entries(last);
  const std::string last_id = entries.empty() ? "0-0" : entries.front().first;
  std::string why = co_await push_since(std::numeric_limits<std::int64_t>::min());
  if (!why.empty()) co_return why;
  why = co_await pull_all(epoch, last_id);
  if (!why.empty()) co_return why;
  ++full_resyncs_;
  resyncs_metric().with({"full"}).inc();
  co_return "";
}

asio::awaitable<std::string> SuppressSync::pull_all(const std::string& epoch, const std::string& last_id) {
  std::vector<std::string> members{"SMEMBERS", std::string(kSuppressTenantsKey)};
  const RedisReply tenants = co_await call(writer_, std::move(members), "suppress-resync");
  if (tenants.failed()) co_return "reading the tenants: " + tenants.text;
  std::size_t added = 0;
  for (const auto& tenant : tenants.elements) {
    std::string position = "0";
    do {
      std::vector<std::string> scan{"HSCAN", suppress_hash_key(tenant.text), position, "COUNT",
                                    std::to_string(options_.batch)};
      const RedisReply page = co_await call(writer_, std::move(scan), "suppress-resync");
      if (page.failed() || page.elements.size() != 2) co_return "reading the list of '" + tenant.text + "': " + page.text;
      position = page.elements[0].text;
      std::vector<suppress::Change> changes;
      const auto& flat = page.elements[1].elements;
      for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        if (auto e = entry_from_hash(tenant.text, flat[i].text, flat[i + 1].text)) {
          changes.push_back({suppress::Change::Op::add, std::move(*e)});
        }
      }
      Applied applied;
      const std::string why = apply(changes, std::nullopt, applied);
      if (!why.empty()) co_return why;
      added += applied.added;
    } while (position != "0");
  }
  cursor_ = {epoch, last_id};
  if (!store_cursor(cursor_)) co_return "the spool: cannot keep the log's position";
  if (added) applied_metric().with({"add"}).inc(added);
  applied_ += added;
  spdlog::info("suppression sync: full resync read {} entr{} new to this node", added, added == 1 ? "y" : "ies");
  co_return "";
}

// Local entries made at or after `since` (unix seconds), sent with HSETNX:
// what Redis has already stays as it is.
asio::awaitable<std::string> SuppressSync::push_since(std::int64_t since) {
  suppress::SuppressionList list(spool_);
  std::string after;
  std::size_t sent = 0;
  for (;;) {
    std::error_code ec;
    const auto page = list.list(std::nullopt, after, options_.batch, ec);
    if (ec) co_return "the spool: " + ec.message();
    std::vector<std::string> args{std::string(kSuppressPrefix), std::to_string(options_.stream_max), options_.node_name};
    for (const auto& e : page.entries) {
      if (e.at < since) continue;
      for (auto& a : script_args({suppress::Change::Op::add, e}, options_.node_name, true)) args.push_back(std::move(a));
      ++sent;
    }
    if (args.size() > 3) {
      const RedisReply r = co_await write(std::move(args), "suppress-push");
      if (r.failed()) co_return "pushing local entries: " + r.text;
    }
    if (page.next.empty()) break;
    after = page.next;
  }
  push_due_.reset();
  resyncs_metric().with({"push"}).inc();
  spdlog::debug("suppression sync: {} local entr{} offered to Redis", sent, sent == 1 ? "y" : "ies");
  co_return "";
}

asio::awaitable<std::string> SuppressSync::read_log(bool block, std::size_t& read) {
  std::vector<std::string> args{"XREAD", "COUNT", std::to_string(options_.batch)};
  if (block) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(options_.block.count()));
  }
  args.push_back("STREAMS");
  args.push_back(std::string(kSuppressLogKey));
  args.push_back(cursor_.last_id);
  RedisClient& client = block ? reader_ : writer_;
  const RedisReply r = co_await call(client, std::move(args), "suppress-read");
  if (r.failed()) co_return "reading the log: " + r.text;
  const auto entries = xread_entries(r);
  read = entries.size();
  if (entries.empty()) {
    lag_seconds_ = 0;
    lag_metric()().set(0);
    co_return "";
  }
  // XREAD skips what was trimmed without a word: had the log lost entries
  // after the cursor (the node fell more than the log's length behind),
  // only a full resync can say what they were.
  bool trimmed = false;
  std::string why = co_await check_log(cursor_, trimmed);
  if (!why.empty()) co_return why;
  if (trimmed) co_return co_await full_resync(cursor_.epoch);
  std::vector<suppress::Change> changes;
  for (const auto& [id, fields] : entries) {
    if (auto logged = parse_log_entry(fields)) changes.push_back(std::move(logged->change));
  }
  Cursor next{cursor_.epoch, entries.back().first};
  Applied applied;
  why = apply(changes, next, applied);
  if (!why.empty()) co_return why;
  cursor_ = next;
  applied_ += applied.added + applied.removed;
  applied_metric().with({"add"}).inc(applied.added);
  applied_metric().with({"remove"}).inc(applied.removed);
  const auto newest = StreamId::parse(cursor_.last_id).value_or(StreamId{});
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  lag_seconds_ = std::max<double>(0, static_cast<double>(now_ms - static_cast<std::int64_t>(newest.ms)) / 1000.0);
  lag_metric()().set(lag_seconds_);
  co_return "";
}

// Changes (from the log or a hash) into the spool's list in one write,
// with the cursor when given. This node's own changes come back from the
// log too: written again only if they differ.
std::string SuppressSync::apply(const std::vector<suppress::Change>& changes, const std::optional<Cursor>& cursor,
                                Applied& applied) {
  std::vector<spool::Spool::Record> records;
  std::map<std::string, std::optional<suppress::Entry>> held;  // as this batch leaves them
  for (const auto& c : changes) {
    const std::string key = suppress::record_key(c.entry.tenant, c.entry.address);
    auto it = held.find(key);
    if (it == held.end()) {
      std::string value;
      std::error_code ec;
      std::optional<suppress::Entry> local;
      if (spool_.read_record(key, value, ec)) local = suppress::parse_record(key, value);
      if (ec) return "the spool: " + ec.message();
      it = held.emplace(key, std::move(local)).first;
    }
    if (!replaces(c, it->second)) continue;
    if (c.op == suppress::Change::Op::remove) {
      records.push_back({key, std::nullopt});
      it->second.reset();
      ++applied.removed;
      continue;
    }
    std::string value = suppress::record_value(c.entry);
    if (it->second && suppress::record_value(*it->second) == value) continue;
    records.push_back({key, std::move(value)});
    it->second = c.entry;
    ++applied.added;
  }
  if (cursor) records.push_back({std::string(kCursorRecord), encode_cursor(*cursor)});
  if (records.empty()) return "";
  if (const auto ec = spool_.write_records(records)) return "the spool: " + ec.message();
  return "";
}

asio::awaitable<void> SuppressSync::write_loop() {
  for (;;) {
    if (pending_.empty() || !writer_.connected()) {
      wake_.expires_after(pending_.empty() ? std::chrono::seconds(1) : std::chrono::milliseconds(200));
      boost::system::error_code ec;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::vector<suppress::Change> batch = pending_.take(options_.batch);
    std::vector<std::string> args{std::string(kSuppressPrefix), std::to_string(options_.stream_max), options_.node_name};
    for (const auto& c : batch) {
      for (auto& a : script_args(c, options_.node_name)) args.push_back(std::move(a));
    }
    const RedisReply r = co_await write(std::move(args), "suppress-write");
    if (r.failed()) {
      // Again once Redis answers; Lua scripts are atomic and each change
      // is idempotent, so one that did arrive does no harm sent twice.
      pending_.put_back(std::move(batch));
      last_error_ = r.text;
      co_await sleep(std::chrono::milliseconds(500));
      continue;
    }
    written_ += batch.size();
    written_metric()().inc(batch.size());
    pending_metric()().set(static_cast<double>(pending_.size()));
  }
}

std::optional<Cursor> SuppressSync::load_cursor() {
  std::string value;
  std::error_code ec;
  if (!spool_.read_record(kCursorRecord, value, ec)) return std::nullopt;
  return decode_cursor(value);
}

bool SuppressSync::store_cursor(const Cursor& c) {
  return !spool_.write_records({{std::string(kCursorRecord), encode_cursor(c)}});
}

void SuppressSync::went_up(const std::string& how) {
  up_ = true;
  up_metric()().set(1);
  last_error_.clear();
  logged_down_ = false;
  spdlog::info("suppression sync: following the shared list in Redis {} ({} change(s) waiting to be written)", how,
               pending_.size());
}

void SuppressSync::went_down(const std::string& why) {
  up_ = false;
  up_metric()().set(0);
  last_error_ = why;
  if (logged_down_) return;
  logged_down_ = true;
  spdlog::warn("suppression sync: stopped ({}); local changes are kept here and queued for Redis, retrying", why);
}

nlohmann::json SuppressSync::status() const {
  return {{"state", up_ ? "following" : "down"},
          {"pending", pending_.size()},
          {"applied", applied_},
          {"written", written_},
          {"dropped", dropped_},
          {"full_resyncs", full_resyncs_},
          {"last_id", cursor_.last_id},
          {"lag_seconds", lag_seconds_},
          {"last_error", last_error_}};
}

}  // namespace petrel::cluster
