#include "delivery/dsn.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "smtp/received_header.hpp"

namespace petrel::delivery {
namespace {

constexpr std::time_t kArrival = 1'790'000'000;
constexpr std::time_t kNow = kArrival + 3600;

const std::string kOriginal =
    "Received: from client.example.net ([192.0.2.10])\r\n"
    "\tby mx.example.net (Petrel) with ESMTP id 0123456789ABCDEF;\r\n"
    "\tTue, 20 Sep 2026 10:00:00 +0000\r\n"
    "From: Alice <alice@example.net>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Hello\r\n"
    "Message-ID: <m1@example.net>\r\n"
    "\r\n"
    "Hi Bob,\r\n"
    "see you tomorrow.\r\n";

smtp::Address address(std::string local, std::string domain) { return {std::move(local), std::move(domain)}; }

RecipientStatus unknown_user(std::string local = "bob") {
  RecipientStatus r;
  r.recipient.forward_path = address(local, "example.org");
  r.status = "5.1.1";
  r.remote_mta = "mx1.example.org";
  r.diagnostic = "550 5.1.1 <" + local + "@example.org>: user unknown";
  r.last_attempt = kNow - 10;
  return r;
}

RecipientStatus deferred(std::string local = "bob") {
  RecipientStatus r;
  r.recipient.forward_path = address(local, "example.org");
  r.status = "4.4.1";
  r.remote_mta = "mx1.example.org";
  r.diagnostic = "421 4.4.1 try again later";
  r.last_attempt = kNow - 10;
  r.will_retry_until = kArrival + 5 * 24 * 3600;
  return r;
}

// A message split the way a MIME reader would: top header, and each part's
// header and body between the boundaries.
struct Part {
  std::string header;
  std::string body;
};
struct Parsed {
  std::string header;
  std::string boundary;
  std::vector<Part> parts;
};

Parsed parse(const std::string& m) {
  Parsed p;
  const std::size_t header_end = m.find("\r\n\r\n");
  EXPECT_NE(header_end, std::string::npos);
  p.header = m.substr(0, header_end + 2);
  const std::size_t b = p.header.find("boundary=\"") + 10;
  p.boundary = p.header.substr(b, p.header.find('"', b) - b);
  const std::string body = m.substr(header_end + 4);
  const std::string delimiter = "\r\n--" + p.boundary;
  std::size_t pos = body.find(delimiter);
  while (pos != std::string::npos) {
    pos += delimiter.size();
    if (body.compare(pos, 4, "--\r\n") == 0) break;
    EXPECT_EQ(body.compare(pos, 2, "\r\n"), 0);
    pos += 2;
    const std::size_t next = body.find(delimiter, pos);
    const std::string part = body.substr(pos, next - pos);
    const std::size_t part_header_end = part.find("\r\n\r\n");
    p.parts.push_back({part.substr(0, part_header_end + 2), part.substr(part_header_end + 4)});
    pos = next;
  }
  return p;
}

// Field values with folding undone, "" when absent.
std::string field(std::string block, std::string_view name) {
  for (std::size_t f; (f = block.find("\r\n ")) != std::string::npos;) block.replace(f, 3, " ");
  const std::string key = "\r\n" + std::string(name) + ": ";
  block.insert(0, "\r\n");
  const std::size_t at = block.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return block.substr(start, block.find("\r\n", start) - start);
}

// The text part with its line wrapping undone: every line break and the
// indentation after it become one space.
std::string flat(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\r\n") != 0) {
      out += text[i];
      continue;
    }
    ++i;
    while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
    out += ' ';
  }
  return out;
}

// The delivery-status body's groups: per-message first, then one per recipient.
std::vector<std::string> groups(const std::string& status) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t end = status.find("\r\n\r\n", pos);
    end = end == std::string::npos ? status.size() : end + 2;
    out.push_back(status.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

void expect_mailable_lines(const std::string& m) {
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      ASSERT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
      EXPECT_LE(i - line_start, 998u) << m.substr(line_start, 60);
      line_start = i + 2;
      ++i;
    } else {
      ASSERT_NE(m[i], '\n') << "bare LF at " << i;
    }
  }
  EXPECT_EQ(line_start, m.size()) << "does not end with CRLF";
}

class MakeDsn : public ::testing::Test {
 protected:
  MakeDsn() {
    envelope.reverse_path.mailbox = address("alice", "example.net");
    envelope.helo_name = "client.example.net";
    envelope.client_address = "192.0.2.10";
  }

  DsnInput input(DsnKind kind, std::vector<RecipientStatus> recipients) const {
    return DsnInput{.kind = kind,
                    .reporting_mta = "mx.example.net",
                    .queue_id = spool::QueueId{"0123456789ABCDEF"},
                    .envelope = envelope,
                    .original = original,
                    .arrival = kArrival,
                    .now = kNow,
                    .recipients = std::move(recipients),
                    .dsn_id = "dsn1"};
  }

  smtp::Envelope envelope;
  std::string original = kOriginal;
};

TEST_F(MakeDsn, bounce_is_a_report_from_the_mailer_daemon_to_the_sender) {
  const Dsn dsn = make_dsn(input(DsnKind::failure, {unknown_user()}));
  const Parsed p = parse(dsn.content);
  EXPECT_EQ(field(p.header, "From"), "Mail Delivery System <MAILER-DAEMON@mx.example.net>");
  EXPECT_EQ(field(p.header, "To"), "<alice@example.net>");
  EXPECT_EQ(field(p.header, "Auto-Submitted"), "auto-replied");
  EXPECT_EQ(field(p.header, "Message-ID"), "<dsn1@mx.example.net>");
  EXPECT_EQ(field(p.header, "MIME-Version"), "1.0");
  EXPECT_EQ(field(p.header, "Date"), smtp::rfc5322_date(kNow));
  EXPECT_NE(field(p.header, "Subject").find("not delivered"), std::string::npos);
  EXPECT_EQ(field(p.header, "Content-Type"),
            "multipart/report; report-type=delivery-status; boundary=\"" + p.boundary + "\"");
  EXPECT_FALSE(dsn.eight_bit);
  EXPECT_FALSE(dsn.smtputf8);
  expect_mailable_lines(dsn.content);

  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(field(p.parts[0].header, "Content-Type"), "text/plain; charset=us-ascii");
  EXPECT_NE(flat(p.parts[0].body).find("<bob@example.org>: delivery failed"), std::string::npos);
  EXPECT_NE(flat(p.parts[0].body).find("The server mx1.example.org said: 550 5.1.1 <bob@example.org>: user unknown"),
            std::string::npos);
  EXPECT_NE(flat(p.parts[0].body).find("the mailbox does not exist"), std::string::npos);
  EXPECT_EQ(field(p.parts[1].header, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "message/rfc822");
}

TEST_F(MakeDsn, bounce_report_has_per_message_then_per_recipient_fields) {
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(field(g[0], "Reporting-MTA"), "dns; mx.example.net");
  EXPECT_EQ(field(g[0], "Received-From-MTA"), "dns; client.example.net");
  EXPECT_EQ(field(g[0], "Arrival-Date"), smtp::rfc5322_date(kArrival));
  EXPECT_EQ(field(g[0], "X-Petrel-Queue-ID"), "0123456789ABCDEF");
  EXPECT_EQ(field(g[0], "Original-Envelope-Id"), "");
  EXPECT_EQ(field(g[1], "Final-Recipient"), "rfc822; bob@example.org");
  EXPECT_EQ(field(g[1], "Original-Recipient"), "");
  EXPECT_EQ(field(g[1], "Action"), "failed");
  EXPECT_EQ(field(g[1], "Status"), "5.1.1");
  EXPECT_EQ(field(g[1], "Remote-MTA"), "dns; mx1.example.org");
  EXPECT_EQ(field(g[1], "Diagnostic-Code"), "smtp; 550 5.1.1 <bob@example.org>: user unknown");
  EXPECT_EQ(field(g[1], "Last-Attempt-Date"), smtp::rfc5322_date(kNow - 10));
  EXPECT_EQ(field(g[1], "Will-Retry-Until"), "");
}

TEST_F(MakeDsn, delay_warning_says_until_when_and_returns_headers_only) {
  const Parsed p = parse(make_dsn(input(DsnKind::delay, {deferred()})).content);
  EXPECT_NE(field(p.header, "Subject").find("delayed"), std::string::npos);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_NE(flat(p.parts[0].body).find("This is only a warning"), std::string::npos);
  EXPECT_NE(flat(p.parts[0].body).find("Will keep trying until: " + smtp::rfc5322_date(kArrival + 5 * 24 * 3600)),
            std::string::npos);
  const std::vector<std::string> g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(field(g[1], "Action"), "delayed");
  EXPECT_EQ(field(g[1], "Status"), "4.4.1");
  EXPECT_EQ(field(g[1], "Will-Retry-Until"), smtp::rfc5322_date(kArrival + 5 * 24 * 3600));
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "text/rfc822-headers");
  EXPECT_NE(p.parts[2].body.find("Subject: Hello\r\n"), std::string::npos);
  EXPECT_EQ(p.parts[2].body.find("Hi Bob"), std::string::npos);
}

TEST_F(MakeDsn, success_report_says_delivered_or_relayed) {
  RecipientStatus local;
  local.recipient.forward_path = address("bob", "example.org");
  local.recipient.notify = smtp::notify_success;
  local.will_retry_until = kNow;  // not a delay report: not written
  RecipientStatus relayed = local;
  relayed.recipient.forward_path = address("carol", "example.com");
  relayed.remote_mta = "mx.example.com";
  relayed.diagnostic = "250 2.0.0 Ok: queued as 12345";

  const Parsed p = parse(make_dsn(input(DsnKind::success, {local, relayed})).content);
  EXPECT_NE(field(p.header, "Subject").find("delivered"), std::string::npos);
  const std::vector<std::string> g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(field(g[1], "Action"), "delivered");
  EXPECT_EQ(field(g[1], "Status"), "2.0.0");
  EXPECT_EQ(field(g[1], "Will-Retry-Until"), "");
  EXPECT_EQ(field(g[2], "Action"), "relayed");
  EXPECT_EQ(field(g[2], "Remote-MTA"), "dns; mx.example.com");
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "text/rfc822-headers");
}

TEST_F(MakeDsn, explicit_action_and_malformed_status) {
  RecipientStatus r = unknown_user();
  r.action = DsnAction::expanded;
  r.status = "5.1";  // not a status code: the kind's default instead
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {r})).content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  EXPECT_EQ(field(g[1], "Action"), "expanded");
  EXPECT_EQ(field(g[1], "Status"), "5.0.0");
}

TEST_F(MakeDsn, local_reason_is_not_labelled_smtp) {
  RecipientStatus r;
  r.recipient.forward_path = address("bob", "example.org");
  r.status = "5.2.2";
  r.diagnostic = "maildir quota exceeded";
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {r})).content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  EXPECT_EQ(field(g[1], "Diagnostic-Code"), "X-Petrel; maildir quota exceeded");
  EXPECT_EQ(field(g[1], "Remote-MTA"), "");
  EXPECT_NE(flat(p.parts[0].body).find("Reason: maildir quota exceeded"), std::string::npos);
  EXPECT_NE(flat(p.parts[0].body).find("the mailbox is full"), std::string::npos);
}

TEST_F(MakeDsn, ret_unspecified_returns_the_whole_message_on_failure) {
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "message/rfc822");
  EXPECT_EQ(p.parts[2].body, kOriginal);
  EXPECT_NE(flat(p.parts[0].body).find("The original message is attached."), std::string::npos);
}

TEST_F(MakeDsn, ret_full_returns_the_whole_message) {
  envelope.params.ret = smtp::DsnRet::full;
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "message/rfc822");
  EXPECT_EQ(p.parts[2].body, kOriginal);
}

TEST_F(MakeDsn, ret_hdrs_returns_headers_only) {
  envelope.params.ret = smtp::DsnRet::headers;
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(p.parts[2].body, kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 2));
  EXPECT_NE(flat(p.parts[0].body).find("The headers of the original message are attached."), std::string::npos);
}

TEST_F(MakeDsn, ret_full_over_the_cap_returns_headers_and_says_so) {
  envelope.params.ret = smtp::DsnRet::full;
  original += std::string(300, 'x') + "\r\n";
  DsnInput in = input(DsnKind::failure, {unknown_user()});
  in.max_returned_size = 400;
  const Parsed p = parse(make_dsn(in).content);
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(p.parts[2].body.find("Hi Bob"), std::string::npos);
  EXPECT_NE(flat(p.parts[0].body).find("larger than 400 octets, so only its headers"), std::string::npos);
}

TEST_F(MakeDsn, headers_over_the_cap_are_cut_at_a_line) {
  DsnInput in = input(DsnKind::delay, {deferred()});
  in.max_returned_size = 100;
  const Parsed p = parse(make_dsn(in).content);
  EXPECT_LE(p.parts[2].body.size(), 100u);
  EXPECT_TRUE(kOriginal.starts_with(p.parts[2].body));
  EXPECT_TRUE(p.parts[2].body.ends_with("\r\n"));
  EXPECT_NE(flat(p.parts[0].body).find("cut short"), std::string::npos);
}

TEST_F(MakeDsn, message_that_mail_cannot_carry_unchanged_returns_headers) {
  original += std::string(1200, 'x') + "\r\n";  // a line over 998 octets
  const Parsed long_line = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(long_line.parts[2].header, "Content-Type"), "text/rfc822-headers");
  EXPECT_NE(flat(long_line.parts[0].body).find("could not be attached unchanged"), std::string::npos);

  original = kOriginal + "bare\nline feed\r\n";
  const Parsed bare_lf = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(bare_lf.parts[2].header, "Content-Type"), "text/rfc822-headers");

  original = kOriginal;
  envelope.params.body = smtp::BodyType::binary_mime;
  const Parsed binary = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(binary.parts[2].header, "Content-Type"), "text/rfc822-headers");
}

TEST_F(MakeDsn, eight_bit_body_is_returned_with_8bit_encoding) {
  original = kOriginal + "Gr\xC3\xBC\xC3\x9F" "e\r\n";
  const Dsn dsn = make_dsn(input(DsnKind::failure, {unknown_user()}));
  const Parsed p = parse(dsn.content);
  EXPECT_EQ(field(p.parts[2].header, "Content-Type"), "message/rfc822");
  EXPECT_EQ(field(p.parts[2].header, "Content-Transfer-Encoding"), "8bit");
  EXPECT_EQ(field(p.header, "Content-Transfer-Encoding"), "8bit");
  EXPECT_TRUE(dsn.eight_bit);
  EXPECT_FALSE(dsn.smtputf8);
}

TEST_F(MakeDsn, no_original_no_third_part) {
  original.clear();
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(p.parts.size(), 2u);
}

TEST_F(MakeDsn, envid_and_orcpt_are_reported) {
  envelope.params.envid = "QQ314159";
  RecipientStatus r = unknown_user();
  r.recipient.orcpt = "rfc822;Bob.Smith@Example.ORG";
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {r})).content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  EXPECT_EQ(field(g[0], "Original-Envelope-Id"), "QQ314159");
  EXPECT_EQ(g[0].find("Original-Envelope-Id:"), 0u);  // first, as RFC 3464 §2.2 orders them
  EXPECT_EQ(field(g[1], "Original-Recipient"), "rfc822; Bob.Smith@Example.ORG");
  EXPECT_EQ(g[1].find("Original-Recipient:"), 0u);
  EXPECT_NE(flat(p.parts[0].body).find("(originally addressed to Bob.Smith@Example.ORG)"), std::string::npos);
}

TEST_F(MakeDsn, malformed_orcpt_is_left_out) {
  RecipientStatus r = unknown_user();
  r.recipient.orcpt = "no-type-here";
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {r})).content);
  EXPECT_EQ(field(groups(p.parts[1].body)[1], "Original-Recipient"), "");
}

TEST_F(MakeDsn, every_recipient_gets_its_own_group_in_order) {
  RecipientStatus full_mailbox = unknown_user("carol");
  full_mailbox.status = "5.2.2";
  full_mailbox.diagnostic = "552 5.2.2 mailbox full";
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {unknown_user("bob"), full_mailbox})).content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(field(g[1], "Final-Recipient"), "rfc822; bob@example.org");
  EXPECT_EQ(field(g[1], "Status"), "5.1.1");
  EXPECT_EQ(field(g[2], "Final-Recipient"), "rfc822; carol@example.org");
  EXPECT_EQ(field(g[2], "Status"), "5.2.2");
  EXPECT_EQ(field(g[2], "Diagnostic-Code"), "smtp; 552 5.2.2 mailbox full");
  const std::string text = p.parts[0].body;
  EXPECT_LT(text.find("<bob@example.org>"), text.find("<carol@example.org>"));
}

TEST_F(MakeDsn, long_diagnostic_is_folded_and_no_line_passes_998) {
  RecipientStatus r = unknown_user();
  std::string words;
  for (int i = 0; i < 400; ++i) words += " word" + std::to_string(i);
  r.diagnostic = "550 5.7.1" + words + " " + std::string(2500, 'z');  // and one unbroken 2500-octet run
  r.remote_mta = std::string(1200, 'h') + ".example.org";
  const Dsn dsn = make_dsn(input(DsnKind::failure, {r}));
  expect_mailable_lines(dsn.content);
  const Parsed p = parse(dsn.content);
  const std::string diag = field(groups(p.parts[1].body)[1], "Diagnostic-Code");
  EXPECT_EQ(diag.find("smtp; 550 5.7.1 word0 word1 word2"), 0u);
  EXPECT_NE(diag.find("word399"), std::string::npos);
}

TEST_F(MakeDsn, huge_diagnostic_is_cut) {
  RecipientStatus r = unknown_user();
  r.diagnostic = "550";
  for (int i = 0; i < 5000; ++i) r.diagnostic += " x";
  const Parsed p = parse(make_dsn(input(DsnKind::failure, {r})).content);
  const std::string diag = field(groups(p.parts[1].body)[1], "Diagnostic-Code");
  EXPECT_LT(diag.size(), 4200u);
  EXPECT_TRUE(diag.ends_with(" ..."));
}

TEST_F(MakeDsn, reply_text_cannot_add_fields_or_lines) {
  RecipientStatus r = unknown_user();
  r.diagnostic = "550-5.1.1 first line\r\n550 5.1.1 second\r\nStatus: 2.0.0\nAction: delivered\r\n\r\n--x\x01\x7f";
  r.remote_mta = "mx1.example.org\r\nAction: delivered";
  const Dsn dsn = make_dsn(input(DsnKind::failure, {r}));
  expect_mailable_lines(dsn.content);
  const Parsed p = parse(dsn.content);
  const std::vector<std::string> g = groups(p.parts[1].body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(field(g[1], "Action"), "failed");
  EXPECT_EQ(field(g[1], "Status"), "5.1.1");
  EXPECT_EQ(field(g[1], "Remote-MTA"), "dns; mx1.example.org");
  EXPECT_EQ(field(g[1], "Diagnostic-Code"),
            "smtp; 550-5.1.1 first line 550 5.1.1 second Status: 2.0.0 Action: delivered --x");
}

TEST_F(MakeDsn, boundary_never_occurs_in_the_content) {
  const std::string first = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content).boundary;
  ASSERT_FALSE(first.empty());
  // The original carries the boundary the first DSN used, twice over.
  original = kOriginal + "--" + first + "\r\n" + first + "1\r\n";
  RecipientStatus r = unknown_user();
  r.diagnostic = "550 " + first;
  const Dsn dsn = make_dsn(input(DsnKind::failure, {r}));
  const Parsed p = parse(dsn.content);
  EXPECT_NE(p.boundary, first);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.parts[2].body, original);
  for (const Part& part : p.parts) EXPECT_EQ(part.body.find(p.boundary), std::string::npos);
}

TEST_F(MakeDsn, utf8_address_gives_a_global_report) {
  RecipientStatus r = unknown_user();
  r.recipient.forward_path = address("j\xC3\xB6rg+tag", "b\xC3\xBC" "cher.example");
  r.diagnostic = "550 5.1.1 unknown user j\xC3\xB6rg";
  envelope.params.smtputf8 = true;
  const Dsn dsn = make_dsn(input(DsnKind::failure, {r}));
  expect_mailable_lines(dsn.content);
  const Parsed p = parse(dsn.content);
  EXPECT_EQ(field(p.header, "Content-Type"),
            "multipart/report; report-type=global-delivery-status; boundary=\"" + p.boundary + "\"");
  EXPECT_EQ(field(p.parts[0].header, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(field(p.parts[1].header, "Content-Type"), "message/global-delivery-status");
  EXPECT_EQ(field(p.parts[1].header, "Content-Transfer-Encoding"), "8bit");
  const std::vector<std::string> g = groups(p.parts[1].body);
  // RFC 6533 §3: '+' is written \x{2B} in a utf-8 address.
  EXPECT_EQ(field(g[1], "Final-Recipient"), "utf-8; j\xC3\xB6rg\\x{2B}tag@b\xC3\xBC" "cher.example");
  EXPECT_EQ(field(g[1], "Diagnostic-Code"), "smtp; 550 5.1.1 unknown user j\xC3\xB6rg");
  EXPECT_TRUE(dsn.eight_bit);
  EXPECT_FALSE(dsn.smtputf8);  // the sender's address is ASCII
}

TEST_F(MakeDsn, ascii_report_never_carries_raw_utf8) {
  RecipientStatus r = unknown_user();
  r.diagnostic = "550 5.1.1 Benutzer unbekannt: J\xC3\xB6rg \xFF";  // UTF-8 and a stray octet
  const Dsn dsn = make_dsn(input(DsnKind::failure, {r}));
  const Parsed p = parse(dsn.content);
  EXPECT_EQ(field(p.parts[1].header, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(groups(p.parts[1].body)[1], "Diagnostic-Code"), "smtp; 550 5.1.1 Benutzer unbekannt: J?rg ?");
  EXPECT_FALSE(dsn.eight_bit);
}

TEST_F(MakeDsn, utf8_sender_needs_smtputf8) {
  envelope.reverse_path.mailbox = address("\xC3\xA9lise", "example.net");
  const Dsn dsn = make_dsn(input(DsnKind::failure, {unknown_user()}));
  EXPECT_TRUE(dsn.smtputf8);
  EXPECT_EQ(field(parse(dsn.content).header, "To"), "<\xC3\xA9lise@example.net>");
}

TEST_F(MakeDsn, utf8_header_is_returned_as_message_global) {
  original = "Subject: Gr\xC3\xBC\xC3\x9F" "e\r\n\r\nbody\r\n";
  const Parsed whole = parse(make_dsn(input(DsnKind::failure, {unknown_user()})).content);
  EXPECT_EQ(field(whole.parts[2].header, "Content-Type"), "message/global");
  const Parsed headers = parse(make_dsn(input(DsnKind::delay, {deferred()})).content);
  EXPECT_EQ(field(headers.parts[2].header, "Content-Type"), "message/global-headers");
}

TEST_F(MakeDsn, message_id_is_always_a_dot_atom) {
  DsnInput in = input(DsnKind::failure, {unknown_user()});
  in.dsn_id = ".a b<c>..d.";
  EXPECT_EQ(field(parse(make_dsn(in).content).header, "Message-ID"), "<abc.d@mx.example.net>");
  in.dsn_id.clear();
  EXPECT_EQ(field(parse(make_dsn(in).content).header, "Message-ID"),
            "<0123456789ABCDEF.F." + std::to_string(kNow) + "@mx.example.net>");
}

TEST_F(MakeDsn, null_sender_gets_no_dsn) {
  EXPECT_TRUE(may_send_dsn(envelope));
  envelope.reverse_path.mailbox.reset();
  EXPECT_FALSE(may_send_dsn(envelope));
  EXPECT_THROW(make_dsn(input(DsnKind::failure, {unknown_user()})), std::invalid_argument);
}

TEST_F(MakeDsn, no_recipients_is_a_programming_error) {
  EXPECT_THROW(make_dsn(input(DsnKind::failure, {})), std::invalid_argument);
}

TEST_F(MakeDsn, dsn_is_sent_from_the_null_path_to_the_sender) {
  const Dsn dsn = make_dsn(input(DsnKind::failure, {unknown_user()}));
  const smtp::Envelope e = dsn_envelope(envelope, dsn);
  EXPECT_TRUE(e.reverse_path.is_null());
  ASSERT_EQ(e.recipients.size(), 1u);
  EXPECT_EQ(e.recipients[0].forward_path, address("alice", "example.net"));
  EXPECT_EQ(e.recipients[0].notify, smtp::notify_never);
  EXPECT_EQ(e.params.body, smtp::BodyType::seven_bit);
  EXPECT_FALSE(e.params.smtputf8);
}

TEST(WantsDsn, notify_unspecified_means_failure_and_delay) {
  smtp::Recipient r{address("bob", "example.org"), smtp::notify_unspecified, ""};
  EXPECT_TRUE(wants_dsn(r, DsnKind::failure));
  EXPECT_TRUE(wants_dsn(r, DsnKind::delay));
  EXPECT_FALSE(wants_dsn(r, DsnKind::success));
}

TEST(WantsDsn, notify_never_means_nothing) {
  smtp::Recipient r{address("bob", "example.org"), smtp::notify_never, ""};
  EXPECT_FALSE(wants_dsn(r, DsnKind::failure));
  EXPECT_FALSE(wants_dsn(r, DsnKind::delay));
  EXPECT_FALSE(wants_dsn(r, DsnKind::success));
}

TEST(WantsDsn, explicit_notify_gets_only_what_it_names) {
  smtp::Recipient r{address("bob", "example.org"), smtp::notify_success, ""};
  EXPECT_FALSE(wants_dsn(r, DsnKind::failure));
  EXPECT_FALSE(wants_dsn(r, DsnKind::delay));
  EXPECT_TRUE(wants_dsn(r, DsnKind::success));

  r.notify = smtp::notify_failure;
  EXPECT_TRUE(wants_dsn(r, DsnKind::failure));
  EXPECT_FALSE(wants_dsn(r, DsnKind::delay));
  EXPECT_FALSE(wants_dsn(r, DsnKind::success));

  r.notify = smtp::notify_failure | smtp::notify_delay;
  EXPECT_TRUE(wants_dsn(r, DsnKind::failure));
  EXPECT_TRUE(wants_dsn(r, DsnKind::delay));
  EXPECT_FALSE(wants_dsn(r, DsnKind::success));

  r.notify = smtp::notify_delay | smtp::notify_success;
  EXPECT_FALSE(wants_dsn(r, DsnKind::failure));
  EXPECT_TRUE(wants_dsn(r, DsnKind::delay));
  EXPECT_TRUE(wants_dsn(r, DsnKind::success));
}

// Python's email package is an independent MIME reader: if it sees a
// multipart/report whose delivery-status part splits into one block per
// recipient, so would a mail client.
constexpr std::string_view kPythonCheck = R"(
import email, sys
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read())
recipients, parts, original_type = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assert msg.get_content_type() == 'multipart/report', msg.get_content_type()
assert msg.get_param('report-type') == 'delivery-status', msg.get_param('report-type')
assert msg['Auto-Submitted'] == 'auto-replied'
payload = msg.get_payload()
assert len(payload) == parts, len(payload)
assert payload[0].get_content_type() == 'text/plain'
status = payload[1]
assert status.get_content_type() == 'message/delivery-status'
blocks = status.get_payload()
assert len(blocks) == 1 + recipients, len(blocks)
assert blocks[0]['Reporting-MTA'] == 'dns; mx.example.net', blocks[0]['Reporting-MTA']
for b in blocks[1:]:
    assert b['Final-Recipient'].startswith('rfc822; '), b['Final-Recipient']
    assert b['Action'] in ('failed', 'delayed', 'delivered', 'relayed', 'expanded'), b['Action']
    assert b['Status'][0] in '245', b['Status']
if parts == 3:
    assert payload[2].get_content_type() == original_type, payload[2].get_content_type()
    if original_type == 'message/rfc822':
        assert payload[2].get_payload(0)['Subject'] == 'Hello'
for part in msg.walk():
    assert not part.defects, (part.get_content_type(), part.defects)
)";

void expect_python_reads(const std::string& dsn, int recipients, int parts, std::string_view original_type) {
  const std::string dir = ::testing::TempDir();
  const std::string stem = dir + "petrel_dsn_" + std::to_string(::getpid());
  const std::string script = stem + ".py";
  const std::string message = stem + ".eml";
  std::ofstream(script, std::ios::binary) << kPythonCheck;
  std::ofstream(message, std::ios::binary) << dsn;
  const std::string command = "/usr/bin/python3 " + script + " " + message + " " + std::to_string(recipients) + " " +
                              std::to_string(parts) + " " + std::string(original_type);
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  std::remove(script.c_str());
  std::remove(message.c_str());
}

TEST_F(MakeDsn, python_email_reads_bounce_delay_and_success) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  RecipientStatus long_reply = unknown_user("carol");
  long_reply.diagnostic = "550 5.7.1";
  for (int i = 0; i < 300; ++i) long_reply.diagnostic += " policy" + std::to_string(i);
  long_reply.recipient.orcpt = "rfc822;Carol@Example.org";
  envelope.params.envid = "ENV-42";
  expect_python_reads(make_dsn(input(DsnKind::failure, {unknown_user(), long_reply})).content, 2, 3,
                      "message/rfc822");
  expect_python_reads(make_dsn(input(DsnKind::delay, {deferred()})).content, 1, 3, "text/rfc822-headers");

  RecipientStatus delivered;
  delivered.recipient.forward_path = address("bob", "example.org");
  original.clear();
  expect_python_reads(make_dsn(input(DsnKind::success, {delivered})).content, 1, 2, "-");
}

}  // namespace
}  // namespace petrel::delivery
