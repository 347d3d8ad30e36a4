#include "cluster/accounting.hpp"

#include <gtest/gtest.h>

namespace petrel::cluster {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point() + 1000s;

TEST(GcraRequest, the_interval_is_rounded_up_and_the_horizon_is_a_batch_at_most_a_second) {
  const auto r = gcra_request(shaping::Rate{30, 1000ms}, 10, 100);
  EXPECT_EQ(r.interval_us, 33334);  // never faster than 30/s
  EXPECT_EQ(r.tolerance_us, 0);
  EXPECT_EQ(r.wanted, 10u);          // at most a batch
  EXPECT_EQ(r.horizon_us, 9 * 33334);
  EXPECT_EQ(gcra_request(shaping::Rate{30, 1000ms}, 100, 5).horizon_us, 1'000'000);  // a second at most
  EXPECT_EQ(gcra_request(shaping::Rate{30, 1000ms}, 100, 5).wanted, 5u);           // what waits
  EXPECT_EQ(gcra_request(shaping::Rate{30, 1000ms}, 100, 0).wanted, 1u);
  // A batch shorter than 20 ms: 20 ms ahead, so that nodes asking at once
  // queue behind each other rather than get nothing.
  EXPECT_EQ(gcra_request(shaping::Rate{1, 3600'000ms}, 1, 1).horizon_us, 20'000);
  EXPECT_EQ(gcra_request(shaping::Rate{100'000, 1000ms}, 20, 20).horizon_us, 20'000);
}

TEST(TokenPool, granted_cells_are_due_one_interval_apart_from_the_answer) {
  TokenPool pool;
  EXPECT_EQ(pool.wait(t0), TokenPool::kNoCell);
  pool.asked();
  pool.granted({3, 0, 100'000}, t0);
  EXPECT_EQ(pool.held(t0), 3u);
  EXPECT_TRUE(pool.take(t0));
  EXPECT_EQ(pool.wait(t0), 100ms);
  EXPECT_FALSE(pool.take(t0 + 50ms));  // not due yet
  EXPECT_TRUE(pool.take(t0 + 100ms));
  EXPECT_TRUE(pool.take(t0 + 200ms));
  EXPECT_EQ(pool.wait(t0 + 200ms), TokenPool::kNoCell);
}

TEST(TokenPool, cells_due_in_the_past_count_from_the_answer_not_before) {
  TokenPool pool;
  pool.granted({2, -500'000, 100'000}, t0);  // Redis said: the first was due half a second ago
  EXPECT_EQ(pool.held(t0), 2u);
  EXPECT_TRUE(pool.take(t0));
  EXPECT_TRUE(pool.take(t0));  // both due now, none earlier than the answer
}

TEST(TokenPool, a_cell_not_spent_within_its_grace_is_dropped) {
  TokenPool pool;
  pool.granted({2, 0, 30'000}, t0);  // grace: one interval (30 ms), at least 20 ms
  EXPECT_EQ(pool.held(t0 + 40ms), 1u);
  EXPECT_EQ(pool.held(t0 + 80ms), 0u);
}

TEST(TokenPool, none_granted_waits_until_the_next_would_be_due) {
  TokenPool pool;
  pool.asked();
  EXPECT_FALSE(pool.should_ask(t0, 0ms, 1));  // one request at a time
  pool.granted({0, 400'000, 100'000}, t0);
  EXPECT_FALSE(pool.should_ask(t0 + 100ms, 0ms, 1));
  EXPECT_TRUE(pool.should_ask(t0 + 400ms, 0ms, 1));
}

TEST(TokenPool, asks_again_when_the_cells_held_run_out_within_the_lead) {
  TokenPool pool;
  pool.granted({10, 0, 100'000}, t0);  // the last due at t0 + 900 ms
  EXPECT_FALSE(pool.should_ask(t0, 500ms, 30));
  EXPECT_TRUE(pool.should_ask(t0 + 450ms, 500ms, 30));
  EXPECT_FALSE(pool.should_ask(t0 + 450ms, 500ms, 10));  // half of what is wanted is held
  pool.failed(t0 + 450ms, 100ms);
  EXPECT_FALSE(pool.should_ask(t0 + 500ms, 500ms, 30));
  EXPECT_TRUE(pool.should_ask(t0 + 560ms, 500ms, 30));
}

TEST(GcraRequest, a_high_rate_asks_for_a_whole_batch_even_for_one_job) {
  EXPECT_EQ(gcra_request(shaping::Rate{100'000, 1000ms}, 20, 1).wanted, 20u);  // 50 ms hold 5000 cells
  EXPECT_EQ(gcra_request(shaping::Rate{100, 1000ms}, 20, 1).wanted, 5u);       // 50 ms hold 5
}

TEST(FallbackShare, a_rate_is_divided_by_the_live_nodes_exactly) {
  EXPECT_EQ(fallback_share(shaping::Rate{30, 1000ms}, 3), (shaping::Rate{30, 3000ms}));  // 10/s
  EXPECT_EQ(fallback_share(shaping::Rate{30, 1000ms}, 0), (shaping::Rate{30, 1000ms}));  // at least one node
  EXPECT_TRUE(fallback_share(shaping::Rate{}, 3).unlimited());
  shaping::Throttle share(fallback_share(shaping::Rate{30, 1000ms}, 3));
  EXPECT_EQ(share.acquire(t0), 0ns);
  EXPECT_EQ(share.acquire(t0 + 50ms), 50ms);  // 100 ms apart
}

TEST(FallbackShare, a_connection_limit_is_divided_and_at_least_one) {
  EXPECT_EQ(fallback_share(std::size_t{10}, 3), 3u);
  EXPECT_EQ(fallback_share(std::size_t{2}, 5), 1u);
  EXPECT_EQ(fallback_share(std::size_t{4}, 1), 4u);
}

TEST(LeaseBook, a_connection_opens_only_on_a_spare_lease) {
  LeaseBook book("n1");
  EXPECT_FALSE(book.spare(0));
  ASSERT_TRUE(book.may_ask(t0));
  const std::string id = book.ask();
  EXPECT_EQ(id, "n1:1");
  EXPECT_FALSE(book.may_ask(t0));  // one request at a time
  book.acquired(id);
  EXPECT_TRUE(book.spare(0));
  EXPECT_FALSE(book.spare(1));  // the one connection holds it
  EXPECT_EQ(book.ask(), "n1:2");  // ids are never reused
}

TEST(LeaseBook, refused_waits_and_release_gives_back) {
  LeaseBook book("n1");
  book.ask();
  book.refused(t0, 250ms);
  EXPECT_FALSE(book.may_ask(t0 + 100ms));
  EXPECT_TRUE(book.may_ask(t0 + 250ms));
  book.acquired(book.ask());
  book.acquired(book.ask());
  EXPECT_EQ(book.release_spare(1).size(), 1u);
  EXPECT_EQ(book.held().size(), 1u);
  EXPECT_FALSE(book.release().empty());
  EXPECT_TRUE(book.release().empty());  // none held: nothing to give back
}

}  // namespace
}  // namespace petrel::cluster
