// The tag=value lists of DKIM (RFC 6376 §3.2): key records, DKIM-Signature
// fields, and ARC's fields (RFC 8617 §4.1), which use the same syntax.
// Pure: the values are views into the text parsed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::dkim {

struct Tag {
  std::string name;        // as written (tag names are case-sensitive)
  std::string_view value;  // without the WSP and folding around it
};

struct TagList {
  std::vector<Tag> tags;  // in the order written
  // The value of `name`, or nullopt when the list has no such tag.
  std::optional<std::string_view> find(std::string_view name) const;
};

// The list in `text`, or nullopt with `error`: a tag without '=' or with a
// bad name, a tag given twice. Empty specs ("a=1;;b=2", a final ';') are
// allowed.
std::optional<TagList> parse_tag_list(std::string_view text, std::string& error);

// "a : b:c" -> {"a", "b", "c"}, in lower case; "" -> {}.
std::vector<std::string> colon_list(std::string_view value);

// `s` without SP, HTAB, CR, LF at either end.
std::string_view trim_wsp(std::string_view s);
std::string ascii_lower(std::string_view s);
bool equal_ignoring_case(std::string_view a, std::string_view b);  // ASCII letters

}  // namespace petrel::dkim
