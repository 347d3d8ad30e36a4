#include "api/record_sweeper.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <vector>

#include "spool/spool.hpp"

namespace petrel::api {
namespace {

constexpr std::size_t kPage = 1000;  // records read, then deleted, at a time

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

RecordSweeper::RecordSweeper(spool::Spool& spool, SweepOptions options)
    : spool_(spool), options_(options), thread_([this] { run(); }) {}

RecordSweeper::~RecordSweeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RecordSweeper::run() {
  std::unique_lock lock(mutex_);
  auto wait = options_.first;
  while (!wake_.wait_for(lock, wait, [this] { return stopping_; })) {
    lock.unlock();
    const std::size_t deleted = sweep(unix_now());
    if (deleted > 0) spdlog::info("records: {} expired idempotency or unsubscribe record(s) deleted", deleted);
    lock.lock();
    wait = options_.every;
  }
}

// Records of `prefix` whose JSON `field` (unix seconds) is older than
// `oldest`, or that have none, are deleted a page at a time.
std::size_t RecordSweeper::sweep_prefix(const std::string& prefix, const char* field, std::int64_t oldest) {
  std::size_t deleted = 0;
  std::string after;
  for (;;) {
    std::vector<spool::Spool::Record> expired;
    std::string last;
    std::size_t seen = 0;
    const std::error_code ec = spool_.scan_records(prefix, after, [&](std::string_view key, std::string_view value) {
      last = std::string(key);
      const auto j = nlohmann::json::parse(value, nullptr, false);
      const std::int64_t at = j.is_object() ? j.value(field, std::int64_t{0}) : 0;
      if (at < oldest) expired.push_back({std::string(key), std::nullopt});
      return ++seen < kPage;
    });
    if (ec) {
      spdlog::warn("records: sweep of {} stopped: {}", prefix, ec.message());
      return deleted;
    }
    if (!expired.empty()) {
      deleted += expired.size();
      spool_.store_group({}, std::move(expired), [](std::error_code) {});
    }
    if (seen < kPage) return deleted;
    after = last;
  }
}

std::size_t RecordSweeper::sweep(std::int64_t now) {
  return sweep_prefix("i/", "at", now - options_.idempotency_lifetime.count()) +
         sweep_prefix("u/", "a", now - options_.link_lifetime.count());
}

}  // namespace petrel::api
