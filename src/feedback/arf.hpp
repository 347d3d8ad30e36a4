// ARF, the Abuse Reporting Format (RFC 5965): the reports a mailbox
// provider's feedback loop sends when a user marks a message as spam.
// parse_arf() says whether a message is one and takes out what a sender
// acts on: who complained (Original-Rcpt-To), about which message (the
// returned header's Message-ID, X-Petrel-Ref) and how to unsubscribe them.
// Pure: a string in, a struct out. docs/bounces.md describes it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::feedback {

struct FeedbackReport {
  // The message/feedback-report part (RFC 5965 §3.1, §3.2). Values are
  // unfolded and trimmed; the first of a repeated field is taken.
  std::string feedback_type;       // lower-case: "abuse", "fraud", "virus", "other", "not-spam"
  std::string original_rcpt_to;    // without its <>; often redacted by the provider
  std::string original_mail_from;  // without its <>
  std::string arrival_date;        // as written (RFC 5322 date-time); or Received-Date, its older name
  std::string source_ip;
  std::string reported_domain;

  // The returned message (message/rfc822) or its header
  // (text/rfc822-headers): values as written. All empty when the report
  // has no such part.
  std::string message_id;
  std::string from;
  std::string to;
  std::string list_unsubscribe;
  std::optional<std::string> petrel_ref;  // X-Petrel-Ref, when the message carried one

  bool operator==(const FeedbackReport&) const = default;
};

// At most this much of a message is read: a report is a few KiB; the rest
// of a bigger one (a large returned message) is not needed.
inline constexpr std::size_t kMaxArfScan = 1024 * 1024;

// The report, or nullopt with why not in `reason` (for the log): not a
// multipart/report, another report-type (a DSN is delivery-status), no
// boundary, no part delimited by it, no message/feedback-report part, no
// Feedback-Type. Lines may end in CRLF or LF. Any input is safe (fuzzed).
std::optional<FeedbackReport> parse_arf(std::string_view message, std::string& reason);

}  // namespace petrel::feedback
