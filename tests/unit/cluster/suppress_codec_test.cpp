#include "cluster/suppress_codec.hpp"

#include <gtest/gtest.h>

#include "cluster/cluster_status.hpp"

namespace petrel::cluster {
namespace {

using suppress::Change;
using suppress::Entry;
using suppress::Reason;

Entry entry(std::string tenant, std::string address, std::int64_t at, Reason reason = Reason::unsubscribe) {
  Entry e;
  e.tenant = std::move(tenant);
  e.address = std::move(address);
  e.reason = reason;
  e.at = at;
  return e;
}

Fields fields_of(const std::vector<std::string>& args, std::string node) {
  return {{"op", args[0] == "push" ? "add" : args[0]}, {"tenant", args[1]}, {"address", args[2]},
          {"at", args[3]}, {"node", std::move(node)}, {"value", args[4]}};
}

TEST(SuppressCodec, the_global_list_and_a_tenant_have_hashes_of_their_own) {
  EXPECT_EQ(suppress_hash_key(""), "petrel:suppress:list:");
  EXPECT_EQ(suppress_hash_key("shop1"), "petrel:suppress:list:shop1");
  EXPECT_NE(suppress_hash_key("log"), kSuppressLogKey);
}

TEST(SuppressCodec, an_add_goes_through_the_log_and_comes_back_the_same) {
  Entry e = entry("shop1", "Ann@Example.org", 1700000000);
  e.campaign = "spring";
  e.detail = "one-click";
  const auto args = script_args({Change::Op::add, e}, "n1");
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[0], "add");
  EXPECT_EQ(args[2], "ann@example.org");
  const auto logged = parse_log_entry(fields_of(args, "n1"));
  ASSERT_TRUE(logged);
  EXPECT_EQ(logged->node, "n1");
  EXPECT_EQ(logged->change.op, Change::Op::add);
  EXPECT_EQ(logged->change.entry.tenant, "shop1");
  EXPECT_EQ(logged->change.entry.address, "ann@example.org");
  EXPECT_EQ(logged->change.entry.reason, Reason::unsubscribe);
  EXPECT_EQ(logged->change.entry.campaign, "spring");
  EXPECT_EQ(logged->change.entry.detail, "one-click");
  EXPECT_EQ(logged->change.entry.at, 1700000000);
}

TEST(SuppressCodec, a_push_is_logged_as_an_add) {
  const auto args = script_args({Change::Op::add, entry("", "bob@example.org", 5)}, "n2", true);
  EXPECT_EQ(args[0], "push");
}

TEST(SuppressCodec, a_removal_carries_its_time_and_no_value) {
  const auto args = script_args({Change::Op::remove, entry("", "bob@example.org", 42)}, "n2");
  EXPECT_EQ(args[0], "remove");
  EXPECT_EQ(args[4], "");
  const auto logged = parse_log_entry(fields_of(args, "n2"));
  ASSERT_TRUE(logged);
  EXPECT_EQ(logged->change.op, Change::Op::remove);
  EXPECT_EQ(logged->change.entry.tenant, "");
  EXPECT_EQ(logged->change.entry.at, 42);
}

TEST(SuppressCodec, malformed_log_entries_are_skipped) {
  EXPECT_FALSE(parse_log_entry({}));
  EXPECT_FALSE(parse_log_entry({{"op", "add"}, {"tenant", ""}, {"address", "a@b"}, {"at", "x"}, {"value", "{}"}}));
  EXPECT_FALSE(parse_log_entry({{"op", "add"}, {"tenant", ""}, {"address", "a@b"}, {"at", "1"}, {"value", "nope"}}));
  EXPECT_FALSE(parse_log_entry({{"op", "add"}, {"tenant", "a/b"}, {"address", "a@b"}, {"at", "1"}, {"value", "{}"}}));
  EXPECT_FALSE(parse_log_entry({{"op", "drop"}, {"tenant", ""}, {"address", "a@b"}, {"at", "1"}}));
  EXPECT_FALSE(parse_log_entry({{"op", "add"}, {"tenant", ""}, {"address", "nobody"}, {"at", "1"}, {"value", "{}"}}));
}

TEST(SuppressCodec, an_add_from_the_log_always_replaces_what_a_node_holds) {
  const Change add{Change::Op::add, entry("", "a@b", 10)};
  EXPECT_TRUE(replaces(add, std::nullopt));
  EXPECT_TRUE(replaces(add, entry("", "a@b", 20)));
}

TEST(SuppressCodec, a_removal_does_not_undo_a_newer_add) {
  const Change remove{Change::Op::remove, entry("", "a@b", 10)};
  EXPECT_FALSE(replaces(remove, std::nullopt));  // nothing to remove
  EXPECT_TRUE(replaces(remove, entry("", "a@b", 10)));
  EXPECT_TRUE(replaces(remove, entry("", "a@b", 9)));
  EXPECT_FALSE(replaces(remove, entry("", "a@b", 11)));
}

TEST(SuppressCodec, stream_ids_parse_and_order) {
  EXPECT_EQ(StreamId::parse("1700000000000-3"), (StreamId{1700000000000, 3}));
  EXPECT_EQ(StreamId::parse("5"), (StreamId{5, 0}));
  EXPECT_FALSE(StreamId::parse(""));
  EXPECT_FALSE(StreamId::parse("1-x"));
  EXPECT_FALSE(StreamId::parse("-1"));
  EXPECT_LT((StreamId{1, 9}), (StreamId{2, 0}));
  EXPECT_LT((StreamId{2, 0}), (StreamId{2, 1}));
  EXPECT_EQ((StreamId{7, 1}).str(), "7-1");
}

TEST(SuppressCodec, the_cursor_round_trips_and_refuses_garbage) {
  const Cursor c{"abc", "17-2"};
  EXPECT_EQ(decode_cursor(encode_cursor(c)), c);
  EXPECT_FALSE(decode_cursor("{}"));
  EXPECT_FALSE(decode_cursor(R"({"epoch":"","last_id":"1-0"})"));
  EXPECT_FALSE(decode_cursor(R"({"epoch":"e","last_id":"x"})"));
}

TEST(SuppressCodec, a_log_trimmed_past_the_cursor_needs_a_full_resync) {
  const StreamId at{100, 0};
  EXPECT_FALSE(log_trimmed_past(at, StreamId{0, 0}, StreamId{50, 0}));
  EXPECT_FALSE(log_trimmed_past(at, StreamId{0, 0}, StreamId{100, 0}));  // the cursor's entry still there
  // Trimming (MAXLEN) leaves max-deleted-entry-id at 0-0: the first entry says.
  EXPECT_TRUE(log_trimmed_past(at, StreamId{0, 0}, StreamId{100, 1}));
  EXPECT_TRUE(log_trimmed_past(at, StreamId{100, 1}, StreamId{50, 0}));  // an XDEL past the cursor
  EXPECT_FALSE(log_trimmed_past(at, std::nullopt, StreamId{100, 0}));    // before Redis 7
  EXPECT_TRUE(log_trimmed_past(at, std::nullopt, StreamId{100, 1}));
  EXPECT_FALSE(log_trimmed_past(at, std::nullopt, std::nullopt));         // no log yet
  // A log that never lost an entry, followed from before its first (0-0).
  EXPECT_FALSE(log_trimmed_past(StreamId{}, StreamId{0, 0}, StreamId{100, 1}, true));
}

TEST(SuppressCodec, pending_writes_are_bounded_and_keep_their_order) {
  PendingWrites q(3);
  std::vector<Change> four;
  for (int i = 0; i < 4; ++i) four.push_back({Change::Op::add, entry("", "a" + std::to_string(i) + "@b", i)});
  EXPECT_EQ(q.push(four), 1u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_TRUE(q.take_overflowed());
  EXPECT_FALSE(q.take_overflowed());
  auto first = q.take(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].entry.address, "a0@b");
  q.put_back(std::move(first));
  const auto all = q.take(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].entry.address, "a0@b");
  EXPECT_EQ(all[2].entry.address, "a2@b");
  EXPECT_TRUE(q.empty());
}

TEST(ClusterStatus, nodes_whose_heartbeat_expired_are_gone_and_ages_use_redis_clock) {
  const auto rows = node_rows(10'000, {{"n2", 9'000}, {"n1", 9'500}, {"n3", 1'000}},
                              {std::string(R"({"queue":4})"), std::string("{}"), std::nullopt}, "n1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["name"], "n1");
  EXPECT_EQ(rows[0]["age_ms"], 500);
  EXPECT_EQ(rows[0]["self"], true);
  EXPECT_EQ(rows[1]["name"], "n2");
  EXPECT_EQ(rows[1]["heartbeat"]["queue"], 4);
  EXPECT_EQ(rows[1]["self"], false);
}

TEST(ClusterStatus, links_report_their_health_when_asked) {
  int asked = 0;
  set_health_source("nats", [&asked] {
    ++asked;
    return nlohmann::json{{"url", "nats://127.0.0.1:4222"}, {"connected", true}};
  });
  const auto h = health();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(h["nats"]["connected"], true);
  set_health_source("nats", nullptr);
  EXPECT_TRUE(health().empty());
}

}  // namespace
}  // namespace petrel::cluster
