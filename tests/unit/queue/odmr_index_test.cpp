// The ODMR index: queued message IDs per ODMR domain, for ATRN's claims.
#include "queue/odmr_index.hpp"

#include <gtest/gtest.h>

namespace petrel::queue {
namespace {

using Ids = std::vector<std::string>;

TEST(OdmrIndex, candidates_come_from_the_domains_asked_only) {
  OdmrIndex index;
  index.add("a.test", "B0000000000000001");
  index.add("b.test", "B0000000000000002");
  index.add("c.test", "B0000000000000003");
  EXPECT_EQ(index.candidates({"a.test", "c.test"}, 10), (Ids{"B0000000000000001", "B0000000000000003"}));
  EXPECT_TRUE(index.candidates({"nothing.test"}, 10).empty());
}

TEST(OdmrIndex, a_message_held_for_two_domains_comes_once) {
  OdmrIndex index;
  index.add("a.test", "X1");
  index.add("b.test", "X1");
  index.add("b.test", "X2");
  EXPECT_EQ(index.candidates({"a.test", "b.test"}, 10), (Ids{"X1", "X2"}));
  EXPECT_EQ(index.entries(), 3u);
}

TEST(OdmrIndex, at_most_max_in_id_order) {
  OdmrIndex index;
  for (const char* id : {"X3", "X1", "X2", "X4"}) index.add("a.test", id);
  EXPECT_EQ(index.candidates({"a.test"}, 3), (Ids{"X1", "X2", "X3"}));
  EXPECT_TRUE(index.candidates({"a.test"}, 0).empty());
}

TEST(OdmrIndex, skipped_ids_leave_room_for_others) {
  OdmrIndex index;
  for (const char* id : {"X1", "X2", "X3"}) index.add("a.test", id);
  EXPECT_EQ(index.candidates({"a.test"}, 2, [](const std::string& id) { return id == "X1"; }), (Ids{"X2", "X3"}));
}

TEST(OdmrIndex, adding_twice_counts_once_and_removing_forgets) {
  OdmrIndex index;
  index.add("a.test", "X1");
  index.add("a.test", "X1");
  EXPECT_EQ(index.entries(), 1u);
  index.remove("a.test", "X1");
  index.remove("a.test", "X1");      // not there: nothing happens
  index.remove("none.test", "X1");
  EXPECT_EQ(index.entries(), 0u);
  EXPECT_EQ(index.count("a.test"), 0u);
  EXPECT_TRUE(index.candidates({"a.test"}, 10).empty());
}

}  // namespace
}  // namespace petrel::queue
