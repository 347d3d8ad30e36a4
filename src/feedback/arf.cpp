// ARF (RFC 5965): a multipart/report; report-type=feedback-report whose
// parts are a human-readable text, the machine-readable
// message/feedback-report, and the returned message or its header. Parts
// are found by type, not position: some providers add or reorder parts.
#include "feedback/arf.hpp"

#include <vector>

#include "feedback/mime.hpp"

namespace petrel::feedback {
namespace {

using detail::ContentType;
using detail::Entity;
using detail::HeaderField;

// RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
constexpr std::size_t kMaxBoundary = 70;

// Input quoted in a reason, cut short: it can be anything.
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 60;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::string field(const std::vector<HeaderField>& fields, std::string_view name) {
  const std::string* value = detail::find_field(fields, name);
  return value ? *value : std::string();
}

// "<user@example.com>" as "user@example.com".
std::string without_angle_brackets(std::string value) {
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') return value.substr(1, value.size() - 2);
  return value;
}

// A part's type; RFC 2045 §5.2: text/plain when it has no Content-Type.
ContentType type_of(const Entity& part) {
  const std::string* value = detail::find_field(part.fields, "Content-Type");
  auto type = value ? detail::parse_content_type(*value) : std::nullopt;
  return type ? *type : ContentType{"text", "plain", {}};
}

bool is(const ContentType& type, std::string_view t, std::string_view subtype) {
  return type.type == t && type.subtype == subtype;
}

// The returned message (RFC 5965 §2 c); message/global and
// message/global-headers are their internationalized forms (RFC 6533).
bool is_original(const ContentType& type) {
  return is(type, "message", "rfc822") || is(type, "text", "rfc822-headers") || is(type, "message", "global") ||
         is(type, "message", "global-headers");
}

// A part's body read as a header section. Blank lines before it, which
// some generators write, are skipped.
std::vector<HeaderField> fields_of(std::string_view body) {
  while (!body.empty() && (body.front() == '\r' || body.front() == '\n')) body.remove_prefix(1);
  return detail::split_entity(body).fields;
}

// The top-level Content-Type must be multipart/report with
// report-type=feedback-report (RFC 5965 §2 a); its boundary.
std::optional<std::string> report_boundary(const Entity& message, std::string& reason) {
  auto fail = [&reason](std::string why) {
    reason = std::move(why);
    return std::optional<std::string>();
  };
  const std::string* value = detail::find_field(message.fields, "Content-Type");
  if (!value) return fail("not a multipart/report: no Content-Type");
  const auto type = detail::parse_content_type(*value);
  if (!type) return fail("not a multipart/report: unreadable Content-Type \"" + shown(*value) + "\"");
  if (!is(*type, "multipart", "report")) {
    return fail("not a multipart/report: Content-Type is " + shown(type->type + "/" + type->subtype));
  }
  const std::string* report_type = type->parameter("report-type");
  if (!report_type) return fail("a multipart/report without report-type (feedback-report for ARF)");
  if (!detail::equal_ignoring_case(*report_type, "feedback-report")) {
    return fail("a multipart/report, but of report-type \"" + shown(*report_type) + "\", not feedback-report");
  }
  const std::string* boundary = type->parameter("boundary");
  if (!boundary || boundary->empty()) return fail("multipart/report without a boundary");
  if (boundary->size() > kMaxBoundary) return fail("boundary longer than 70 characters (RFC 2046 §5.1.1)");
  return *boundary;
}

void read_report(const std::vector<HeaderField>& fields, FeedbackReport& report) {
  report.feedback_type = lower(field(fields, "Feedback-Type"));
  report.original_rcpt_to = without_angle_brackets(field(fields, "Original-Rcpt-To"));
  report.original_mail_from = without_angle_brackets(field(fields, "Original-Mail-From"));
  report.arrival_date = field(fields, "Arrival-Date");
  // Its name in the drafts before RFC 5965, which some generators still use.
  if (report.arrival_date.empty()) report.arrival_date = field(fields, "Received-Date");
  report.source_ip = field(fields, "Source-IP");
  report.reported_domain = field(fields, "Reported-Domain");
}

void read_original(const std::vector<HeaderField>& fields, FeedbackReport& report) {
  report.message_id = field(fields, "Message-ID");
  report.from = field(fields, "From");
  report.to = field(fields, "To");
  report.list_unsubscribe = field(fields, "List-Unsubscribe");
  if (const std::string* ref = detail::find_field(fields, "X-Petrel-Ref")) report.petrel_ref = *ref;
}

}  // namespace

std::optional<FeedbackReport> parse_arf(std::string_view message, std::string& reason) {
  const Entity top = detail::split_entity(message.substr(0, kMaxArfScan));
  const std::optional<std::string> boundary = report_boundary(top, reason);
  if (!boundary) return std::nullopt;
  const std::vector<std::string_view> parts = detail::split_multipart(top.body, *boundary);
  if (parts.empty()) {
    reason = "no body part delimited by \"--" + *boundary + "\"";
    return std::nullopt;
  }
  FeedbackReport report;
  bool has_report = false;
  bool has_original = false;
  for (std::string_view text : parts) {
    const Entity part = detail::split_entity(text);
    const ContentType type = type_of(part);
    if (!has_report && is(type, "message", "feedback-report")) {
      read_report(fields_of(part.body), report);
      has_report = true;
    } else if (!has_original && is_original(type)) {
      read_original(fields_of(part.body), report);
      has_original = true;
    }
  }
  if (!has_report) {
    reason = "no message/feedback-report part";
    return std::nullopt;
  }
  if (report.feedback_type.empty()) {
    reason = "the message/feedback-report part has no Feedback-Type";
    return std::nullopt;
  }
  return report;
}

}  // namespace petrel::feedback
