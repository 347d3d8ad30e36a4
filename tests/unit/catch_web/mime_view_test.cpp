// GMime takes caught messages apart: decoded header fields, the parts of a
// multipart in order, transfer encodings undone, charsets made UTF-8.
#include <gtest/gtest.h>

#include "catch_web/mime_view.hpp"

namespace petrel::catchweb {
namespace {

constexpr std::string_view kPlain =
    "From: Alice <alice@client.test>\r\n"
    "To: bob@example.test, Carol <carol@example.test>\r\n"
    "Date: Mon, 07 Dec 2026 12:00:00 +0100\r\n"
    "Subject: =?UTF-8?Q?caf=C3=A9?= time\r\n"
    "\r\n"
    "Hello\r\n";

constexpr std::string_view kMultipart =
    "From: app@client.test\r\n"
    "To: bob@example.test\r\n"
    "Subject: both\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PHA+aGk8L3A+\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0=\r\n"
    "--outer--\r\n";

TEST(MimeView, summary_from_the_header_section) {
  const Summary s = summarize(kPlain);
  EXPECT_EQ(s.subject, "caf\xC3\xA9 time");
  EXPECT_EQ(s.from, "Alice <alice@client.test>");
  EXPECT_NE(s.to.find("bob@example.test"), std::string::npos);
  EXPECT_NE(s.to.find("Carol <carol@example.test>"), std::string::npos);
  EXPECT_EQ(s.date, "2026-12-07T11:00:00Z");
}

TEST(MimeView, summary_reads_only_the_header_section) {
  const Summary s = summarize("Subject: one\r\n\r\nSubject: two\r\n");
  EXPECT_EQ(s.subject, "one");
}

TEST(MimeView, garbage_gives_empty_fields_not_a_crash) {
  const Summary s = summarize(std::string_view("\0\xff\r\n\r\n", 6));
  EXPECT_EQ(s.subject, "");
  EXPECT_EQ(s.date, "");
  const MessageView v = view_message("no header at all", 100);
  EXPECT_LE(v.parts.size(), 1u);
}

TEST(MimeView, headers_in_order_decoded) {
  const MessageView v = view_message(kPlain, 1000);
  ASSERT_EQ(v.headers.size(), 4u);
  EXPECT_EQ(v.headers[0].name, "From");
  EXPECT_EQ(v.headers[3].name, "Subject");
  EXPECT_EQ(v.headers[3].value, "caf\xC3\xA9 time");
  ASSERT_EQ(v.parts.size(), 1u);
  EXPECT_EQ(v.parts[0].content_type, "text/plain");
  EXPECT_TRUE(v.parts[0].text);
  EXPECT_EQ(v.parts[0].content, "Hello\r\n");
}

TEST(MimeView, leaf_parts_depth_first_decoded_to_utf8) {
  const MessageView v = view_message(kMultipart, 1000);
  ASSERT_EQ(v.parts.size(), 3u);
  EXPECT_EQ(v.parts[0].content_type, "text/plain");
  EXPECT_EQ(v.parts[0].charset, "iso-8859-1");
  // Quoted-printable Latin-1 as UTF-8; the CRLF before a delimiter is the
  // delimiter's (RFC 2046 §5.1.1).
  EXPECT_EQ(v.parts[0].content, "Gr\xC3\xBC\xC3\x9F" "e");
  EXPECT_EQ(v.parts[1].content_type, "text/html");
  EXPECT_EQ(v.parts[1].content, "<p>hi</p>");
  EXPECT_EQ(v.parts[2].content_type, "application/pdf");
  EXPECT_EQ(v.parts[2].disposition, "attachment");
  EXPECT_EQ(v.parts[2].filename, "a.pdf");
  EXPECT_FALSE(v.parts[2].text);
  EXPECT_EQ(v.parts[2].content, "%PDF-");
}

TEST(MimeView, content_cut_at_the_cap_with_the_whole_size) {
  const MessageView v = view_message(kPlain, 3);
  ASSERT_EQ(v.parts.size(), 1u);
  EXPECT_EQ(v.parts[0].content, "Hel");
  EXPECT_TRUE(v.parts[0].truncated);
  EXPECT_EQ(v.parts[0].size, 7u);
}

}  // namespace
}  // namespace petrel::catchweb
