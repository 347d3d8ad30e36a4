// The recipient list of `petrel campaign send`: CSV (RFC 4180) read without
// I/O, the way the protocol parsers are: bytes go in, whole records come
// out, an error names the line. Then the header row decides which column
// is the address, which the name, and which are variables.
//
// What RFC 4180 leaves open, decided here: LF, CRLF and a lone CR all end
// a record; a UTF-8 byte order mark at the very start is skipped; every
// field must be valid UTF-8; a quote inside an unquoted field, or text
// after a closing quote, is an error (quote the field and double the
// quote); blank lines are skipped. docs/campaign.md is the manual.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace petrel::cli {

// Where the list stops making sense: the physical line (1-based, counting
// line breaks inside quoted fields too) and what is wrong there.
struct CsvError {
  std::size_t line = 0;
  std::string message;
};

struct CsvRecord {
  std::size_t line = 0;  // the line the record starts on
  std::vector<std::string> fields;
};

class CsvParser {
 public:
  // A record longer than this is an error (most likely a quote that is
  // never closed, which would otherwise take the rest of the file).
  static constexpr std::size_t kMaxRecordBytes = 1 << 20;

  // Takes all of `bytes`; whole records are appended to `out`. False on
  // an error (error() says what), after which the parser takes nothing.
  bool feed(std::string_view bytes, std::vector<CsvRecord>& out);
  // At the end of the input: the last record if it has no line break.
  bool finish(std::vector<CsvRecord>& out);
  const std::optional<CsvError>& error() const { return error_; }

 private:
  enum class State : std::uint8_t { field_start, unquoted, quoted, quote_in_quoted, after_cr };

  bool take(char c, std::vector<CsvRecord>& out);
  bool take_bom_prefix(std::string_view& bytes, std::vector<CsvRecord>& out);
  void end_field();
  bool end_record(std::vector<CsvRecord>& out);
  bool fail(std::size_t line, std::string message);

  State state_ = State::field_start;
  std::string bom_;       // the first octets, until it is known whether they are a BOM
  bool started_ = false;  // past the place a BOM may be
  bool in_record_ = false;
  bool prev_cr_ = false;  // for counting CRLF as one line
  std::size_t line_ = 1;
  std::size_t quote_line_ = 0;  // where the open quoted field started
  std::size_t record_bytes_ = 0;
  CsvRecord record_;
  std::string field_;
  std::optional<CsvError> error_;
};

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text);

// Why `email` cannot go to the API as a recipient ("" when it can): the
// rules petreld's API applies (local@domain, no <>, no spaces, UTF-8
// allowed), so that what is sent is never refused for its form.
std::string address_problem(std::string_view email);

// One data row of the list, numbered from 0 in file order (blank lines
// are not rows).
struct RecipientRow {
  std::uint64_t index = 0;
  std::size_t line = 0;
  std::string email;  // surrounding spaces trimmed
  std::string name;
  std::vector<std::pair<std::string, std::string>> vars;  // column name, value
  std::string invalid;  // why it cannot be sent; "" when it can
};

// What the header row says about the columns.
class RecipientColumns {
 public:
  // The header: an `email` column is required (any case), `name` is
  // optional, every other column is a variable. Columns need distinct,
  // non-empty names.
  static std::variant<RecipientColumns, CsvError> from_header(const CsvRecord& header);

  // A data record as a row; a wrong number of fields or a bad address
  // makes it invalid (reported, never sent), not an error.
  RecipientRow row(CsvRecord& record, std::uint64_t index) const;

  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::size_t email_ = 0;
  std::optional<std::size_t> name_;
};

// A record that holds nothing: a blank line, or only empty fields.
bool blank(const CsvRecord& record);

}  // namespace petrel::cli
