// Fuzzes the recipient-list reader of petrel campaign send
// (src/cli/campaign_csv.cpp): a list comes from whoever exported it, so
// whatever it holds, the parser must answer without crashing, give the
// same records however the bytes are cut into pieces, hand out only valid
// UTF-8 with non-decreasing line numbers, and read back what it reads
// once written out again with every field quoted.
//
// Input: one settings octet (the piece size), then the list.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/campaign_csv.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

namespace {

struct Parse {
  bool ok = false;
  std::vector<cli::CsvRecord> records;
  cli::CsvError error;
};

Parse parse(std::string_view text, std::size_t step) {
  cli::CsvParser parser;
  Parse p;
  bool ok = true;
  for (std::size_t i = 0; ok && i < text.size(); i += step) ok = parser.feed(text.substr(i, step), p.records);
  p.ok = ok && parser.finish(p.records);
  if (!p.ok) {
    FUZZ_CHECK(parser.error().has_value());
    p.error = *parser.error();
  }
  return p;
}

// Every field quoted, quotes doubled: what a careful exporter writes.
std::string written(const std::vector<cli::CsvRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      for (const char c : r.fields[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

void check_rows(const std::vector<cli::CsvRecord>& records) {
  if (records.empty()) return;
  const auto columns = cli::RecipientColumns::from_header(records.front());
  if (const auto* e = std::get_if<cli::CsvError>(&columns)) {
    FUZZ_CHECK(!e->message.empty());
    return;
  }
  for (std::size_t i = 1; i < records.size(); ++i) {
    cli::CsvRecord copy = records[i];
    const cli::RecipientRow row = std::get<cli::RecipientColumns>(columns).row(copy, i - 1);
    // A row that may be sent has an address the API takes.
    if (row.invalid.empty()) FUZZ_CHECK(cli::address_problem(row.email).empty());
    FUZZ_CHECK(row.line == records[i].line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::size_t step = 1 + input.setting() % 64;
  const std::string_view text = input.rest();

  const Parse whole = parse(text, text.size() + 1);
  const Parse pieces = parse(text, step);
  FUZZ_CHECK(whole.ok == pieces.ok);
  if (!whole.ok) {
    FUZZ_CHECK(whole.error.line == pieces.error.line && whole.error.message == pieces.error.message);
    FUZZ_CHECK(whole.error.line >= 1 && !whole.error.message.empty());
    return 0;
  }
  FUZZ_CHECK(whole.records.size() == pieces.records.size());
  std::size_t line = 1;
  for (std::size_t i = 0; i < whole.records.size(); ++i) {
    const cli::CsvRecord& r = whole.records[i];
    FUZZ_CHECK(r.fields == pieces.records[i].fields && r.line == pieces.records[i].line);
    FUZZ_CHECK(r.line >= line);
    line = r.line;
    for (const auto& f : r.fields) FUZZ_CHECK(cli::valid_utf8(f));
  }
  const Parse again = parse(written(whole.records), 4096);
  FUZZ_CHECK(again.ok && again.records.size() == whole.records.size());
  for (std::size_t i = 0; i < whole.records.size(); ++i) FUZZ_CHECK(again.records[i].fields == whole.records[i].fields);
  check_rows(whole.records);
  return 0;
}
