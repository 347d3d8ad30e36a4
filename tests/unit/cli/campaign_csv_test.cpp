// The recipient list of petrel campaign send: RFC 4180 CSV fed in pieces,
// errors that name the line, and the header row's columns.
#include <gtest/gtest.h>

#include "cli/campaign_csv.hpp"

namespace petrel::cli {
namespace {

// Every record of `text`, fed `step` octets at a time.
std::vector<CsvRecord> parse(std::string_view text, std::size_t step = 1 << 20) {
  CsvParser parser;
  std::vector<CsvRecord> out;
  for (std::size_t i = 0; i < text.size(); i += step) {
    EXPECT_TRUE(parser.feed(text.substr(i, step), out)) << parser.error()->message;
  }
  EXPECT_TRUE(parser.finish(out)) << parser.error()->message;
  return out;
}

CsvError error_of(std::string_view text) {
  CsvParser parser;
  std::vector<CsvRecord> out;
  if (parser.feed(text, out) && parser.finish(out)) return {};
  return *parser.error();
}

using Fields = std::vector<std::string>;

TEST(CampaignCsv, plain_records_with_lf_crlf_and_no_final_line_break) {
  const auto records = parse("email,name\r\nann@x.test,Ann\nbob@x.test,Bob");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].fields, (Fields{"email", "name"}));
  EXPECT_EQ(records[1].fields, (Fields{"ann@x.test", "Ann"}));
  EXPECT_EQ(records[2].fields, (Fields{"bob@x.test", "Bob"}));
  EXPECT_EQ(records[2].line, 3u);
}

TEST(CampaignCsv, quoted_fields_hold_commas_doubled_quotes_and_line_breaks) {
  const auto records = parse("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\nnext,,\"\"\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].fields, (Fields{"x, y", "say \"hi\"", "two\r\nlines"}));
  EXPECT_EQ(records[2].fields, (Fields{"next", "", ""}));
  EXPECT_EQ(records[2].line, 4u);  // the record before spans lines 2 and 3
}

TEST(CampaignCsv, the_same_records_whatever_the_pieces) {
  const std::string text = "\xEF\xBB\xBF" "email,note\r\n\"a@x.test\",\"q \"\"1\"\"\r\n2\"\r\nb@x.test,plain\r\n";
  const auto whole = parse(text);
  for (std::size_t step = 1; step < 8; ++step) {
    const auto pieces = parse(text, step);
    ASSERT_EQ(pieces.size(), whole.size()) << step;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(pieces[i].fields, whole[i].fields) << step;
      EXPECT_EQ(pieces[i].line, whole[i].line) << step;
    }
  }
}

TEST(CampaignCsv, a_byte_order_mark_is_skipped_only_at_the_start) {
  EXPECT_EQ(parse("\xEF\xBB\xBF" "email\n")[0].fields, Fields{"email"});
  EXPECT_TRUE(parse("\xEF\xBB\xBF").empty());
  EXPECT_EQ(parse("e\xEF\xBB\xBF\n")[0].fields, Fields{"e\xEF\xBB\xBF"});
}

TEST(CampaignCsv, invalid_utf8_names_the_line) {
  const CsvError e = error_of("email,name\nann@x.test,Ann\nbob@x.test,B\xE9la\n");
  EXPECT_EQ(e.line, 3u);
  EXPECT_NE(e.message.find("invalid UTF-8"), std::string::npos);
  EXPECT_EQ(error_of("x\n\xC0\xAF\n").line, 2u);           // overlong
  EXPECT_EQ(error_of("x\n\xED\xA0\x80\n").line, 2u);       // a surrogate
  EXPECT_EQ(error_of("x\n\xF4\x90\x80\x80\n").line, 2u);   // above U+10FFFF
  EXPECT_EQ(error_of("x\n\xE2\x82\n").line, 2u);           // cut short
  EXPECT_EQ(error_of("x\nZo\xC3\xAB,\xE2\x82\xAC,\xF0\x9F\x90\xA6\n").line, 0u);  // fine
}

TEST(CampaignCsv, stray_quotes_and_unclosed_quotes_are_errors_at_their_line) {
  CsvError e = error_of("email\nan\"n@x.test\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("inside an unquoted field"), std::string::npos);
  e = error_of("email\n\"ann@x.test\"x\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("after the closing quote"), std::string::npos);
  e = error_of("email\nok@x.test\n\"never closed\nmore\nmore\n");
  EXPECT_EQ(e.line, 3u);
  EXPECT_NE(e.message.find("never closed"), std::string::npos);
}

TEST(CampaignCsv, a_record_over_the_limit_is_an_error) {
  const std::string huge = "email\n\"" + std::string(CsvParser::kMaxRecordBytes + 10, 'a');
  const CsvError e = error_of(huge);
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("1 MiB"), std::string::npos);
}

TEST(CampaignCsv, the_header_needs_an_email_column_in_any_case) {
  CsvRecord header{1, {"Name", "EMAIL", "code"}};
  auto columns = RecipientColumns::from_header(header);
  ASSERT_TRUE(std::holds_alternative<RecipientColumns>(columns));
  CsvRecord data{2, {"Ann", " ann@x.test ", "A1"}};
  const RecipientRow row = std::get<RecipientColumns>(columns).row(data, 0);
  EXPECT_EQ(row.email, "ann@x.test");
  EXPECT_EQ(row.name, "Ann");
  ASSERT_EQ(row.vars.size(), 1u);
  EXPECT_EQ(row.vars[0], (std::pair<std::string, std::string>{"code", "A1"}));
  EXPECT_TRUE(row.invalid.empty());

  auto missing = RecipientColumns::from_header({1, {"name", "mail"}});
  ASSERT_TRUE(std::holds_alternative<CsvError>(missing));
  EXPECT_NE(std::get<CsvError>(missing).message.find("no 'email' column"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<CsvError>(RecipientColumns::from_header({1, {"email", "x", "X"}})));
  EXPECT_TRUE(std::holds_alternative<CsvError>(RecipientColumns::from_header({1, {"email", ""}})));
}

TEST(CampaignCsv, bad_addresses_and_short_rows_are_invalid_with_their_line) {
  const auto columns = std::get<RecipientColumns>(RecipientColumns::from_header({1, {"email", "name"}}));
  const auto invalid = [&](std::vector<std::string> fields) {
    CsvRecord r{7, std::move(fields)};
    return columns.row(r, 3).invalid;
  };
  EXPECT_EQ(invalid({"ann@x.test", "Ann"}), "");
  EXPECT_EQ(invalid({"j\xC3\xB6rg@b\xC3\xBC" "cher.test", ""}), "");  // UTF-8 is allowed (SMTPUTF8)
  EXPECT_NE(invalid({"no-at-sign", ""}).find("line 7: "), std::string::npos);
  EXPECT_NE(invalid({"two words@x.test", ""}), "");
  EXPECT_NE(invalid({"<ann@x.test>", ""}), "");
  EXPECT_NE(invalid({"ann@", ""}), "");
  EXPECT_NE(invalid({"", "Nobody"}), "");
  EXPECT_NE(invalid({"ann@x.test"}).find("1 fields where the header has 2"), std::string::npos);
}

TEST(CampaignCsv, blank_records_are_recognised) {
  EXPECT_TRUE(blank({1, {""}}));
  EXPECT_TRUE(blank({1, {"", " ", ""}}));
  EXPECT_FALSE(blank({1, {"", "x"}}));
}

}  // namespace
}  // namespace petrel::cli
