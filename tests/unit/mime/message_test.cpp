// The message petrel send builds: headers, folding, encoded-words,
// quoted-printable, base64 lines and multipart structure.
#include <gtest/gtest.h>

#include <string>

#include "mime/message.hpp"
#include "smtp/transfer_encoding.hpp"

namespace petrel::mime {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

MessageSpec simple_spec() {
  MessageSpec s;
  s.from = "Ann <ann@example.org>";
  s.to = {"bob@example.net"};
  s.subject = "Hello";
  s.body = "line one\nline two\n";
  s.date = "Tue, 05 Mar 2024 14:03:07 +0100";
  s.message_id = "<1@example.org>";
  s.boundary = make_boundary(0x1234);
  return s;
}

TEST(SendMime, plain_ascii_message_has_the_generated_headers_and_7bit_body) {
  const std::string m = build_message(simple_spec());
  EXPECT_EQ(m,
            "Date: Tue, 05 Mar 2024 14:03:07 +0100\r\n"
            "From: Ann <ann@example.org>\r\n"
            "To: bob@example.net\r\n"
            "Subject: Hello\r\n"
            "Message-ID: <1@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "line one\r\nline two\r\n");
}

TEST(SendMime, user_header_replaces_a_generated_one_in_place_and_others_follow) {
  MessageSpec s = simple_spec();
  s.headers = {{"X-Test", "yes"}, {"subject", "Replaced"}};
  const auto lines = lines_of(build_message(s));
  EXPECT_EQ(lines[3], "Subject: Replaced");
  EXPECT_EQ(lines[5], "X-Test: yes");
  EXPECT_EQ(lines[6], "MIME-Version: 1.0");
}

TEST(SendMime, eight_bit_body_goes_quoted_printable) {
  MessageSpec s = simple_spec();
  s.body = "Grüße  \nok";
  const std::string m = build_message(s);
  EXPECT_NE(m.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_TRUE(m.ends_with("\r\n\r\nGr=C3=BC=C3=9Fe =20\r\nok\r\n"));
}

TEST(SendMime, quoted_printable_lines_stay_within_76_with_soft_breaks) {
  const std::string text = std::string(200, 'a') + "\xc3\xa9" + std::string(100, '=') + "\r\n";
  const std::string qp = smtp::quoted_printable(text);
  for (const auto& line : lines_of(qp)) EXPECT_LE(line.size(), 76u) << line;
  // Decoding the soft breaks away gives the escaped text back.
  std::string joined;
  for (const auto& line : lines_of(qp)) joined += line.ends_with("=") ? line.substr(0, line.size() - 1) : line;
  EXPECT_EQ(joined, std::string(200, 'a') + "=C3=A9" + [] {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "=3D";
    return s;
  }());
}

TEST(SendMime, quoted_printable_never_splits_an_escape) {
  const std::string qp = smtp::quoted_printable(std::string(300, '\xff') + "\r\n");
  for (const auto& line : lines_of(qp)) {
    const std::string body = line.ends_with("=") ? line.substr(0, line.size() - 1) : line;
    ASSERT_EQ(body.size() % 3, 0u) << line;
  }
}

TEST(SendMime, long_subject_is_folded_before_78_columns) {
  MessageSpec s = simple_spec();
  s.subject = "";
  for (int i = 0; i < 30; ++i) s.subject += "word" + std::to_string(i) + " ";
  s.subject.pop_back();
  const std::string header = fold_header("Subject", s.subject);
  for (const auto& line : lines_of(header)) EXPECT_LE(line.size(), 78u);
  std::string unfolded = header;
  for (std::size_t at; (at = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(at, 2);
  EXPECT_EQ(unfolded, "Subject: " + s.subject + "\r\n");
}

TEST(SendMime, non_ascii_subject_becomes_b_encoded_words_of_at_most_60) {
  const std::string text = "Größenänderung – prüfen Sie bitte die Änderungen am Dokument für übermorgen";
  const auto words = encoded_words(text);
  ASSERT_GT(words.size(), 1u);
  for (const auto& w : words) {
    EXPECT_LE(w.size(), 60u);
    EXPECT_TRUE(w.starts_with("=?utf-8?b?")) << w;
    EXPECT_TRUE(w.ends_with("?=")) << w;
  }
  EXPECT_EQ(encoded_words("plain text"), std::vector<std::string>{"plain text"});
  // Text that looks like an encoded-word is encoded, not left to be decoded.
  EXPECT_TRUE(encoded_words("=?x?q?y?=").front().starts_with("=?utf-8?b?"));
}

TEST(SendMime, encoded_words_cut_between_utf8_characters) {
  const std::string text(60, 'x');
  const std::string euro = "\xe2\x82\xac";  // €: three octets
  const auto words = encoded_words(text + euro + euro);
  EXPECT_EQ(words.size(), 2u);  // 36 octets per word: 36 x, then 24 x and both euros
}

TEST(SendMime, display_name_is_encoded_but_the_address_is_not) {
  EXPECT_EQ(encode_mailbox("Zoë <zoe@example.org>"), "=?utf-8?b?Wm/Dqw==?= <zoe@example.org>");
  EXPECT_EQ(encode_mailbox("\"Zoë\" <zoe@example.org>"), "=?utf-8?b?Wm/Dqw==?= <zoe@example.org>");
  EXPECT_EQ(encode_mailbox("zoe@example.org"), "zoe@example.org");
}

TEST(SendMime, base64_lines_are_76_characters) {
  const std::string data(1000, '\x01');
  const auto lines = lines_of(smtp::base64_lines(data));
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i].size(), 76u);
  EXPECT_LE(lines.back().size(), 76u);
  EXPECT_EQ(smtp::base64_lines("Man"), "TWFu\r\n");
  EXPECT_EQ(smtp::base64_lines("Ma"), "TWE=\r\n");
  EXPECT_EQ(smtp::base64_lines(""), "");
}

TEST(SendMime, attachments_make_a_multipart_mixed_with_base64_parts) {
  MessageSpec s = simple_spec();
  s.attachments = {{"report.pdf", content_type_for("report.pdf"), std::string("%PDF\0\xff", 6)}};
  const std::string m = build_message(s);
  const std::string b = s.boundary;
  EXPECT_NE(m.find("Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\n--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/pdf; name=\"report.pdf\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n"
                   "Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n"
                   "JVBERgD/\r\n"),
            std::string::npos);
  EXPECT_TRUE(m.ends_with("\r\n--" + b + "--\r\n"));
  // The boundary appears only where it should.
  std::size_t count = 0;
  for (std::size_t at = 0; (at = m.find(b, at)) != std::string::npos; at += b.size()) ++count;
  EXPECT_EQ(count, 4u);  // Content-Type parameter, two delimiters, the close
}

TEST(SendMime, html_alone_is_a_single_text_html_part) {
  MessageSpec s = simple_spec();
  s.body.clear();
  s.html = "<p>Hi</p>";
  const std::string m = build_message(s);
  EXPECT_NE(m.find("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Hi</p>\r\n"),
            std::string::npos);
  EXPECT_EQ(m.find("multipart"), std::string::npos);
}

TEST(SendMime, text_and_html_make_a_multipart_alternative_plainest_first) {
  MessageSpec s = simple_spec();
  s.html = "<p>caf\xc3\xa9</p>";
  const std::string m = build_message(s);
  const std::string b = s.boundary + "_alt";
  const auto type = m.find("Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n");
  const auto plain = m.find("\r\n--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\n");
  const auto html = m.find("\r\n--" + b + "\r\nContent-Type: text/html; charset=utf-8\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=C3=A9</p>");
  ASSERT_NE(type, std::string::npos);
  ASSERT_NE(plain, std::string::npos);
  ASSERT_NE(html, std::string::npos);
  EXPECT_LT(type, plain);
  EXPECT_LT(plain, html);
  EXPECT_TRUE(m.ends_with("\r\n--" + b + "--\r\n"));
}

TEST(SendMime, alternative_nests_inside_mixed_with_attachments) {
  MessageSpec s = simple_spec();
  s.html = "<p>Hi</p>";
  s.attachments = {{"a.txt", "text/plain", "x"}};
  const std::string m = build_message(s);
  const auto mixed = m.find("multipart/mixed; boundary=\"" + s.boundary + "\"");
  const auto alt = m.find("\r\n--" + s.boundary + "\r\nContent-Type: multipart/alternative");
  const auto alt_end = m.find("\r\n--" + s.boundary + "_alt--\r\n");
  const auto attachment = m.find("\r\n--" + s.boundary + "\r\nContent-Type: text/plain; name=\"a.txt\"");
  ASSERT_NE(mixed, std::string::npos);
  ASSERT_NE(alt, std::string::npos);
  ASSERT_NE(alt_end, std::string::npos);
  ASSERT_NE(attachment, std::string::npos);
  EXPECT_LT(alt, alt_end);
  EXPECT_LT(alt_end, attachment);
}

TEST(SendMime, boundary_cannot_occur_in_encoded_parts) {
  const std::string b = make_boundary(42);
  EXPECT_TRUE(b.starts_with("=_"));
  // '_' is not a hex digit (quoted-printable) and not in base64's alphabet.
  EXPECT_EQ(smtp::quoted_printable(std::string("=_x") + "\r\n").find("=_"), std::string::npos);
}

TEST(SendMime, non_ascii_file_name_uses_rfc2231_and_rfc2047) {
  EXPECT_EQ(disposition_filename("résumé.pdf"), "filename*=utf-8''r%C3%A9sum%C3%A9.pdf");
  EXPECT_EQ(content_type_name("résumé.pdf"), "name=\"=?utf-8?b?csOpc3Vtw6kucGRm?=\"");
  EXPECT_EQ(disposition_filename("a \"b\".txt"), "filename=\"a \\\"b\\\".txt\"");
}

TEST(SendMime, long_non_ascii_file_name_is_continued_without_splitting_escapes) {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "ü";
  name += ".txt";
  const std::string p = disposition_filename(name);
  EXPECT_TRUE(p.starts_with("filename*0*=utf-8''%C3%BC")) << p;
  EXPECT_NE(p.find("; filename*1*=%C3%BC"), std::string::npos) << p;
  const std::string header = fold_header("Content-Disposition", "attachment; " + p);
  for (const auto& line : lines_of(header)) EXPECT_LE(line.size(), 78u) << line;
}

TEST(SendMime, content_type_is_guessed_from_common_extensions) {
  EXPECT_EQ(content_type_for("a.PDF"), "application/pdf");
  EXPECT_EQ(content_type_for("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(content_type_for("notes.txt"), "text/plain");
  EXPECT_EQ(content_type_for("data.bin"), "application/octet-stream");
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
  EXPECT_EQ(content_type_for("trailing."), "application/octet-stream");
}

TEST(SendMime, line_endings_become_crlf_with_a_final_one) {
  EXPECT_EQ(crlf_lines("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd\r\n");
  EXPECT_EQ(crlf_lines(""), "");
  EXPECT_TRUE(seven_bit_ok("abc\r\n"));
  EXPECT_FALSE(seven_bit_ok("caf\xc3\xa9\r\n"));
  EXPECT_FALSE(seven_bit_ok(std::string(999, 'a') + "\r\n"));
  EXPECT_TRUE(seven_bit_ok(std::string(998, 'a') + "\r\n"));
}

TEST(SendMime, header_flags_are_checked) {
  std::string name, value;
  ASSERT_TRUE(split_header("X-Tag:   hello: world", name, value));
  EXPECT_EQ(name, "X-Tag");
  EXPECT_EQ(value, "hello: world");
  EXPECT_FALSE(split_header("no colon", name, value));
  EXPECT_EQ(check_header("X-Ok", "fine"), "");
  EXPECT_NE(check_header("Bad Name", "v"), "");
  EXPECT_NE(check_header("X-Inject", "v\r\nBcc: evil@example.org"), "");
  EXPECT_NE(check_header("Content-Type", "text/html"), "");
  EXPECT_NE(check_header("mime-version", "1.0"), "");
}

TEST(SendMime, non_ascii_user_header_values_are_encoded) {
  MessageSpec s = simple_spec();
  s.headers = {{"X-Note", "für dich"}, {"Cc", "Zoë <zoe@example.org>, al@example.org"}};
  const std::string m = build_message(s);
  EXPECT_NE(m.find("X-Note: =?utf-8?b?ZsO8ciBkaWNo?=\r\n"), std::string::npos);
  EXPECT_NE(m.find("Cc: =?utf-8?b?Wm/Dqw==?= <zoe@example.org>, al@example.org\r\n"), std::string::npos);
}

TEST(SendMime, date_and_message_id_have_rfc5322_form) {
  const std::string d = rfc5322_date(0);
  EXPECT_EQ(d.size(), std::string("Thu, 01 Jan 1970 00:00:00 +0000").size()) << d;
  EXPECT_EQ(make_message_id(0, 0xabc, "example.org"), "<19700101000000.0000000000000abc@example.org>");
}

}  // namespace
}  // namespace petrel::mime
