// The scheduled queue (schedule.hpp): compact entries popped in order of
// due time, only once due; a flush forces a domain's entries (and those of
// messages for several domains) due now; domains interned to numbers.
#include "queue/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace petrel::queue {
namespace {

// A valid 16-character queue ID made from a number.
std::string qid(int n) {
  std::string id = "Q" + std::to_string(n);
  id.resize(16, 'x');
  return id;
}

// Pops everything due at `now`, in order.
std::vector<ScheduleEntry> drain(Schedule& s, std::int64_t now) {
  std::vector<ScheduleEntry> out;
  while (auto e = s.pop_due(now)) out.push_back(*e);
  return out;
}

std::vector<std::string> ids_of(const std::vector<ScheduleEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.emplace_back(e.id_view());
  return out;
}

TEST(Schedule, PopsEntriesInOrderOfDueTimeWhateverTheOrderAdded) {
  Schedule s;
  ASSERT_TRUE(s.add(qid(3), 300, DomainTable::none));
  ASSERT_TRUE(s.add(qid(1), 100, DomainTable::none));
  ASSERT_TRUE(s.add(qid(4), 400, DomainTable::none));
  ASSERT_TRUE(s.add(qid(2), 200, DomainTable::none));
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.next_due(), 100);
  EXPECT_EQ(ids_of(drain(s, 1000)), (std::vector<std::string>{qid(1), qid(2), qid(3), qid(4)}));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.next_due().has_value());
}

TEST(Schedule, PopDueGivesNothingBeforeTheFirstEntryIsDue) {
  Schedule s;
  s.add(qid(1), 100, DomainTable::none);
  s.add(qid(2), 200, DomainTable::none);
  EXPECT_FALSE(s.pop_due(99).has_value());
  EXPECT_EQ(s.size(), 2u);

  auto first = s.pop_due(100);  // due at exactly `now` is due
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id_view(), qid(1));
  EXPECT_FALSE(s.pop_due(199).has_value());
  EXPECT_EQ(s.next_due(), 200);
  EXPECT_TRUE(s.pop_due(200).has_value());
  EXPECT_FALSE(s.pop_due(1'000'000).has_value());
}

TEST(Schedule, AnEntryDueZeroIsDueNow) {
  Schedule s;
  s.add(qid(1), 0, DomainTable::none);
  EXPECT_TRUE(s.pop_due(1).has_value());
}

TEST(Schedule, AnEntryKeepsItsIdDomainAndForcedFlag) {
  Schedule s;
  ASSERT_TRUE(s.add("ABCDEFGHIJKLMNOP", 5, 7, /*forced=*/true));
  auto e = s.pop_due(5);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id_view(), "ABCDEFGHIJKLMNOP");
  EXPECT_EQ(e->due, 5);
  EXPECT_EQ(e->domain, 7u);
  EXPECT_TRUE(e->forced);
}

TEST(Schedule, AnEntryPoppedAndAddedBackComesUpAgain) {
  // The queue manager puts gated and unreadable entries back as they were.
  Schedule s;
  s.add(qid(1), 10, 3);
  auto e = s.pop_due(10);
  ASSERT_TRUE(e.has_value());
  e->due = 50;
  s.add(*e);
  EXPECT_FALSE(s.pop_due(49).has_value());
  auto again = s.pop_due(50);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id_view(), qid(1));
  EXPECT_EQ(again->domain, 3u);
}

TEST(Schedule, TheSameIdMayHaveSeveralEntries) {
  // Every change of a message's next attempt adds an entry; the stale
  // ones are recognised against the spool when they come up.
  Schedule s;
  s.add(qid(1), 10, DomainTable::none);
  s.add(qid(1), 20, DomainTable::none);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(ids_of(drain(s, 100)), (std::vector<std::string>{qid(1), qid(1)}));
}

TEST(Schedule, AddRefusesIdsThatAreNot16Characters) {
  Schedule s;
  EXPECT_FALSE(s.add("", 1, DomainTable::none));
  EXPECT_FALSE(s.add("ABCDEFGHIJKLMNO", 1, DomainTable::none));    // 15
  EXPECT_FALSE(s.add("ABCDEFGHIJKLMNOPQ", 1, DomainTable::none));  // 17
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.pop_due(100).has_value());
  EXPECT_TRUE(s.add("ABCDEFGHIJKLMNOP", 1, DomainTable::none));  // 16
  EXPECT_EQ(s.size(), 1u);
}

TEST(DomainTable, MatchingFindsADomainAndWithSubdomainsTheNamesBelowIt) {
  DomainTable t;
  const auto top = t.intern("example.org");
  const auto mx = t.intern("mx.example.org");
  const auto deep = t.intern("a.b.example.org");
  t.intern("badexample.org");
  t.intern("example.org.evil.test");
  EXPECT_EQ(t.matching("example.org", false), (std::vector<std::uint32_t>{top}));
  EXPECT_EQ(t.matching("example.org", true), (std::vector<std::uint32_t>{top, mx, deep}));
  EXPECT_EQ(t.matching("b.example.org", true), (std::vector<std::uint32_t>{deep}));
  EXPECT_TRUE(t.matching("nothing.test", true).empty());
}

TEST(Schedule, ForceDueOfSeveralDomainsForcesTheirsAndThoseOfSeveralDomains) {
  Schedule s;
  s.add(qid(1), 5000, 0);
  s.add(qid(2), 6000, 1);
  s.add(qid(3), 7000, 2);
  s.add(qid(4), 8000, DomainTable::none);
  EXPECT_EQ(s.force_due(100, std::vector<std::uint32_t>{0, 2}), 3u);
  EXPECT_EQ(drain(s, 100).size(), 3u);
}

TEST(Schedule, ForceDueMakesOneDomainsEntriesDueNowAndForced) {
  Schedule s;
  const std::uint32_t a = 0, b = 1;
  s.add(qid(1), 5000, a);
  s.add(qid(2), 6000, b);
  s.add(qid(3), 7000, a);
  EXPECT_EQ(s.force_due(100, a), 2u);

  auto popped = drain(s, 100);
  ASSERT_EQ(popped.size(), 2u);
  std::set<std::string> ids;
  for (const auto& e : popped) {
    ids.insert(std::string(e.id_view()));
    EXPECT_EQ(e.due, 100);
    EXPECT_TRUE(e.forced);
    EXPECT_EQ(e.domain, a);
  }
  EXPECT_EQ(ids, (std::set<std::string>{qid(1), qid(3)}));

  // The other domain's entry is untouched: still due later, not forced.
  EXPECT_EQ(s.next_due(), 6000);
  auto other = s.pop_due(6000);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->id_view(), qid(2));
  EXPECT_FALSE(other->forced);
}

TEST(Schedule, ForceDueForADomainAlsoForcesEntriesOfMessagesForSeveralDomains) {
  // DomainTable::none on an entry: the message waits for several domains
  // (or local delivery); a flush of any one of them must try it.
  Schedule s;
  const std::uint32_t a = 0, b = 1;
  s.add(qid(1), 5000, DomainTable::none);
  s.add(qid(2), 5000, b);
  EXPECT_EQ(s.force_due(100, a), 1u);
  auto e = s.pop_due(100);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id_view(), qid(1));
  EXPECT_TRUE(e->forced);
  EXPECT_FALSE(s.pop_due(100).has_value());
}

TEST(Schedule, ForceDueForAllDomainsForcesEveryEntry) {
  Schedule s;
  s.add(qid(1), 5000, 0);
  s.add(qid(2), 6000, 1);
  s.add(qid(3), 7000, DomainTable::none);
  EXPECT_EQ(s.force_due(100, DomainTable::none), 3u);
  auto popped = drain(s, 100);
  EXPECT_EQ(popped.size(), 3u);
  for (const auto& e : popped) EXPECT_TRUE(e.forced);
}

TEST(Schedule, ForceDueNeverPutsAnEntryLater) {
  Schedule s;
  s.add(qid(1), 50, 0);   // overdue already
  s.add(qid(2), 900, 0);
  s.force_due(100, 0);
  auto first = s.pop_due(100);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id_view(), qid(1));
  EXPECT_EQ(first->due, 50);
  auto second = s.pop_due(100);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->due, 100);
}

TEST(Schedule, OrderHoldsAcrossTheMemoryShrinkAfterALargeBacklogDrains) {
  // pop_due gives memory back once a large heap is mostly drained; the
  // entries left must still come out in order, and new ones fit in.
  Schedule s;
  std::mt19937 random(42);
  std::uniform_int_distribution<std::int64_t> due(1, 1'000'000);
  constexpr int kEntries = 20000;
  for (int n = 0; n < kEntries; ++n) ASSERT_TRUE(s.add(qid(n), due(random), static_cast<std::uint32_t>(n % 7)));

  std::int64_t last = 0;
  std::set<std::string> seen;
  auto pop_checked = [&](std::int64_t now) {
    auto e = s.pop_due(now);
    if (!e) return false;
    EXPECT_GE(e->due, last) << "out of order after " << seen.size() << " pops";
    last = e->due;
    EXPECT_TRUE(seen.insert(std::string(e->id_view())).second);
    return true;
  };
  // Well past the point where the heap is below a quarter of its capacity.
  for (int n = 0; n < kEntries * 9 / 10; ++n) ASSERT_TRUE(pop_checked(2'000'000));
  EXPECT_EQ(s.size(), static_cast<std::size_t>(kEntries / 10));

  // New entries after the shrink, due later than everything left.
  for (int n = kEntries; n < kEntries + 500; ++n) ASSERT_TRUE(s.add(qid(n), 1'500'000 + n, 0));
  while (pop_checked(2'000'000)) {
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kEntries + 500));
  EXPECT_EQ(s.size(), 0u);
}

// Waiting for room: a full site's domain has its due entries set aside,
// and they come up as the site makes room, never by the clock alone.

TEST(ScheduleRoom, EntriesOfADomainWaitingForRoomAreSetAsideOthersComeUp) {
  Schedule s;
  s.wait_for_room(1, /*until=*/1000, /*now=*/100, /*window=*/10);
  ASSERT_TRUE(s.add(qid(1), 50, 1));
  ASSERT_TRUE(s.add(qid(2), 60, 2));
  ASSERT_TRUE(s.add(qid(3), 70, DomainTable::none));
  EXPECT_EQ(ids_of(drain(s, 100)), (std::vector<std::string>{qid(2), qid(3)}));
  EXPECT_EQ(s.set_aside(), 1u);
  EXPECT_EQ(s.size(), 1u);  // still counted as queued
}

TEST(ScheduleRoom, OnlyDueEntriesAreSetAside) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  ASSERT_TRUE(s.add(qid(1), 500, 1));
  EXPECT_TRUE(drain(s, 100).empty());
  EXPECT_EQ(s.set_aside(), 0u);
  EXPECT_EQ(s.next_due(), 500);
}

TEST(ScheduleRoom, ReleaseBringsEntriesUpInTheOrderTheyWereSetAside) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  for (int n = 0; n < 5; ++n) ASSERT_TRUE(s.add(qid(n), 10 + n, 1));
  EXPECT_TRUE(drain(s, 100).empty());
  EXPECT_EQ(s.release(1, 2, 100), 2u);
  auto up = drain(s, 100);
  EXPECT_EQ(ids_of(up), (std::vector<std::string>{qid(0), qid(1)}));
  for (const auto& e : up) EXPECT_FALSE(e.passed) << "a popped entry starts afresh if added back";
  EXPECT_EQ(s.set_aside(), 3u);
  EXPECT_TRUE(s.waits_for_room(1));
}

TEST(ScheduleRoom, CreditLeftOverLetsLaterEntriesPass) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  EXPECT_EQ(s.release(1, 3, 100), 0u);  // room for 3, nothing set aside
  for (int n = 0; n < 5; ++n) ASSERT_TRUE(s.add(qid(n), 100, 1));
  EXPECT_EQ(drain(s, 100).size(), 3u);
  EXPECT_EQ(s.set_aside(), 2u);
}

TEST(ScheduleRoom, ASiteFullAgainCancelsTheCredit) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  s.release(1, 5, 100);
  s.wait_for_room(1, 2000, 100, 10);  // turned away again
  ASSERT_TRUE(s.add(qid(1), 100, 1));
  EXPECT_TRUE(drain(s, 100).empty());
}

TEST(ScheduleRoom, AWholeWindowOfCreditWithNothingAsideEndsTheWait) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 4);
  s.release(1, 3, 100);
  EXPECT_TRUE(s.waits_for_room(1));
  s.release(1, 1, 100);
  EXPECT_FALSE(s.waits_for_room(1));
}

TEST(ScheduleRoom, AtTheWaitsEndAWindowComesUpAndTheWaitGoesOn) {
  Schedule s;
  s.wait_for_room(1, /*until=*/130, /*now=*/100, /*window=*/2);
  for (int n = 0; n < 5; ++n) ASSERT_TRUE(s.add(qid(n), 100, 1));
  EXPECT_TRUE(drain(s, 100).empty());
  EXPECT_EQ(s.next_due(), 130);  // the wait's end wakes the queue
  EXPECT_EQ(s.release_expired(129), 0u);
  EXPECT_EQ(s.release_expired(130), 2u);
  EXPECT_EQ(drain(s, 130).size(), 2u);
  EXPECT_EQ(s.next_due(), 160);  // as long again
  EXPECT_EQ(s.release_expired(160), 2u);
  EXPECT_EQ(s.release_expired(190), 1u);
  EXPECT_FALSE(s.waits_for_room(1));  // none left aside: over
}

TEST(ScheduleRoom, AWaitLastsAtLeastTheMinimum) {
  Schedule s;
  s.wait_for_room(1, /*until=*/100, /*now=*/100, 1);
  for (int n = 0; n < 3; ++n) ASSERT_TRUE(s.add(qid(n), 100, 1));
  drain(s, 100);
  EXPECT_EQ(s.release_expired(100), 1u);
  EXPECT_EQ(drain(s, 100).size(), 1u);
  EXPECT_EQ(s.next_due(), 100 + Schedule::kMinRoomWait);
}

TEST(ScheduleRoom, OpenAndFlushBringUpEverythingSetAside) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  s.wait_for_room(2, 1000, 100, 10);
  for (int n = 0; n < 4; ++n) ASSERT_TRUE(s.add(qid(n), 100, 1 + n % 2));
  drain(s, 100);
  EXPECT_EQ(s.open(1, 100), 2u);
  EXPECT_FALSE(s.waits_for_room(1));
  EXPECT_EQ(drain(s, 100).size(), 2u);
  s.force_due(100, 2);
  EXPECT_FALSE(s.waits_for_room(2));
  EXPECT_EQ(drain(s, 100).size(), 2u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(ScheduleRoom, APopSetsAsideABoundedNumberThenLetsTheCallerGoOn) {
  Schedule s;
  s.wait_for_room(1, 1000, 100, 10);
  const int n = static_cast<int>(Schedule::kSetAsidePerPop) + 10;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(s.add(qid(i), 50, 1));
  ASSERT_TRUE(s.add(qid(n), 60, 2));
  EXPECT_FALSE(s.pop_due(100).has_value());  // its budget spent
  EXPECT_EQ(s.set_aside(), Schedule::kSetAsidePerPop);
  auto e = s.pop_due(100);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id_view(), qid(n));
  EXPECT_EQ(s.size(), static_cast<std::size_t>(n) + 0u);
}

TEST(DomainTable, InterningTheSameNameGivesTheSameNumber) {
  DomainTable t;
  const auto a = t.intern("example.org");
  const auto b = t.intern("example.net");
  EXPECT_NE(a, b);
  EXPECT_EQ(t.intern("example.org"), a);
  EXPECT_EQ(t.intern("example.net"), b);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_NE(a, DomainTable::none);
  EXPECT_NE(b, DomainTable::none);
}

TEST(DomainTable, NameGivesBackWhatWasInterned) {
  DomainTable t;
  std::vector<std::uint32_t> ids;
  // Enough names that the table's storage moves: the numbers and names stay.
  for (int n = 0; n < 1000; ++n) ids.push_back(t.intern("d" + std::to_string(n) + ".example"));
  for (int n = 0; n < 1000; ++n) {
    EXPECT_EQ(t.name(ids[n]), "d" + std::to_string(n) + ".example");
    EXPECT_EQ(t.intern("d" + std::to_string(n) + ".example"), ids[n]);
  }
  EXPECT_EQ(t.size(), 1000u);
}

TEST(DomainTable, NoneAndUnknownNumbersHaveAnEmptyName) {
  DomainTable t;
  t.intern("example.org");
  EXPECT_EQ(t.name(DomainTable::none), "");
  EXPECT_EQ(t.name(12345), "");
}

}  // namespace
}  // namespace petrel::queue
