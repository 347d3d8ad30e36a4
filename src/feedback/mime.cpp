// Just enough MIME for feedback reports. Every loop moves forward through
// the input, so the work is linear in its size whatever it holds.
#include "feedback/mime.hpp"

#include <algorithm>

namespace petrel::feedback::detail {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// The line that starts at `pos`, without its CRLF or LF, and where the
// next one starts.
struct Line {
  std::string_view text;
  std::size_t next;
};

Line line_at(std::string_view s, std::size_t pos) {
  const std::size_t lf = s.find('\n', pos);
  std::string_view text = s.substr(pos, lf == npos ? npos : lf - pos);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return {text, lf == npos ? s.size() : lf + 1};
}

// RFC 5322 §3.6.8: printable US-ASCII except ':'. White space before the
// colon ("Subject :", obsolete syntax) is tolerated and dropped.
std::optional<std::string_view> field_name(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == npos) return std::nullopt;
  const std::string_view name = trim(line.substr(0, colon));
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (name.empty() || !printable) return std::nullopt;
  return name;
}

// ---- Content-Type ----

// The value without its comments ("(...)", which nest and may hold
// quoted-pairs), quoted strings kept as written.
std::string without_comments(std::string_view value) {
  std::string out;
  std::size_t depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size() && (quoted || depth > 0)) {
      if (quoted) out.append(value.substr(i, 2));
      ++i;
    } else if (quoted) {
      out += c;
      quoted = c != '"';
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      if (--depth == 0) out += ' ';
    } else if (depth == 0) {
      out += c;
      quoted = c == '"';
    }
  }
  return out;
}

// A cursor over a Content-Type value without comments.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() { return skip_wsp(), pos_ >= s_.size(); }
  bool take(char c) {
    skip_wsp();
    if (pos_ >= s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  // Up to white space or one of `stops`.
  std::string_view token(std::string_view stops) {
    skip_wsp();
    const std::size_t start = pos_;
    while (pos_ < s_.size() && !is_wsp(s_[pos_]) && stops.find(s_[pos_]) == npos) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // A quoted string (its quoted-pairs resolved; unterminated: to the end)
  // or a token.
  std::string value() {
    if (!take('"')) return std::string(token(";"));
    std::string out;
    for (; pos_ < s_.size() && s_[pos_] != '"'; ++pos_) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_];
    }
    if (pos_ < s_.size()) ++pos_;
    return out;
  }
  // To the next ';' outside quotes (or the end): past what is left of a
  // malformed parameter.
  void skip_to_semicolon() {
    bool quoted = false;
    for (; pos_ < s_.size() && (quoted || s_[pos_] != ';'); ++pos_) {
      if (s_[pos_] == '\\' && quoted && pos_ + 1 < s_.size()) {
        ++pos_;
      } else if (s_[pos_] == '"') {
        quoted = !quoted;
      }
    }
  }

 private:
  void skip_wsp() {
    while (pos_ < s_.size() && is_wsp(s_[pos_])) ++pos_;
  }
  std::string_view s_;
  std::size_t pos_ = 0;
};

// ---- Multipart ----

enum class Delimiter { none, next, close };

// "--boundary" or "--boundary--", then only transport padding (RFC 2046
// §5.1.1: linear white space before the line break).
Delimiter delimiter_of(std::string_view line, std::string_view boundary) {
  if (line.size() < boundary.size() + 2 || line.substr(0, 2) != "--" || line.substr(2, boundary.size()) != boundary) {
    return Delimiter::none;
  }
  std::string_view rest = line.substr(boundary.size() + 2);
  const bool close = rest.substr(0, 2) == "--";
  if (close) rest.remove_prefix(2);
  if (!trim(rest).empty()) return Delimiter::none;
  return close ? Delimiter::close : Delimiter::next;
}

// Where the part that started at `start` ends, given the delimiter line
// at `delimiter`: the line break before a delimiter belongs to it.
std::size_t part_end(std::string_view body, std::size_t start, std::size_t delimiter) {
  std::size_t end = delimiter;
  if (end > start && body[end - 1] == '\n') --end;
  if (end > start && body[end - 1] == '\r') --end;
  return end;
}

}  // namespace

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

Entity split_entity(std::string_view text) {
  Entity entity;
  bool in_field = false;  // continuation lines belong to the last field
  for (std::size_t pos = 0; pos < text.size();) {
    const Line line = line_at(text, pos);
    pos = line.next;
    if (line.text.empty()) {
      entity.body = text.substr(pos);
      break;
    }
    if (is_wsp(line.text.front())) {
      if (in_field) entity.fields.back().value.append(line.text);
      continue;
    }
    const auto name = field_name(line.text);
    in_field = name.has_value();
    if (in_field) entity.fields.push_back({*name, std::string(line.text.substr(line.text.find(':') + 1))});
  }
  for (HeaderField& field : entity.fields) field.value = std::string(trim(field.value));
  return entity;
}

const std::string* find_field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const HeaderField& field : fields) {
    if (equal_ignoring_case(field.name, name)) return &field.value;
  }
  return nullptr;
}

const std::string* ContentType::parameter(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<ContentType> parse_content_type(std::string_view value) {
  const std::string clean = without_comments(value);
  Cursor cursor(clean);
  ContentType ct;
  ct.type = lower(cursor.token("/;"));
  if (!cursor.take('/')) return std::nullopt;
  ct.subtype = lower(cursor.token(";"));
  if (ct.type.empty() || ct.subtype.empty()) return std::nullopt;
  while (!cursor.done()) {
    if (!cursor.take(';')) {
      cursor.skip_to_semicolon();
      continue;
    }
    const std::string name = lower(cursor.token(";="));
    if (name.empty() || !cursor.take('=')) continue;
    ct.parameters.emplace_back(name, cursor.value());
  }
  return ct;
}

std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  std::size_t start = npos;  // of the current part; npos in the preamble
  for (std::size_t pos = 0; pos < body.size();) {
    const std::size_t line_start = pos;
    const Line line = line_at(body, pos);
    pos = line.next;
    const Delimiter delimiter = delimiter_of(line.text, boundary);
    if (delimiter == Delimiter::none) continue;
    if (start != npos) parts.push_back(body.substr(start, part_end(body, start, line_start) - start));
    if (delimiter == Delimiter::close) return parts;
    start = pos;
  }
  // No closing delimiter (or it is past the part scanned): the last part
  // runs to the end.
  if (start != npos && start < body.size()) parts.push_back(body.substr(start));
  return parts;
}

}  // namespace petrel::feedback::detail
