#include "smtp/eight_bit_downgrade.hpp"

#include <gtest/gtest.h>

namespace petrel::smtp {
namespace {

bool seven_bit(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) > 127) return false;
  }
  return true;
}

TEST(EightBitDowngrade, ascii_is_left_alone) {
  const std::string m = "Subject: hi\r\n\r\nplain text\r\n";
  EXPECT_EQ(downgrade_to_seven_bit(m), m);
}

TEST(EightBitDowngrade, a_text_part_becomes_quoted_printable) {
  const std::string m =
      "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 = ok \r\n";
  const auto out = downgrade_to_seven_bit(m);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =3D ok=20\r\n");
}

TEST(EightBitDowngrade, an_obsolete_syntax_encoding_field_is_replaced_not_doubled) {
  const auto out = downgrade_to_seven_bit("MIME-Version: 1.0\r\nContent-Transfer-Encoding : 8bit\r\n\r\n\xe9\r\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n");
}

TEST(EightBitDowngrade, a_message_without_mime_headers_gets_them) {
  const auto out = downgrade_to_seven_bit("Subject: hi\r\n\r\n\xe9t\xe9\r\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=unknown-8bit\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n");
}

TEST(EightBitDowngrade, multipart_parts_are_converted_each_and_the_rest_kept) {
  const std::string m =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b 1\"\r\n\r\n"
      "preamble\r\n--b 1\r\nContent-Type: text/plain\r\n\r\nna\xc3\xafve\r\n"
      "--b 1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\xff\x01\r\n"
      "--b 1\r\nContent-Type: text/plain\r\n\r\nascii only\r\n"
      "--b 1--\r\nepilogue\r\n";
  const auto out = downgrade_to_seven_bit(m);
  ASSERT_TRUE(out);
  EXPECT_TRUE(seven_bit(*out));
  EXPECT_EQ(*out,
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b 1\"\r\n\r\n"
            "preamble\r\n--b 1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "na=C3=AFve\r\n"
            "--b 1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n/wE=\r\n"
            "--b 1\r\nContent-Type: text/plain\r\n\r\nascii only\r\n"
            "--b 1--\r\nepilogue\r\n");
}

TEST(EightBitDowngrade, an_attached_message_is_walked_and_stays_7bit) {
  const std::string m =
      "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n\xc3\xa9\r\n";
  const auto out = downgrade_to_seven_bit(m);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n");
}

TEST(EightBitDowngrade, long_8bit_lines_are_broken_softly) {
  const std::string m = "MIME-Version: 1.0\r\n\r\n" + std::string(2000, '\xe9') + "\r\n";
  const auto out = downgrade_to_seven_bit(m);
  ASSERT_TRUE(out);
  std::size_t longest = 0, start = 0;
  for (std::size_t crlf; (crlf = out->find("\r\n", start)) != std::string::npos; start = crlf + 2) {
    longest = std::max(longest, crlf - start);
  }
  EXPECT_LE(longest, 76u);
}

TEST(EightBitDowngrade, what_cannot_be_converted_faithfully_is_refused) {
  EXPECT_FALSE(downgrade_to_seven_bit("Subject: caf\xc3\xa9\r\n\r\n\xc3\xa9\r\n"));  // 8-bit header
  EXPECT_FALSE(downgrade_to_seven_bit("MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n\xff\r\n"));
  EXPECT_FALSE(downgrade_to_seven_bit("MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n\xff\r\n"));
  EXPECT_FALSE(downgrade_to_seven_bit(
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\xff\r\n--b\r\n\r\nx\r\n--b--\r\n"));
  std::string deep = "MIME-Version: 1.0\r\n";
  for (int i = 0; i < kMaxMimeDepth + 2; ++i) deep += "Content-Type: message/rfc822\r\n\r\n";
  deep += "\r\n\xff\r\n";
  EXPECT_FALSE(downgrade_to_seven_bit(deep));
}

}  // namespace
}  // namespace petrel::smtp
