#include "mime/message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "smtp/client_commands.hpp"
#include "smtp/transfer_encoding.hpp"

namespace petrel::mime {
namespace {

constexpr std::size_t kFoldAt = 78;          // RFC 5322 §2.1.1: SHOULD
constexpr std::size_t kMaxLine = 998;        // RFC 5322 §2.1.1: MUST
// RFC 2047 §2 allows 75; shorter, so that a word fits on the first line
// after a header's name, within 78 columns.
constexpr std::size_t kEncodedWordMax = 60;
constexpr std::size_t kParamSegment = 60;    // an RFC 2231 continuation's value
constexpr std::string_view kHex = "0123456789ABCDEF";

bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Octets of the UTF-8 character that starts with `lead`; 1 for a stray byte.
std::size_t utf8_length(unsigned char lead) {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

// RFC 2231 §7 attribute-char: what goes in a parameter value unencoded.
bool attribute_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

bool address_header(std::string_view name) {
  for (std::string_view h : {"From", "To", "Cc", "Bcc", "Reply-To", "Sender"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

// A user header's value made 7-bit: mailboxes or unstructured text.
std::string encode_value(std::string_view name, std::string_view value) {
  if (!address_header(name)) return encode_unstructured(value);
  std::string out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view one = value.substr(start, comma - start);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += encode_mailbox(one);
    start = comma + 1;
  }
  return out;
}

std::string text_part_headers(bool seven_bit, std::string_view subtype = "plain") {
  std::string out = fold_header("Content-Type", "text/" + std::string(subtype) + "; charset=utf-8");
  out += fold_header("Content-Transfer-Encoding", seven_bit ? "7bit" : "quoted-printable");
  return out;
}

// RFC 6152 leaves a choice between 8bit with BODY=8BITMIME and an
// encoding; quoted-printable goes to every server, needs no downgrade on
// the way (RFC 6152 §3) and keeps ASCII text readable.
std::string text_body(const std::string& crlf_text, bool seven_bit) {
  return seven_bit ? crlf_text : smtp::quoted_printable(crlf_text);
}

std::string text_part(std::string_view text, std::string_view subtype) {
  const std::string crlf = crlf_lines(text);
  const bool seven_bit = seven_bit_ok(crlf);
  return text_part_headers(seven_bit, subtype) + "\r\n" + text_body(crlf, seven_bit);
}

// The readable part: text, HTML, or both as multipart/alternative (RFC 2046
// §5.1.4: the plainest first). Its headers, a blank line, its body.
std::string body_part(const MessageSpec& spec) {
  if (spec.html.empty()) return text_part(spec.body, "plain");
  if (spec.body.empty()) return text_part(spec.html, "html");
  const std::string b = spec.boundary + "_alt";
  std::string out = fold_header("Content-Type", "multipart/alternative; boundary=\"" + b + "\"");
  out += "\r\n--" + b + "\r\n" + text_part(spec.body, "plain");
  out += "\r\n--" + b + "\r\n" + text_part(spec.html, "html");
  return out + "\r\n--" + b + "--\r\n";
}

std::string attachment_part(const Attachment& a) {
  std::string out = fold_header("Content-Type", a.content_type + "; " + content_type_name(a.filename));
  out += fold_header("Content-Transfer-Encoding", "base64");
  out += fold_header("Content-Disposition", "attachment; " + disposition_filename(a.filename));
  out += "\r\n";
  out += smtp::base64_lines(a.data);
  return out;
}

}  // namespace

std::string fold_header(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  std::size_t line = out.size();
  bool first = true;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t space = value.find(' ', start);
    if (space == std::string_view::npos) space = value.size();
    const std::string_view word = value.substr(start, space - start);
    if (!first && line + 1 + word.size() > kFoldAt) {
      out += "\r\n";
      line = 0;
    }
    out += ' ';
    out += word;
    line += 1 + word.size();
    first = false;
    start = space + 1;
  }
  return out + "\r\n";
}

std::vector<std::string> encoded_words(std::string_view text) {
  if (ascii(text) && text.find("=?") == std::string_view::npos) return {std::string(text)};
  constexpr std::string_view kPrefix = "=?utf-8?b?";
  // 4 base64 characters per 3 octets, within the 75 of a word.
  constexpr std::size_t kOctets = (kEncodedWordMax - kPrefix.size() - 2) / 4 * 3;
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = start;
    for (;;) {
      const std::size_t next = std::min(text.size(), end + utf8_length(static_cast<unsigned char>(text[end])));
      if (next - start > kOctets) break;
      end = next;
      if (end == text.size()) break;
    }
    words.push_back(std::string(kPrefix) + smtp::base64_encode(text.substr(start, end - start)) + "?=");
    start = end;
  }
  return words;
}

std::string encode_unstructured(std::string_view text) {
  std::string out;
  for (const std::string& w : encoded_words(text)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string encode_mailbox(std::string_view mailbox) {
  const std::size_t open = mailbox.rfind('<');
  if (ascii(mailbox) || open == std::string_view::npos || open == 0) return std::string(mailbox);
  std::string_view phrase = mailbox.substr(0, open);
  while (!phrase.empty() && phrase.back() == ' ') phrase.remove_suffix(1);
  if (phrase.size() >= 2 && phrase.front() == '"' && phrase.back() == '"') phrase = phrase.substr(1, phrase.size() - 2);
  if (!ascii(mailbox.substr(open))) return std::string(mailbox);  // an SMTPUTF8 address: nothing to encode
  return encode_unstructured(phrase) + " " + std::string(mailbox.substr(open));
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

bool seven_bit_ok(std::string_view text) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0 || c >= 0x80) return false;
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      line = 0;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n' || ++line > kMaxLine) return false;
  }
  return true;
}

std::string content_type_for(std::string_view filename) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 32> kTypes{{
      {"txt", "text/plain"}, {"text", "text/plain"}, {"log", "text/plain"}, {"csv", "text/csv"},
      {"html", "text/html"}, {"htm", "text/html"}, {"ics", "text/calendar"}, {"md", "text/markdown"},
      {"pdf", "application/pdf"}, {"json", "application/json"}, {"xml", "application/xml"},
      {"zip", "application/zip"}, {"gz", "application/gzip"}, {"tar", "application/x-tar"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
      {"svg", "image/svg+xml"}, {"webp", "image/webp"}, {"mp3", "audio/mpeg"}, {"wav", "audio/wav"},
      {"mp4", "video/mp4"}, {"ogg", "audio/ogg"},
  }};
  const std::size_t dot = filename.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < filename.size()) {
    const std::string_view ext = filename.substr(dot + 1);
    for (const auto& [e, type] : kTypes) {
      if (iequals(e, ext)) return std::string(type);
    }
  }
  return "application/octet-stream";
}

std::string disposition_filename(std::string_view filename) {
  const bool printable = std::all_of(filename.begin(), filename.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (printable && filename.size() <= kParamSegment) return "filename=" + quoted(filename);
  // RFC 2231 §4: charset'language'%XX..., cut between characters (§3).
  std::vector<std::string> segments{"utf-8''"};
  for (std::size_t i = 0; i < filename.size();) {
    const std::size_t n = std::min(filename.size() - i, utf8_length(static_cast<unsigned char>(filename[i])));
    std::string piece;
    for (const char ch : filename.substr(i, n)) {
      const auto c = static_cast<unsigned char>(ch);
      piece += attribute_char(c) ? std::string(1, ch) : std::string{'%', kHex[c >> 4], kHex[c & 0xf]};
    }
    if (segments.back().size() + piece.size() > kParamSegment) segments.emplace_back();
    segments.back() += piece;
    i += n;
  }
  if (segments.size() == 1) return "filename*=" + segments.front();
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += "; ";
    out += "filename*" + std::to_string(i) + "*=" + segments[i];
  }
  return out;
}

std::string content_type_name(std::string_view filename) {
  const bool printable = std::all_of(filename.begin(), filename.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (printable) return "name=" + quoted(filename);
  return "name=\"" + encode_unstructured(filename) + "\"";
}

std::string check_header(std::string_view name, std::string_view value) {
  if (name.empty()) return "a header needs a name";
  for (char c : name) {
    if (c < 33 || c > 126 || c == ':') return "'" + std::string(name) + "' is not a header name";
  }
  if (value.find_first_of("\r\n") != std::string_view::npos) return "a header value cannot hold a line break";
  if (iequals(name, "MIME-Version") || (name.size() >= 8 && iequals(name.substr(0, 8), "Content-"))) {
    return std::string(name) + " is set by petrel send from the body and attachments";
  }
  std::size_t word = 0;
  for (char c : value) {
    word = c == ' ' ? 0 : word + 1;
    if (word > kMaxLine - 100) return "a header value has a word too long for one line (RFC 5322 §2.1.1)";
  }
  return "";
}

bool split_header(std::string_view line, std::string& name, std::string& value) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  name = std::string(line.substr(0, colon));
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  value = std::string(v);
  return true;
}

std::string build_message(const MessageSpec& spec) {
  std::vector<std::pair<std::string, std::string>> generated{
      {"Date", spec.date}, {"From", encode_value("From", spec.from)}};
  std::string to;
  for (const auto& t : spec.to) to += (to.empty() ? "" : ", ") + encode_mailbox(t);
  if (!to.empty()) generated.emplace_back("To", to);
  if (!spec.subject.empty()) generated.emplace_back("Subject", encode_unstructured(spec.subject));
  generated.emplace_back("Message-ID", spec.message_id);

  std::vector<bool> used(spec.headers.size(), false);
  std::string out;
  for (auto& [name, value] : generated) {
    for (std::size_t i = 0; i < spec.headers.size(); ++i) {
      if (!used[i] && iequals(spec.headers[i].first, name)) {
        value = encode_value(name, spec.headers[i].second);
        used[i] = true;
        break;
      }
    }
    out += fold_header(name, value);
  }
  for (std::size_t i = 0; i < spec.headers.size(); ++i) {
    if (!used[i]) out += fold_header(spec.headers[i].first, encode_value(spec.headers[i].first, spec.headers[i].second));
  }
  out += fold_header("MIME-Version", "1.0");

  if (spec.attachments.empty()) return out + body_part(spec);
  const std::string& b = spec.boundary;
  out += fold_header("Content-Type", "multipart/mixed; boundary=\"" + b + "\"");
  out += "\r\nThis is a multi-part message in MIME format.\r\n";
  // RFC 2046 §5.1.1: the CRLF before "--boundary" belongs to the delimiter.
  out += "\r\n--" + b + "\r\n" + body_part(spec);
  for (const Attachment& a : spec.attachments) out += "\r\n--" + b + "\r\n" + attachment_part(a);
  return out + "\r\n--" + b + "--\r\n";
}

std::string rfc5322_date(std::time_t when) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  localtime_r(&when, &tm);
  const long offset = tm.tm_gmtoff / 60;
  const long abs = offset < 0 ? -offset : offset;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, offset < 0 ? '-' : '+',
                abs / 60, abs % 60);
  return buf;
}

std::string make_message_id(std::time_t when, std::uint64_t random, std::string_view domain) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "<%04d%02d%02d%02d%02d%02d.%016llx@", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned long long>(random));
  return buf + std::string(domain.empty() ? "petrel.invalid" : domain) + ">";
}

std::string make_boundary(std::uint64_t random) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "=_petrel_%016llx", static_cast<unsigned long long>(random));
  return buf;
}

}  // namespace petrel::mime
