#include "smtp/eight_bit_downgrade.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "smtp/client_commands.hpp"
#include "smtp/header_field.hpp"
#include "smtp/transfer_encoding.hpp"

namespace petrel::smtp {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// One entity (RFC 2045 §2.4): its header block, with the final CRLF of
// the last field, and its body after the empty line.
struct Entity {
  std::string_view headers;
  std::string_view body;
  bool has_separator = false;  // the empty line was there
};

Entity split_entity(std::string_view text) {
  if (text.starts_with("\r\n")) return {{}, text.substr(2), true};
  const std::size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) return {text, {}, false};
  return {text.substr(0, end + 2), text.substr(end + 4), true};
}

// The header fields (each with its folded lines and CRLF).
std::vector<std::string_view> fields_of(std::string_view headers) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (start < headers.size()) {
    std::size_t end = start;
    do {
      const std::size_t crlf = headers.find("\r\n", end);
      end = crlf == std::string_view::npos ? headers.size() : crlf + 2;
    } while (end < headers.size() && (headers[end] == ' ' || headers[end] == '\t'));
    fields.push_back(headers.substr(start, end - start));
    start = end;
  }
  return fields;
}

// The value of the first field named `name` (lower case), unfolded.
std::string field_value(std::string_view headers, std::string_view name) {
  for (auto field : fields_of(headers)) {
    if (!is_field(field, name)) continue;
    std::string value;
    for (char c : field.substr(field.find(':') + 1)) {
      if (c != '\r' && c != '\n') value += c;
    }
    return std::string(trim(value));
  }
  return "";
}

// A Content-Type parameter's value (RFC 2045 §5.1), unquoted; "" if absent.
std::string parameter(std::string_view content_type, std::string_view name) {
  std::size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = trim(content_type.substr(pos + 1));
    const std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return "";
    const bool match = lower(trim(rest.substr(0, eq))) == name;
    rest = trim(rest.substr(eq + 1));
    std::string value;
    std::size_t used = 0;
    if (rest.starts_with('"')) {
      for (used = 1; used < rest.size() && rest[used] != '"'; ++used) {
        if (rest[used] == '\\' && used + 1 < rest.size()) ++used;
        value += rest[used];
      }
      ++used;
    } else {
      while (used < rest.size() && rest[used] != ';' && rest[used] != ' ' && rest[used] != '\t') value += rest[used++];
    }
    if (match) return value;
    const std::size_t offset = static_cast<std::size_t>(rest.data() - content_type.data()) + used;
    pos = offset < content_type.size() ? content_type.find(';', offset) : std::string_view::npos;
  }
  return "";
}

// The header block with its Content-Transfer-Encoding replaced by `cte`.
std::string with_encoding(std::string_view headers, std::string_view cte) {
  std::string out;
  for (auto field : fields_of(headers)) {
    if (!is_field(field, "content-transfer-encoding")) out += field;
  }
  out += "Content-Transfer-Encoding: ";
  out += cte;
  out += "\r\n";
  return out;
}

std::optional<std::string> convert(std::string_view text, int depth);

enum class DelimiterKind { none, part, close };

// "--boundary" or "--boundary--", trailing blanks allowed (RFC 2046 §5.1.1).
DelimiterKind delimiter_kind(std::string_view line, std::string_view delimiter) {
  if (!line.starts_with(delimiter)) return DelimiterKind::none;
  std::string_view rest = line.substr(delimiter.size());
  const bool close = rest.starts_with("--");
  if (close) rest.remove_prefix(2);
  if (!trim(rest).empty()) return DelimiterKind::none;
  return close ? DelimiterKind::close : DelimiterKind::part;
}

// RFC 2046 §5.1.1: the body split at "--boundary" lines; each part is
// converted, everything between them kept as it was.
std::optional<std::string> convert_multipart(std::string_view body, const std::string& boundary, int depth) {
  const std::string delimiter = "--" + boundary;
  std::string out;
  std::size_t line_start = 0;
  std::size_t part_start = std::string_view::npos;  // where the current part's content began
  bool closed = false;
  while (line_start <= body.size() && !closed) {
    std::size_t line_end = body.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = body.size();
    const std::string_view line = body.substr(line_start, line_end - line_start);
    const DelimiterKind kind = delimiter_kind(line, delimiter);
    if (kind != DelimiterKind::none) {
      closed = kind == DelimiterKind::close;
      // The CRLF before a delimiter belongs to it (RFC 2046 §5.1.1).
      const std::size_t content_end = line_start >= 2 ? line_start - 2 : 0;
      if (part_start == std::string_view::npos) {
        if (has_eight_bit(body.substr(0, line_start))) return std::nullopt;  // preamble
        out.append(body.substr(0, line_start));
      } else {
        const std::string_view original = body.substr(part_start, content_end - part_start);
        auto part = convert(original, depth + 1);
        if (!part) return std::nullopt;
        // base64 ends its last line; here the delimiter's CRLF does that.
        if (part->ends_with("\r\n") && !original.ends_with("\r\n")) part->resize(part->size() - 2);
        out += *part;
        out += "\r\n";
      }
      out.append(line);
      if (line_end < body.size()) out += "\r\n";
      part_start = std::min(line_end + 2, body.size());
    }
    if (line_end == body.size()) break;
    line_start = line_end + 2;
  }
  if (part_start == std::string_view::npos) return has_eight_bit(body) ? std::nullopt : std::optional(std::string(body));
  const std::string_view rest = body.substr(part_start);
  if (closed) {  // the epilogue
    if (has_eight_bit(rest)) return std::nullopt;
    out.append(rest);
    return out;
  }
  const auto last = convert(rest, depth + 1);  // no close delimiter: the last part runs to the end
  if (!last) return std::nullopt;
  return out + *last;
}

std::optional<std::string> convert(std::string_view text, int depth) {
  if (depth > kMaxMimeDepth) return std::nullopt;
  const Entity e = split_entity(text);
  if (has_eight_bit(e.headers)) return std::nullopt;
  if (!has_eight_bit(e.body)) return std::string(text);
  const std::string content_type = lower(field_value(e.headers, "content-type"));
  const std::string cte = lower(field_value(e.headers, "content-transfer-encoding"));
  const std::string type = std::string(trim(std::string_view(content_type).substr(0, content_type.find(';'))));
  const std::string separator = e.has_separator ? "\r\n" : "";
  if (type.starts_with("multipart/")) {
    const std::string boundary = parameter(field_value(e.headers, "content-type"), "boundary");
    if (boundary.empty()) return std::nullopt;
    auto body = convert_multipart(e.body, boundary, depth);
    if (!body) return std::nullopt;
    return std::string(e.headers) + separator + *body;
  }
  if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") return std::nullopt;  // 8 bits in qp/base64
  if (type == "message/rfc822" || type == "message/global") {
    if (type == "message/global") return std::nullopt;  // RFC 6532: it is 8-bit by nature
    auto inner = convert(e.body, depth + 1);
    if (!inner) return std::nullopt;
    return with_encoding(e.headers, "7bit") + separator + *inner;  // RFC 2046 §5.2.1: no qp/base64
  }
  // Text keeps its lines as quoted-printable; anything else, or content
  // declared binary, goes as base64.
  const bool text_type = type.empty() || type.starts_with("text/");
  if (text_type && cte != "binary") return with_encoding(e.headers, "quoted-printable") + separator + quoted_printable(e.body);
  return with_encoding(e.headers, "base64") + separator + base64_lines(e.body);
}

}  // namespace

std::optional<std::string> downgrade_to_seven_bit(std::string_view message) {
  const Entity e = split_entity(message);
  if (!has_eight_bit(e.body) || !field_value(e.headers, "mime-version").empty()) return convert(message, 0);
  // A message without MIME headers: declared MIME text of an unknown 8-bit
  // character set (RFC 1428 §3), so that the encoding can be stated.
  std::string headers(e.headers);
  headers += "MIME-Version: 1.0\r\n";
  if (field_value(e.headers, "content-type").empty()) headers += "Content-Type: text/plain; charset=unknown-8bit\r\n";
  return convert(headers + "\r\n" + std::string(e.body), 0);
}

}  // namespace petrel::smtp
