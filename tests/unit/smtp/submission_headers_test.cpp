#include "smtp/submission_headers.hpp"

#include <gtest/gtest.h>

namespace petrel::smtp {
namespace {

constexpr std::time_t kNoon = 1795435200;  // 2026-11-23 12:00:00 UTC

TEST(SubmissionHeaders, adds_date_and_message_id_when_both_are_missing) {
  EXPECT_EQ(missing_submission_headers("Subject: hi\r\n\r\nbody\r\n", "mx.example.test", "Q1", kNoon),
            "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <Q1@mx.example.test>\r\n");
}

TEST(SubmissionHeaders, keeps_what_is_there_in_any_case) {
  EXPECT_EQ(missing_submission_headers("message-id: <a@b>\r\nDATE: x\r\n\r\n", "h", "Q", kNoon), "");
  EXPECT_EQ(missing_submission_headers("Date : x\r\n\r\n", "h", "Q", kNoon), "Message-ID: <Q@h>\r\n");
}

TEST(SubmissionHeaders, looks_only_at_the_header_section) {
  EXPECT_EQ(missing_submission_headers("Subject: a\r\n\r\nDate: in the body\r\nMessage-ID: <x@y>\r\n", "h", "Q", kNoon),
            "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <Q@h>\r\n");
}

TEST(SubmissionHeaders, a_field_name_is_not_a_prefix_match) {
  EXPECT_EQ(missing_submission_headers("Dates: x\r\nMessage-IDs: y\r\n\r\n", "h", "Q", kNoon),
            "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <Q@h>\r\n");
}

}  // namespace
}  // namespace petrel::smtp
