// Every add and remove, once durable, is reported to the change observer
// (what a cluster's shared list sends on to the other nodes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "spool/spool.hpp"
#include "suppress/suppression_list.hpp"

namespace petrel::suppress {
namespace {

struct Dir {
  Dir() : path(std::filesystem::temp_directory_path() / ("observer-" + std::to_string(::getpid()) + "-" + std::to_string(n++))) {}
  ~Dir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
  static inline int n = 0;
};

std::error_code wait(const std::function<void(std::function<void(std::error_code)>)>& start) {
  std::promise<std::error_code> done;
  start([&done](std::error_code ec) { done.set_value(ec); });
  return done.get_future().get();
}

TEST(ChangeObserver, adds_and_removes_are_reported_after_they_are_stored) {
  Dir dir;
  auto spool = spool::open_rocksdb_spool({.directory = dir.path.string()});
  SuppressionList list(*spool);
  std::vector<Change> seen;
  bool stored_first = false;
  set_change_observer([&](const std::vector<Change>& changes) {
    std::error_code ec;
    stored_first = list.find("shop1", "ann@x.test", ec).has_value();
    seen.insert(seen.end(), changes.begin(), changes.end());
  });
  Entry e;
  e.tenant = "shop1";
  e.address = "ann@x.test";
  e.reason = Reason::unsubscribe;
  e.at = 100;
  ASSERT_FALSE(wait([&](auto done) { list.add({e}, done); }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(stored_first);
  EXPECT_EQ(seen[0].op, Change::Op::add);
  EXPECT_EQ(seen[0].entry.address, "ann@x.test");
  EXPECT_EQ(seen[0].entry.reason, Reason::unsubscribe);

  ASSERT_FALSE(wait([&](auto done) { list.remove("shop1", {"Ann@X.test"}, done); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].op, Change::Op::remove);
  EXPECT_EQ(seen[1].entry.tenant, "shop1");
  EXPECT_EQ(seen[1].entry.address, "ann@x.test");  // as the record's key has it
  EXPECT_GT(seen[1].entry.at, 100);                 // the time of the removal

  set_change_observer(nullptr);
  ASSERT_FALSE(wait([&](auto done) { list.add({e}, done); }));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(ChangeObserver, a_record_reads_back_as_its_entry) {
  Entry e;
  e.tenant = "";
  e.address = "bob@x.test";
  e.reason = Reason::hard_bounce;
  e.detail = "550 no such user";
  e.at = 7;
  const auto back = parse_record(record_key(e.tenant, e.address), record_value(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->address, "bob@x.test");
  EXPECT_EQ(back->reason, Reason::hard_bounce);
  EXPECT_EQ(back->detail, "550 no such user");
  EXPECT_EQ(back->at, 7);
  EXPECT_FALSE(parse_record("x/y", "{}"));
}

}  // namespace
}  // namespace petrel::suppress
