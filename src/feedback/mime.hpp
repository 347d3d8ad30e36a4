// Just enough MIME to take a feedback report apart: header fields, a
// Content-Type with its parameters, and the parts of a multipart body.
// Linear in the input, no recursion, never throws on bad input: it reads
// mail from anyone. Internal to src/feedback/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::feedback::detail {

struct HeaderField {
  std::string_view name;  // as written, without trailing white space
  std::string value;      // unfolded (RFC 5322 §2.2.3), trimmed
};

// A message or body part: its header fields and its body. Lines end in
// CRLF or LF; the header section ends at the first empty line (no empty
// line: all header, no body). Lines that are not fields are skipped.
struct Entity {
  std::vector<HeaderField> fields;
  std::string_view body;
};
Entity split_entity(std::string_view text);

// The first field of that name (case-insensitive), or null.
const std::string* find_field(const std::vector<HeaderField>& fields, std::string_view name);

// RFC 2045 §5.1: type/subtype; parameters. Type, subtype and parameter
// names lower-case; values unquoted (quoted-pairs resolved); comments, even
// nested ones, dropped.
struct ContentType {
  std::string type;
  std::string subtype;
  std::vector<std::pair<std::string, std::string>> parameters;
  const std::string* parameter(std::string_view name) const;  // name lower-case
};
std::optional<ContentType> parse_content_type(std::string_view value);

// RFC 2046 §5.1.1: the body parts between "--boundary" lines, without the
// preamble and epilogue. A last part without a closing "--boundary--" runs
// to the end. Empty when no delimiter line is found.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary);

bool equal_ignoring_case(std::string_view a, std::string_view b);

}  // namespace petrel::feedback::detail
