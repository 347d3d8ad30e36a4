#include "spool/queue_id.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

namespace petrel::spool {
namespace {

TEST(QueueId, has_sixteen_base36_characters) {
  const QueueId id = make_queue_id();
  EXPECT_EQ(id.value.size(), 16u);
  EXPECT_TRUE(is_valid_queue_id(id.value)) << id.value;
}

TEST(QueueId, rejects_wrong_length_and_characters) {
  EXPECT_FALSE(is_valid_queue_id(""));
  EXPECT_FALSE(is_valid_queue_id("0123456789ABCDE"));
  EXPECT_FALSE(is_valid_queue_id("0123456789ABCDEFG"));
  EXPECT_FALSE(is_valid_queue_id("0123456789abcdef"));
  EXPECT_FALSE(is_valid_queue_id("0123456789ABCD/."));
  EXPECT_FALSE(is_valid_queue_id(std::string_view("0123456789ABCDE\0", 16)));
  EXPECT_TRUE(is_valid_queue_id("0123456789ABCDEZ"));
}

TEST(QueueId, later_ids_sort_after_earlier_ones) {
  const QueueId first = make_queue_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const QueueId second = make_queue_id();
  EXPECT_LT(first.value.substr(0, 10), second.value.substr(0, 10));
  EXPECT_LT(first, second);
}

TEST(QueueId, unique_over_100k_ids_from_several_threads) {
  constexpr int threads = 4;
  constexpr int per_thread = 25000;
  std::vector<std::vector<std::string>> made(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      made[t].reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) made[t].push_back(make_queue_id().value);
    });
  }
  for (auto& w : workers) w.join();
  std::unordered_set<std::string> all;
  for (const auto& ids : made) {
    for (const auto& id : ids) {
      ASSERT_TRUE(is_valid_queue_id(id)) << id;
      ASSERT_TRUE(all.insert(id).second) << "duplicate " << id;
    }
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
}

}  // namespace
}  // namespace petrel::spool
