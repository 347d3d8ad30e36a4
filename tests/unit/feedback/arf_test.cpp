// ARF reports (RFC 5965): what is taken from a real-looking report, what
// is not a report, and malformed ones.
#include <gtest/gtest.h>

#include <string>

#include "feedback/arf.hpp"

namespace petrel::feedback {
namespace {

// Lines joined with CRLF, as mail arrives.
std::string crlf(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) out.append(line).append("\r\n");
  return out;
}

// A Yahoo-style complaint (the returned message complete), with CRLF lines.
const std::string kYahooReport = crlf({
    "Return-Path: <feedback@arf.mail.yahoo.com>",
    "From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
    "To: fbl@example.com",
    "Subject: FW: Our autumn sale",
    "Date: Tue, 14 Nov 2023 10:05:00 +0000",
    "MIME-Version: 1.0",
    "Content-Type: multipart/report; report-type=feedback-report;",
    "\tboundary=\"----=_Part_41_1226543.1699956300000\"",
    "",
    "This is a multi-part message in MIME format.",
    "------=_Part_41_1226543.1699956300000",
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
    "",
    "This is an email abuse report for an email message received from IP 192.0.2.1 on",
    "Tue, 14 Nov 2023 10:00:00 +0000.",
    "------=_Part_41_1226543.1699956300000",
    "Content-Type: message/feedback-report",
    "Content-Transfer-Encoding: 7bit",
    "",
    "Feedback-Type: abuse",
    "User-Agent: Yahoo!-Mail-Feedback/2.0",
    "Version: 0.1",
    "Original-Mail-From: <bounce-7f3a@mail.example.com>",
    "Original-Rcpt-To: <someone@yahoo.com>",
    "Arrival-Date: Tue, 14 Nov 2023 10:00:00 +0000",
    "Reported-Domain: mail.example.com",
    "Authentication-Results: mta1001.mail.bf1.yahoo.com; dkim=pass header.d=example.com",
    "Source-IP: 192.0.2.1",
    "",
    "------=_Part_41_1226543.1699956300000",
    "Content-Type: message/rfc822",
    "Content-Disposition: inline",
    "",
    "Received: from mail.example.com (mail.example.com [192.0.2.1])",
    "\tby mta1001.mail.bf1.yahoo.com with ESMTPS; Tue, 14 Nov 2023 10:00:00 +0000",
    "Message-ID: <20231114100000.7f3a@mail.example.com>",
    "From: \"Example Shop\" <news@example.com>",
    "To: someone@yahoo.com",
    "Subject: Our autumn sale",
    "List-Unsubscribe: <https://example.com/unsubscribe/7f3a>,",
    "  <mailto:unsubscribe-7f3a@example.com>",
    "X-Petrel-Ref: 01HF3ZK8Q2V7",
    "Content-Type: text/plain",
    "",
    "Everything must go.",
    "Message-ID: <not-a-header@example.com>",
    "",
    "------=_Part_41_1226543.1699956300000--",
    "",
});

TEST(Arf, YahooStyleReport) {
  std::string reason;
  const auto report = parse_arf(kYahooReport, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "abuse");
  EXPECT_EQ(report->original_rcpt_to, "someone@yahoo.com");
  EXPECT_EQ(report->original_mail_from, "bounce-7f3a@mail.example.com");
  EXPECT_EQ(report->arrival_date, "Tue, 14 Nov 2023 10:00:00 +0000");
  EXPECT_EQ(report->source_ip, "192.0.2.1");
  EXPECT_EQ(report->reported_domain, "mail.example.com");
  EXPECT_EQ(report->message_id, "<20231114100000.7f3a@mail.example.com>");
  EXPECT_EQ(report->from, "\"Example Shop\" <news@example.com>");
  EXPECT_EQ(report->to, "someone@yahoo.com");
  EXPECT_EQ(report->list_unsubscribe, "<https://example.com/unsubscribe/7f3a>,  <mailto:unsubscribe-7f3a@example.com>");
  EXPECT_EQ(report->petrel_ref, "01HF3ZK8Q2V7");
}

// A Microsoft JMRP-style report: the recipient redacted, the returned
// header only (text/rfc822-headers), LF line ends, an unquoted boundary,
// type and parameters in mixed case, and no X-Petrel-Ref.
const std::string kMicrosoftReport =
    "From: staff@hotmail.com\n"
    "To: jmrp@example.com\n"
    "Subject: complaint about message from 192.0.2.1\n"
    "MIME-Version: 1.0\n"
    "Content-Type: Multipart/Report; Report-Type=Feedback-Report; BOUNDARY=jmrp_boundary_01\n"
    "\n"
    "--jmrp_boundary_01\n"
    "Content-Type: text/plain\n"
    "\n"
    "This is an email abuse report.\n"
    "--jmrp_boundary_01\n"
    "Content-Type: Message/Feedback-Report\n"
    "\n"
    "Feedback-Type: Abuse\n"
    "User-Agent: Microsoft Junk Mail Reporting Program\n"
    "Version: 1.0\n"
    "Original-Rcpt-To: <redacted@hotmail.com>\n"
    "Received-Date: Wed, 15 Nov 2023 08:30:00 -0800\n"
    "Source-IP: 2001:db8::25\n"
    "--jmrp_boundary_01\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Message-Id: <abc.123@example.com>\n"
    "from: news@example.com\n"
    "To: redacted@hotmail.com\n"
    "List-Unsubscribe: <mailto:u-123@example.com>\n"
    "--jmrp_boundary_01--\n";

TEST(Arf, MicrosoftStyleReportWithRfc822Headers) {
  std::string reason;
  const auto report = parse_arf(kMicrosoftReport, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "abuse");
  EXPECT_EQ(report->original_rcpt_to, "redacted@hotmail.com");
  EXPECT_EQ(report->original_mail_from, "");
  EXPECT_EQ(report->arrival_date, "Wed, 15 Nov 2023 08:30:00 -0800");
  EXPECT_EQ(report->source_ip, "2001:db8::25");
  EXPECT_EQ(report->message_id, "<abc.123@example.com>");
  EXPECT_EQ(report->from, "news@example.com");
  EXPECT_EQ(report->list_unsubscribe, "<mailto:u-123@example.com>");
  EXPECT_EQ(report->petrel_ref, std::nullopt);
}

TEST(Arf, ReportWithoutTheReturnedMessageStillReports) {
  std::string reason;
  const std::string text = crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=b", "",
                                 "--b", "Content-Type: message/feedback-report", "", "Feedback-Type: fraud",
                                 "Original-Rcpt-To: a@example.org", "--b--"});
  const auto report = parse_arf(text, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "fraud");
  EXPECT_EQ(report->original_rcpt_to, "a@example.org");
  EXPECT_EQ(report->message_id, "");
}

TEST(Arf, FoldedFieldsAreUnfolded) {
  std::string reason;
  const std::string text = crlf({"Content-Type: multipart/report;", " report-type=feedback-report;", "\tboundary=",
                                 "  \"folded\"", "", "--folded", "Content-Type:", " message/feedback-report", "",
                                 "Feedback-Type:", "   abuse", "Reported-Domain: example.com", "--folded--"});
  const auto report = parse_arf(text, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "abuse");
  EXPECT_EQ(report->reported_domain, "example.com");
}

TEST(Arf, QuotedBoundaryWithQuotedPairsAndNestedComments) {
  std::string reason;
  const std::string text =
      crlf({"Content-Type: multipart/report (an (ARF) report); report-type=\"feedback-report\" (RFC 5965);",
            " boundary=\"=_a\\\"b(c);d\"", "", "--=_a\"b(c);d", "Content-Type: message/feedback-report (7bit)", "",
            "Feedback-Type: abuse", "--=_a\"b(c);d--"});
  const auto report = parse_arf(text, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "abuse");
}

TEST(Arf, QuotedPrintableHeaderPartIsReadAsWritten) {
  std::string reason;
  const std::string text =
      crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=qp", "", "--qp",
            "Content-Type: message/feedback-report", "", "Feedback-Type: abuse", "--qp",
            "Content-Type: text/rfc822-headers", "Content-Transfer-Encoding: quoted-printable", "",
            "Message-ID: <a=3Db@example.com>", "X-Petrel-Ref: r1", "--qp--"});
  const auto report = parse_arf(text, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->message_id, "<a=3Db@example.com>");
  EXPECT_EQ(report->petrel_ref, "r1");
}

TEST(Arf, BlankLinesBeforeTheReportFieldsAreSkipped) {
  std::string reason;
  const std::string text = crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=b", "",
                                 "--b", "Content-Type: message/feedback-report", "", "", "Feedback-Type: abuse",
                                 "--b--"});
  const auto report = parse_arf(text, reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->feedback_type, "abuse");
}

// ---- Not a report ----

std::string reason_for(std::string_view message) {
  std::string reason;
  EXPECT_FALSE(parse_arf(message, reason));
  return reason;
}

TEST(ArfNotAReport, PlainMessage) {
  EXPECT_EQ(reason_for("From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n"),
            "not a multipart/report: no Content-Type");
  EXPECT_EQ(reason_for("Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"),
            "not a multipart/report: Content-Type is text/plain");
  EXPECT_EQ(reason_for("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"),
            "not a multipart/report: Content-Type is multipart/mixed");
}

TEST(ArfNotAReport, DeliveryStatusNotificationIsAnotherReportType) {
  EXPECT_EQ(reason_for("Content-Type: multipart/report; report-type=delivery-status; boundary=d\r\n\r\n"
                       "--d\r\nContent-Type: message/delivery-status\r\n\r\n"
                       "Reporting-MTA: dns; mx.example\r\n--d--\r\n"),
            "a multipart/report, but of report-type \"delivery-status\", not feedback-report");
  EXPECT_EQ(reason_for("Content-Type: multipart/report; boundary=d\r\n\r\n"),
            "a multipart/report without report-type (feedback-report for ARF)");
}

TEST(ArfNotAReport, Empty) {
  EXPECT_EQ(reason_for(""), "not a multipart/report: no Content-Type");
  EXPECT_EQ(reason_for("Content-Type: multipart\r\n\r\n"),
            "not a multipart/report: unreadable Content-Type \"multipart\"");
}

TEST(ArfNotAReport, NoFeedbackReportPart) {
  EXPECT_EQ(reason_for(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=b", "", "--b",
                             "Content-Type: text/plain", "", "You have been reported.", "--b--"})),
            "no message/feedback-report part");
}

TEST(ArfNotAReport, FeedbackReportWithoutFeedbackType) {
  EXPECT_EQ(reason_for(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=b", "", "--b",
                             "Content-Type: message/feedback-report", "", "User-Agent: x/1", "Version: 1", "--b--"})),
            "the message/feedback-report part has no Feedback-Type");
}

// ---- Malformed boundaries ----

TEST(ArfBoundary, Missing) {
  EXPECT_EQ(reason_for("Content-Type: multipart/report; report-type=feedback-report\r\n\r\nbody\r\n"),
            "multipart/report without a boundary");
  EXPECT_EQ(reason_for("Content-Type: multipart/report; report-type=feedback-report; boundary=\"\"\r\n\r\n"),
            "multipart/report without a boundary");
}

TEST(ArfBoundary, LongerThanRfc2046Allows) {
  const std::string boundary(71, 'b');
  EXPECT_EQ(reason_for("Content-Type: multipart/report; report-type=feedback-report; boundary=" + boundary +
                       "\r\n\r\n--" + boundary + "\r\n"),
            "boundary longer than 70 characters (RFC 2046 §5.1.1)");
}

TEST(ArfBoundary, NeverUsedInTheBody) {
  EXPECT_EQ(reason_for(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=abc", "", "--abd",
                             "Content-Type: message/feedback-report", "", "Feedback-Type: abuse"})),
            "no body part delimited by \"--abc\"");
}

TEST(ArfBoundary, LineThatOnlyStartsWithTheBoundaryIsNotADelimiter) {
  EXPECT_EQ(reason_for(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=abc", "",
                             "--abcdef", "Content-Type: message/feedback-report", "", "Feedback-Type: abuse"})),
            "no body part delimited by \"--abc\"");
}

TEST(ArfBoundary, TransportPaddingAfterTheDelimiterIsAllowed) {
  std::string reason;
  const auto report = parse_arf(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=abc", "",
                                      "--abc \t", "Content-Type: message/feedback-report", "", "Feedback-Type: abuse",
                                      "--abc--  "}),
                                reason);
  ASSERT_TRUE(report) << reason;
}

TEST(ArfBoundary, MissingCloseDelimiterReadsTheLastPartToTheEnd) {
  std::string reason;
  const auto report = parse_arf(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=abc", "",
                                      "--abc", "Content-Type: message/feedback-report", "", "Feedback-Type: abuse",
                                      "--abc", "Content-Type: message/rfc822", "", "Message-ID: <cut@example.com>"}),
                                reason);
  ASSERT_TRUE(report) << reason;
  EXPECT_EQ(report->message_id, "<cut@example.com>");
}

TEST(ArfBoundary, PartsAfterTheCloseDelimiterAreEpilogue) {
  EXPECT_EQ(reason_for(crlf({"Content-Type: multipart/report; report-type=feedback-report; boundary=abc", "", "--abc",
                             "Content-Type: text/plain", "", "hi", "--abc--", "--abc",
                             "Content-Type: message/feedback-report", "", "Feedback-Type: abuse"})),
            "no message/feedback-report part");
}

TEST(ArfLimits, OnlyTheFirstMebibyteIsRead) {
  const std::string head = "Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n";
  const std::string report = "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n--b--\r\n";
  std::string reason;
  EXPECT_TRUE(parse_arf(head + std::string(1000, 'x') + "\r\n" + report, reason)) << reason;
  EXPECT_EQ(reason_for(head + std::string(kMaxArfScan, 'x') + "\r\n" + report), "no body part delimited by \"--b\"");
}

TEST(ArfLimits, GarbageIsNotAReport) {
  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage += static_cast<char>((i * 7919) % 256);
  std::string reason;
  EXPECT_FALSE(parse_arf(garbage, reason));
  EXPECT_FALSE(reason.empty());
}

}  // namespace
}  // namespace petrel::feedback
