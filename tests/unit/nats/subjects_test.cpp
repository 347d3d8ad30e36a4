// Which subject an event goes to on NATS, and which stream subjects cover
// them all (nats/subjects.hpp).
#include <gtest/gtest.h>

#include "nats/subjects.hpp"

namespace petrel::nats {
namespace {

TEST(Subjects, an_event_goes_to_its_tenant_and_type) {
  EXPECT_EQ(event_subject("shop1", "Delivery"), "petrel.events.shop1.Delivery");
}

TEST(Subjects, an_event_without_tenant_goes_to_default) {
  EXPECT_EQ(event_subject("", "Reception"), "petrel.events.default.Reception");
}

TEST(Subjects, dots_wildcards_and_white_space_in_a_tenant_become_underscores) {
  EXPECT_EQ(event_subject("shop.example.org", "Bounce"), "petrel.events.shop_example_org.Bounce");
  EXPECT_EQ(event_subject("a*b>c d\te\x01", "Bounce"), "petrel.events.a_b_c_d_e_.Bounce");
  EXPECT_EQ(subject_token(""), "_");
  EXPECT_EQ(subject_token("Åsa-1_x"), "Åsa-1_x");  // UTF-8 is kept
}

TEST(Subjects, streams_that_take_every_event_cover_the_wildcard) {
  for (const char* filter : {"petrel.events.>", "petrel.>", "petrel.*.>", ">", "*.events.>", "*.*.>"}) {
    EXPECT_TRUE(covers(filter, kEventsWildcard)) << filter;
  }
}

TEST(Subjects, streams_that_take_only_some_events_do_not_cover_it) {
  for (const char* filter : {"petrel.events.*", "petrel.events.default.>", "petrel.events", "petrel.*",
                             "petrel.events.*.*", "other.>", "petrel.mail.>", "*.*.*.>"}) {
    EXPECT_FALSE(covers(filter, kEventsWildcard)) << filter;
  }
}

TEST(Subjects, the_route_of_an_outbox_event_is_read_from_its_json) {
  const auto r = route_of(R"({"type":"Delivery","event_id":"Q1.0.1.D","tenant":"shop.1","queue_id":"Q1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event_id, "Q1.0.1.D");
  EXPECT_EQ(r->subject, "petrel.events.shop_1.Delivery");
  const auto d = route_of(R"({"type":"AdminAction","event_id":"9f1c"})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->subject, "petrel.events.default.AdminAction");
}

TEST(Subjects, what_is_not_an_event_has_no_route) {
  EXPECT_FALSE(route_of("not json"));
  EXPECT_FALSE(route_of(R"({"type":"Delivery"})"));
  EXPECT_FALSE(route_of(R"({"type":1,"event_id":"x"})"));
  EXPECT_FALSE(route_of("[]"));
}

}  // namespace
}  // namespace petrel::nats
