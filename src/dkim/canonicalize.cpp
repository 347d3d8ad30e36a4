#include "dkim/canonicalize.hpp"

namespace petrel::dkim {
namespace {

constexpr std::string_view kCrlf = "\r\n";
// The sink gets the canonical bytes at least this often.
constexpr std::size_t kFlushBytes = 64 * 1024;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_final_crlf(std::string_view field) {
  if (field.ends_with(kCrlf)) field.remove_suffix(2);
  return field;
}

// RFC 5322 §3.6.8: printable US-ASCII except ':'.
bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

// The name of the field whose first line is `line`, or "".
std::string_view field_name(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // "Date :" (RFC 5322 §4.5)
  return is_field_name(name) ? name : std::string_view{};
}

}  // namespace

SplitMessage split_message(std::string_view message) {
  SplitMessage split;
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t eol = message.find(kCrlf, pos);
    if (eol == pos) {
      split.body_offset = pos + 2;
      return split;
    }
    const std::size_t next = eol == std::string_view::npos ? message.size() : eol + 2;
    if (is_wsp(message[pos]) && !split.fields.empty()) {
      std::string_view& raw = split.fields.back().raw;
      const auto start = static_cast<std::size_t>(raw.data() - message.data());
      raw = message.substr(start, next - start);  // a folded line joins the field above
    } else {
      const std::size_t end = eol == std::string_view::npos ? message.size() : eol;
      split.fields.push_back({field_name(message.substr(pos, end - pos)), message.substr(pos, next - pos)});
    }
    pos = next;
  }
  split.body_offset = message.size();
  return split;
}

std::string canonicalize_header_simple(std::string_view raw_field) { return std::string(without_final_crlf(raw_field)); }

std::string canonicalize_header_relaxed(std::string_view raw_field) {
  const std::string_view field = without_final_crlf(raw_field);
  std::string out;
  out.reserve(field.size());
  bool in_name = true;
  bool space = false;        // a run of WSP, written as one SP before the next octet
  bool after_colon = false;  // no octet of the value yet: WSP here is dropped
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '\r' && i + 1 < field.size() && field[i + 1] == '\n') {
      ++i;  // unfolding
      continue;
    }
    if (is_wsp(c)) {
      space = true;
      continue;
    }
    if (in_name && c == ':') {
      out += ':';
      in_name = false;
      after_colon = true;
      space = false;  // WSP before the colon is dropped
      continue;
    }
    if (space && !after_colon) out += ' ';
    space = false;
    after_colon = false;
    out += in_name ? to_lower(c) : c;
  }
  return out;  // WSP at the end was still held: dropped
}

std::string canonicalize_header(Canonicalization c, std::string_view raw_field) {
  return c == Canonicalization::simple ? canonicalize_header_simple(raw_field) : canonicalize_header_relaxed(raw_field);
}

BodyCanonicalizer::BodyCanonicalizer(Canonicalization c, Sink sink) : canonicalization_(c), sink_(std::move(sink)) {}

void BodyCanonicalizer::update(std::string_view chunk) {
  const bool relaxed = canonicalization_ == Canonicalization::relaxed;
  std::size_t i = 0;
  while (i < chunk.size()) {
    const char c = chunk[i];
    if (held_cr_) {
      held_cr_ = false;
      if (c == '\n') {
        end_of_line();
        ++i;
        continue;
      }
      content("\r");  // a bare CR is part of the line
    }
    if (c == '\r') {
      held_cr_ = true;
      ++i;
    } else if (relaxed && is_wsp(c)) {
      held_space_ = true;
      ++i;
    } else {
      // A run of ordinary octets ends at CR, and in relaxed at WSP.
      std::size_t end = i + 1;
      while (end < chunk.size() && chunk[end] != '\r' && !(relaxed && is_wsp(chunk[end]))) ++end;
      content(chunk.substr(i, end - i));
      i = end;
    }
  }
  flush(0);
}

void BodyCanonicalizer::finish() {
  if (held_cr_) content("\r");
  held_cr_ = false;
  held_space_ = false;  // WSP at the end of the last line
  if (any_content_) {
    out_ += kCrlf;  // the last line's own CRLF, or the one a body without it gets
  } else if (canonicalization_ == Canonicalization::simple) {
    out_ += kCrlf;  // an empty body is one empty line
  }
  held_line_ends_ = 0;
  flush(0);
}

// A line goes on: the line ends held back were not the end of the body.
void BodyCanonicalizer::content(std::string_view octets) {
  for (; held_line_ends_ > 0; --held_line_ends_) {
    out_ += kCrlf;
    flush(kFlushBytes);
  }
  if (held_space_) out_ += ' ';
  held_space_ = false;
  out_ += octets;
  any_content_ = true;
  flush(kFlushBytes);
}

void BodyCanonicalizer::end_of_line() {
  held_space_ = false;  // relaxed: WSP at the end of a line is dropped
  ++held_line_ends_;
}

void BodyCanonicalizer::flush(std::size_t above) {
  if (out_.size() > above) {
    sink_(out_);
    out_.clear();
  }
}

std::string canonicalize_body(Canonicalization c, std::string_view body) {
  std::string out;
  BodyCanonicalizer canonicalizer(c, [&out](std::string_view bytes) { out += bytes; });
  canonicalizer.update(body);
  canonicalizer.finish();
  return out;
}

}  // namespace petrel::dkim
