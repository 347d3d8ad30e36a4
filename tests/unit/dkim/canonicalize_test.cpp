// DKIM canonicalization (RFC 6376 §3.4): the RFC's own example, bodies fed
// in any pieces, empty bodies, and header sections that are not what they
// should be.
#include <gtest/gtest.h>

#include <string>

#include "dkim/canonicalize.hpp"

namespace petrel::dkim {
namespace {

// RFC 6376 §3.4.5.
constexpr std::string_view kRfcExample =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

std::string canonical_header_section(Canonicalization c, std::string_view message) {
  std::string out;
  for (const HeaderField& field : split_message(message).fields) out += canonicalize_header(c, field.raw) + "\r\n";
  return out;
}

std::string body_of(std::string_view message) { return std::string(message.substr(split_message(message).body_offset)); }

// The body fed in pieces of `piece` octets.
std::string in_pieces(Canonicalization c, std::string_view body, std::size_t piece) {
  std::string out;
  BodyCanonicalizer canonicalizer(c, [&out](std::string_view bytes) { out += bytes; });
  for (std::size_t i = 0; i < body.size(); i += piece) canonicalizer.update(body.substr(i, piece));
  canonicalizer.finish();
  return out;
}

TEST(Canonicalize, rfc_6376_example_relaxed) {
  EXPECT_EQ(canonical_header_section(Canonicalization::relaxed, kRfcExample), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, body_of(kRfcExample)), " C\r\nD E\r\n");
}

TEST(Canonicalize, rfc_6376_example_simple) {
  EXPECT_EQ(canonical_header_section(Canonicalization::simple, kRfcExample), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, body_of(kRfcExample)), " C \r\nD \t E\r\n");
}

TEST(Canonicalize, relaxed_header_drops_wsp_around_the_colon_and_at_the_end) {
  EXPECT_EQ(canonicalize_header_relaxed("Subject \t:  Hello   there \t\r\n"), "subject:Hello there");
  EXPECT_EQ(canonicalize_header_relaxed("To: a@example.com,\r\n    b@example.com\r\n"), "to:a@example.com, b@example.com");
  EXPECT_EQ(canonicalize_header_relaxed("X-Empty:\r\n"), "x-empty:");
  EXPECT_EQ(canonicalize_header_relaxed("X-Colons: a:b :c\r\n"), "x-colons:a:b :c");  // only the first colon is the separator
}

TEST(Canonicalize, simple_header_is_the_field_without_its_final_crlf) {
  EXPECT_EQ(canonicalize_header_simple("Subject:  Hi \r\n\tthere\r\n"), "Subject:  Hi \r\n\tthere");
  EXPECT_EQ(canonicalize_header_simple("Subject: no crlf"), "Subject: no crlf");
}

TEST(Canonicalize, body_fed_octet_by_octet_equals_the_body_at_once) {
  const std::string bodies[] = {
      std::string(body_of(kRfcExample)),
      "line \t \r\n\r\n  \r\n\t\r\nnext\r\n\r\n",
      "bare\rCR and bare\nLF \r\r\n  \r",
      "no final crlf  \t",
      "\r\n\r\n\r\nafter empty lines\r\n",
      std::string("nul\0inside \r\n", 14),
      "",
      "\r\n",
      "   ",
      "\r",
  };
  for (const std::string& body : bodies) {
    for (const Canonicalization c : {Canonicalization::simple, Canonicalization::relaxed}) {
      const std::string whole = canonicalize_body(c, body);
      for (std::size_t piece = 1; piece <= 7; ++piece) {
        EXPECT_EQ(in_pieces(c, body, piece), whole) << "piece " << piece << " of " << testing::PrintToString(body);
      }
    }
  }
}

TEST(Canonicalize, wsp_run_split_across_chunks_is_one_space) {
  std::string out;
  BodyCanonicalizer canonicalizer(Canonicalization::relaxed, [&out](std::string_view bytes) { out += bytes; });
  for (const std::string_view chunk : {"a ", "\t", " b \t", "\r", "\n", "\r", "\n"}) canonicalizer.update(chunk);
  canonicalizer.finish();
  EXPECT_EQ(out, "a b\r\n");
}

TEST(Canonicalize, empty_body_is_crlf_in_simple_and_nothing_in_relaxed) {
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, ""), "\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, ""), "");
  // Only empty lines (or, relaxed, only WSP) is an empty body too.
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, "\r\n\r\n\r\n"), "\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, "\r\n\r\n"), "");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, " \t\r\n  \r\n"), "");
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, " \r\n"), " \r\n");
}

TEST(Canonicalize, trailing_empty_lines_go_and_a_missing_final_crlf_is_added) {
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, "Hi.\r\n\r\n\r\n"), "Hi.\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, "Hi."), "Hi.\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, "Hi.  \t"), "Hi.\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, "\r\n\r\nHi.\r\n\r\n"), "\r\n\r\nHi.\r\n");
}

TEST(Canonicalize, bare_cr_and_lf_are_ordinary_octets) {
  EXPECT_EQ(canonicalize_body(Canonicalization::simple, "a\nb\r"), "a\nb\r\r\n");
  EXPECT_EQ(canonicalize_body(Canonicalization::relaxed, "a \rb \n\r\n"), "a \rb \n\r\n");
}

TEST(SplitMessage, fields_with_their_folded_lines_and_the_body_offset) {
  const std::string_view message = "From: a@example.com\r\nSubject: one\r\n two\r\nDate : now\r\n\r\nbody\r\n";
  const SplitMessage split = split_message(message);
  ASSERT_EQ(split.fields.size(), 3u);
  EXPECT_EQ(split.fields[0].name, "From");
  EXPECT_EQ(split.fields[1].raw, "Subject: one\r\n two\r\n");
  EXPECT_EQ(split.fields[2].name, "Date");  // "Date :", obsolete syntax
  EXPECT_EQ(message.substr(split.body_offset), "body\r\n");
}

TEST(SplitMessage, no_blank_line_means_all_header_and_no_body) {
  const std::string_view message = "From: a@example.com\r\nSubject: x";
  const SplitMessage split = split_message(message);
  ASSERT_EQ(split.fields.size(), 2u);
  EXPECT_EQ(split.fields[1].raw, "Subject: x");
  EXPECT_EQ(split.body_offset, message.size());
}

TEST(SplitMessage, message_starting_with_a_blank_line_has_no_fields) {
  const SplitMessage split = split_message("\r\nbody");
  EXPECT_TRUE(split.fields.empty());
  EXPECT_EQ(split.body_offset, 2u);
  EXPECT_EQ(split_message("").body_offset, 0u);
  EXPECT_TRUE(split_message("").fields.empty());
}

TEST(SplitMessage, bare_lf_does_not_end_a_line) {
  const std::string_view message = "From: a\nTo: b\n\nbody\n";
  const SplitMessage split = split_message(message);
  ASSERT_EQ(split.fields.size(), 1u);
  EXPECT_EQ(split.fields[0].raw, message);
  EXPECT_EQ(split.body_offset, message.size());
}

TEST(SplitMessage, lines_without_a_field_name_have_an_empty_name) {
  const SplitMessage split = split_message(" leading fold\r\nno colon here\r\nBad Name: x\r\n: empty\r\n\r\n");
  ASSERT_EQ(split.fields.size(), 4u);
  for (const HeaderField& field : split.fields) EXPECT_EQ(field.name, "") << field.raw;
}

TEST(SplitMessage, nul_octets_and_a_huge_line_are_just_octets) {
  std::string message("X-Nul: a\0b\r\n", 12);
  message += "X-Long: " + std::string(1 << 20, 'x') + "\r\n\r\n" + std::string(3, '\0');
  const SplitMessage split = split_message(message);
  ASSERT_EQ(split.fields.size(), 2u);
  EXPECT_EQ(split.fields[0].raw.size(), 12u);
  EXPECT_EQ(split.fields[1].name, "X-Long");
  EXPECT_EQ(message.size() - split.body_offset, 3u);
}

}  // namespace
}  // namespace petrel::dkim
