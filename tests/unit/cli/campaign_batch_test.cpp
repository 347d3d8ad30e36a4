// Batches of petrel campaign send: --rate, the pacer, the request body,
// what a reply says of each row, and problems in words.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/campaign_batch.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;
using Clock = RatePacer::Clock;

RecipientRow row(std::uint64_t index, std::string email, std::string invalid = "") {
  RecipientRow r;
  r.index = index;
  r.line = index + 2;
  r.email = std::move(email);
  r.invalid = std::move(invalid);
  return r;
}

TEST(CampaignBatch, rate_is_per_second_minute_or_hour) {
  EXPECT_DOUBLE_EQ(parse_rate("200/s")->per_second, 200);
  EXPECT_DOUBLE_EQ(parse_rate("200")->per_second, 200);
  EXPECT_DOUBLE_EQ(parse_rate("1200/m")->per_second, 20);
  EXPECT_DOUBLE_EQ(parse_rate("36000/h")->per_second, 10);
  EXPECT_DOUBLE_EQ(parse_rate("0.5/s")->per_second, 0.5);
  for (const char* bad : {"", "/s", "0/s", "-5/s", "200/d", "200/", "fast", "20 0/s", "inf"}) {
    EXPECT_FALSE(parse_rate(bad)) << bad;
  }
}

TEST(CampaignBatch, the_pacer_spaces_reservations_by_their_size) {
  RatePacer pacer(Rate{100});
  const auto t0 = Clock::now();
  EXPECT_EQ(pacer.reserve(50, t0), t0);  // the first goes at once
  EXPECT_EQ(pacer.reserve(50, t0), t0 + std::chrono::milliseconds(500));
  EXPECT_EQ(pacer.reserve(10, t0), t0 + std::chrono::seconds(1));
  // After a pause the next one goes at once again, with no burst saved up.
  const auto later = t0 + std::chrono::seconds(10);
  EXPECT_EQ(pacer.reserve(100, later), later);
  EXPECT_EQ(pacer.reserve(1, later), later + std::chrono::seconds(1));
  RatePacer unlimited(std::nullopt);
  EXPECT_EQ(unlimited.reserve(1000000, t0), t0);
}

TEST(CampaignBatch, body_holds_the_valid_rows_and_the_key) {
  Batch batch{3, {row(1500, "ann@x.test"), row(1501, "bad", "line 1503: bad"), row(1502, "bob@x.test")}};
  batch.rows[0].name = "Ann";
  batch.rows[0].vars = {{"code", "A1"}, {"city", "Z\xC3\xBCrich"}};
  const json request = {{"raw", "Hi {{name}}"}, {"envelope_sender", "b@x.test"}, {"campaign", "spring"}};
  const json body = json::parse(batch_body(request, batch, "spring-0123456789ab-3"));
  EXPECT_EQ(body["raw"], "Hi {{name}}");
  EXPECT_EQ(body["idempotency_key"], "spring-0123456789ab-3");
  ASSERT_EQ(body["recipients"].size(), 2u);
  EXPECT_EQ(body["recipients"][0], (json{{"email", "ann@x.test"}, {"name", "Ann"}, {"vars", {{"code", "A1"}, {"city", "Z\xC3\xBCrich"}}}}));
  EXPECT_EQ(body["recipients"][1], (json{{"email", "bob@x.test"}}));
  EXPECT_EQ(batch.valid(), 2u);
}

TEST(CampaignBatch, reply_gives_each_row_its_status_in_row_order) {
  Batch batch{0, {row(0, "ann@x.test"), row(1, "bad", "line 3: bad"), row(2, "bob@x.test"), row(3, "cy@x.test"),
                  row(4, "ann@x.test"), row(5, "dee@x.test")}};
  const json reply = {
      {"accepted", 2},
      {"messages", {{{"email", "ann@x.test"}, {"queue_id", "Q1"}}, {{"email", "ann@x.test"}, {"queue_id", "Q2"}}}},
      {"rejected",
       {{{"email", "bob@x.test"}, {"reason", "suppressed (unsubscribe)"}, {"suppressed", "unsubscribe"}},
        {{"email", "cy@x.test"}, {"reason", "no such domain"}}}}};
  const auto results = batch_results(batch, reply);
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].status, RecipientStatus::accepted);
  EXPECT_EQ(results[0].queue_id, "Q1");
  EXPECT_EQ(results[1].status, RecipientStatus::invalid);
  EXPECT_EQ(results[1].reason, "line 3: bad");
  EXPECT_EQ(results[2].status, RecipientStatus::suppressed);
  EXPECT_EQ(results[3].status, RecipientStatus::rejected);
  EXPECT_EQ(results[3].reason, "no such domain");
  EXPECT_EQ(results[4].queue_id, "Q2");  // a second row for the same address gets the second outcome
  EXPECT_EQ(results[5].status, RecipientStatus::rejected);
  EXPECT_NE(results[5].reason.find("does not mention"), std::string::npos);
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].row, i);
}

TEST(CampaignBatch, problems_are_told_in_words_with_the_place) {
  const std::string template_error =
      R"({"type":"about:blank","title":"Unprocessable Content","status":422,"detail":"unclosed section","pointer":"/raw","line":3,"column":5})";
  EXPECT_EQ(describe_problem(422, template_error, "msg.eml", true),
            "HTTP 422 Unprocessable Content: unclosed section (in msg.eml line 3, column 5)");
  const std::string field_error =
      R"({"title":"Unprocessable Content","status":422,"detail":"bad tag","pointer":"/subject","line":1,"column":9})";
  EXPECT_EQ(describe_problem(422, field_error, "msg.json", false),
            "HTTP 422 Unprocessable Content: bad tag (at /subject, line 1, column 9 of that field)");
  EXPECT_EQ(describe_problem(401, R"({"title":"Unauthorized","status":401,"detail":"no valid bearer token"})", "m", false),
            "HTTP 401 Unauthorized: no valid bearer token (check the token in --token-file)");
  EXPECT_EQ(describe_problem(502, "<html>\nBad gateway</html>", "m", false), "HTTP 502: <html> Bad gateway</html>");
}

}  // namespace
}  // namespace petrel::cli
