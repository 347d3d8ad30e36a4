// Expired idempotency and unsubscribe records are deleted; fresh ones stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "api/record_sweeper.hpp"
#include "spool/spool.hpp"

namespace petrel::api {
namespace {

struct Dir {
  Dir() : path(std::filesystem::temp_directory_path() / ("sweep-" + std::to_string(::getpid()) + "-" + std::to_string(n++))) {}
  ~Dir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
  static inline int n = 0;
};

void put(spool::Spool& spool, std::vector<spool::Spool::Record> records) {
  std::promise<std::error_code> done;
  spool.store_group({}, std::move(records), [&](std::error_code ec) { done.set_value(ec); });
  ASSERT_FALSE(done.get_future().get());
}

std::size_t count(spool::Spool& spool, const std::string& prefix) {
  std::size_t n = 0;
  spool.scan_records(prefix, "", [&](std::string_view, std::string_view) { return ++n > 0; });
  return n;
}

TEST(RecordSweeper, deletes_what_outlived_its_lifetime_and_keeps_the_rest) {
  Dir dir;
  auto spool = spool::open_rocksdb_spool({.directory = dir.path.string()});
  const std::int64_t now = 2'000'000'000;
  put(*spool, {{"i/ops/old", R"({"at": 1000})"},
               {"i/ops/old/w/00000000", R"({"at": 1000})"},
               {"i/ops/new", "{\"at\": " + std::to_string(now - 60) + "}"},
               {"u/OLDQUEUEID000000", R"({"r": "a@x.test", "a": 5})"},
               {"u/NEWQUEUEID000000", "{\"r\": \"b@x.test\", \"a\": " + std::to_string(now - 86400) + "}"},
               {"u/NOTIMEQUEUEID000", R"({"r": "c@x.test"})"},
               {"s//kept@x.test", R"({"reason": "manual", "at": 1})"}});
  RecordSweeper sweeper(*spool, {.first = std::chrono::hours(1)});
  EXPECT_EQ(sweeper.sweep(now), 4u);
  put(*spool, {});  // the deletions are in the next write
  EXPECT_EQ(count(*spool, "i/"), 1u);
  EXPECT_EQ(count(*spool, "u/"), 1u);
  EXPECT_EQ(count(*spool, "s/"), 1u);  // suppressions never expire
}

TEST(RecordSweeper, pages_through_many_records) {
  Dir dir;
  auto spool = spool::open_rocksdb_spool({.directory = dir.path.string()});
  std::vector<spool::Spool::Record> records;
  for (int i = 0; i < 2500; ++i) records.push_back({"i/ops/" + std::to_string(100000 + i), R"({"at": 1})"});
  put(*spool, std::move(records));
  RecordSweeper sweeper(*spool, {.first = std::chrono::hours(1)});
  EXPECT_EQ(sweeper.sweep(2'000'000'000), 2500u);
  put(*spool, {});
  EXPECT_EQ(count(*spool, "i/"), 0u);
}

}  // namespace
}  // namespace petrel::api
