#include "cli/campaign_csv.hpp"

#include <algorithm>
#include <cctype>

#include "smtp/address.hpp"

namespace petrel::cli {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Length of the UTF-8 sequence starting at text[i], 0 when it is not one.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second octet
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) low = 0xA0;   // overlong
    if (c == 0xED) high = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) low = 0x90;   // overlong
    if (c == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size() || b(i + 1) < low || b(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool CsvParser::fail(std::size_t line, std::string message) {
  error_ = CsvError{line, std::move(message)};
  return false;
}

void CsvParser::end_field() {
  record_.fields.push_back(std::move(field_));
  field_.clear();
}

bool CsvParser::end_record(std::vector<CsvRecord>& out) {
  for (std::size_t i = 0; i < record_.fields.size(); ++i) {
    if (!valid_utf8(record_.fields[i])) {
      return fail(record_.line, "invalid UTF-8 in field " + std::to_string(i + 1) + " (save the list as UTF-8)");
    }
  }
  out.push_back(std::move(record_));
  record_ = CsvRecord{};
  record_bytes_ = 0;
  in_record_ = false;
  return true;
}

// One octet. Line breaks are counted as they are seen, CRLF once.
bool CsvParser::take(char c, std::vector<CsvRecord>& out) {
  if (state_ == State::after_cr) {
    state_ = State::field_start;
    if (c == '\n') return true;  // the LF of a CRLF that ended the record
  }
  if (!in_record_) {
    in_record_ = true;
    record_.line = line_;
  }
  if (++record_bytes_ > kMaxRecordBytes) {
    return fail(record_.line, "a record longer than 1 MiB (is a quote never closed?)");
  }
  const bool was_cr = prev_cr_;
  prev_cr_ = c == '\r';
  if (c == '\r' || (c == '\n' && !was_cr)) ++line_;
  const bool line_break = c == '\n' || c == '\r';
  switch (state_) {
    case State::field_start:
      if (c == '"') {
        state_ = State::quoted;
        quote_line_ = line_;
        return true;
      }
      [[fallthrough]];
    case State::unquoted:
      if (c == '"') return fail(line_, "a quote (\") inside an unquoted field: quote the whole field and double the quote");
      break;
    case State::quoted:
      if (c == '"') {
        state_ = State::quote_in_quoted;
      } else {
        field_ += c;
      }
      return true;
    case State::quote_in_quoted:
      if (c == '"') {
        field_ += '"';
        state_ = State::quoted;
        return true;
      }
      if (c != ',' && !line_break) return fail(line_, "text after the closing quote of a field");
      break;
    case State::after_cr:
      break;
  }
  if (c == ',') {
    end_field();
    state_ = State::field_start;
    return true;
  }
  if (line_break) {
    end_field();
    state_ = c == '\r' ? State::after_cr : State::field_start;
    return end_record(out);
  }
  field_ += c;
  state_ = State::unquoted;
  return true;
}

// The first three octets may be a byte order mark (U+FEFF), which is not
// part of the first field; they are held until that is known.
bool CsvParser::take_bom_prefix(std::string_view& bytes, std::vector<CsvRecord>& out) {
  while (!started_ && !bytes.empty()) {
    bom_ += bytes.front();
    bytes.remove_prefix(1);
    if (kBom.starts_with(bom_)) {
      if (bom_.size() == kBom.size()) started_ = true;
      continue;
    }
    started_ = true;
    for (const char c : bom_) {
      if (!take(c, out)) return false;
    }
  }
  return true;
}

bool CsvParser::feed(std::string_view bytes, std::vector<CsvRecord>& out) {
  if (error_) return false;
  if (!take_bom_prefix(bytes, out)) return false;
  for (const char c : bytes) {
    if (!take(c, out)) return false;
  }
  return true;
}

bool CsvParser::finish(std::vector<CsvRecord>& out) {
  if (error_) return false;
  if (!started_) {  // one or two octets of a BOM, and nothing more: they are data
    started_ = true;
    for (const char c : bom_) {
      if (!take(c, out)) return false;
    }
  }
  if (state_ == State::quoted) {
    return fail(quote_line_, "a quoted field that starts here is never closed");
  }
  if (!in_record_) return true;
  end_field();
  state_ = State::field_start;
  return end_record(out);
}

std::string address_problem(std::string_view email) {
  const std::string shown = "'" + std::string(email) + "'";
  if (email.empty()) return "no address";
  if (email.find_first_of("<> \t\r\n") != std::string_view::npos) return shown + " is not an address (local@domain, no <> or spaces)";
  const std::string path = "<" + std::string(email) + ">";
  const smtp::PathParse parsed = smtp::parse_path(path, false, true);
  if (parsed.error != smtp::AddressError::none) {
    return shown + " is not an address: " + std::string(smtp::describe(parsed.error));
  }
  if (parsed.consumed != path.size() || !parsed.path.mailbox || parsed.path.mailbox->domain.empty()) {
    return shown + " is not an address (local@domain)";
  }
  return "";
}

bool blank(const CsvRecord& record) {
  return std::all_of(record.fields.begin(), record.fields.end(), [](const std::string& f) { return trim(f).empty(); });
}

std::variant<RecipientColumns, CsvError> RecipientColumns::from_header(const CsvRecord& header) {
  RecipientColumns c;
  std::optional<std::size_t> email;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name(trim(header.fields[i]));
    if (name.empty()) return CsvError{header.line, "column " + std::to_string(i + 1) + " of the header row has no name"};
    for (const auto& seen : c.names_) {
      if (same_name(seen, name)) return CsvError{header.line, "two columns are named '" + name + "'"};
    }
    if (same_name(name, "email")) email = i;
    if (same_name(name, "name")) c.name_ = i;
    c.names_.push_back(name);
  }
  if (!email) {
    return CsvError{header.line, "the header row has no 'email' column (it names the columns: email,name,...)"};
  }
  c.email_ = *email;
  return c;
}

RecipientRow RecipientColumns::row(CsvRecord& record, std::uint64_t index) const {
  RecipientRow r;
  r.index = index;
  r.line = record.line;
  const std::string at = "line " + std::to_string(record.line) + ": ";
  if (record.fields.size() != names_.size()) {
    if (email_ < record.fields.size()) r.email = std::string(trim(record.fields[email_]));
    r.invalid = at + std::to_string(record.fields.size()) + " fields where the header has " + std::to_string(names_.size());
    return r;
  }
  r.email = std::string(trim(record.fields[email_]));
  if (std::string why = address_problem(r.email); !why.empty()) r.invalid = at + why;
  if (name_) r.name = std::string(trim(record.fields[*name_]));
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (i == email_ || (name_ && i == *name_)) continue;
    r.vars.emplace_back(names_[i], std::move(record.fields[i]));
  }
  return r;
}

}  // namespace petrel::cli
