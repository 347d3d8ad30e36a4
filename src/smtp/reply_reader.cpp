#include "smtp/reply_reader.hpp"

#include <cstring>

namespace petrel::smtp {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39.
bool valid_code(std::string_view line) {
  return line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '5' && digit(line[2]);
}

// RFC 3463 §2: class "." subject "." detail, class matching the reply's
// first digit (RFC 2034 §4), followed by a space or the end of the line.
// Returns its length, 0 when `text` does not start with one.
std::size_t enhanced_length(std::string_view text, int code) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') return 0;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < text.size() && digit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  return (i == text.size() || text[i] == ' ') ? i : 0;
}

// Reply text ends up in logs and DSNs: no control octets get there.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string ServerReply::str() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += ' ' + enhanced;
  for (const auto& line : lines) {
    if (!line.empty()) out += ' ' + line;
  }
  return out;
}

ServerReply ServerReply::made_here(Status status, std::string text) {
  ServerReply r;
  r.code = status.code;
  r.enhanced = std::string(status.enhanced);
  r.lines.push_back(std::move(text));
  r.local = true;
  return r;
}

std::string_view describe(ReplyReader::Error e) {
  switch (e) {
    case ReplyReader::Error::none: return "no error";
    case ReplyReader::Error::malformed: return "malformed reply";
    case ReplyReader::Error::line_too_long: return "reply line too long";
    case ReplyReader::Error::too_many_lines: return "reply with too many lines";
  }
  return "unknown error";
}

std::size_t ReplyReader::feed(std::string_view in) {
  std::size_t pos = 0;
  while (pos < in.size() && !ready_ && error_ == Error::none) {
    const void* found = std::memchr(in.data() + pos, '\n', in.size() - pos);
    const std::size_t end = found ? static_cast<const char*>(found) - in.data() : in.size();
    // The limit counts the line ending (its CR is in line_, its LF is the +1).
    if (line_.size() + (end - pos) + 1 > limits_.max_line) {
      fail(Error::line_too_long);
      return pos;
    }
    line_.append(in.data() + pos, end - pos);
    pos = end;
    if (found) {
      ++pos;
      end_line();
    }
  }
  return pos;
}

// A bare LF is accepted as a line ending, as most clients do; the CR before
// it is dropped.
void ReplyReader::end_line() {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!valid_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    fail(Error::malformed);
    return;
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  const bool more = line.size() > 3 && line[3] == '-';
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
  if (reply_.lines.empty()) {
    reply_.code = code;
    if (const std::size_t n = enhanced_length(text, code)) reply_.enhanced = std::string(text.substr(0, n));
  } else if (code != reply_.code) {
    fail(Error::malformed);  // RFC 5321 §4.2.1: every line of a reply has the same code
    return;
  }
  if (reply_.lines.size() >= limits_.max_lines) {
    fail(Error::too_many_lines);
    return;
  }
  // RFC 2034 §4: the enhanced code leads every line; strip it where it does.
  if (!reply_.enhanced.empty() && text.substr(0, reply_.enhanced.size()) == reply_.enhanced &&
      (text.size() == reply_.enhanced.size() || text[reply_.enhanced.size()] == ' ')) {
    text.remove_prefix(std::min(text.size(), reply_.enhanced.size() + 1));
  }
  reply_.lines.push_back(printable(text));
  line_.clear();
  ready_ = !more;
}

ServerReply ReplyReader::take() {
  ready_ = false;
  ServerReply out = std::move(reply_);
  reply_ = ServerReply{};
  return out;
}

}  // namespace petrel::smtp
