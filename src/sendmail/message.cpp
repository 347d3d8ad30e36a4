#include "sendmail/message.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "smtp/received_header.hpp"

namespace petrel::sendmail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// "Name:" at the start of `line`: the name's length, or 0.
std::size_t field_name_length(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] > ' ' && line[n] < 127 && line[n] != ':') ++n;
  return n > 0 && n < line.size() && line[n] == ':' ? n : 0;
}

bool has_field(const std::vector<HeaderField>& fields, std::string_view name) {
  return std::any_of(fields.begin(), fields.end(), [&](const HeaderField& f) { return iequals(f.name, name); });
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// One entry of an address list as it is being read.
struct Entry {
  std::string text;   // outside <>, comments dropped, blanks dropped outside quotes
  std::string angle;  // inside <>
  bool has_angle = false;

  std::string address() const {
    std::string a = has_angle ? angle : text;
    // A source route "<@a,@b:user@x>" (RFC 5322 §4.4 obs-route): ignored.
    if (!a.empty() && a[0] == '@' && a.find(':') != std::string::npos) a = a.substr(a.find(':') + 1);
    return a;
  }
};

}  // namespace

void MessageReader::feed(std::string_view bytes) {
  while (!bytes.empty() && !done_) {
    const auto lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    partial_.append(bytes.substr(0, lf));
    bytes.remove_prefix(lf + 1);
    std::string text = std::move(partial_);
    partial_.clear();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    line(text);
  }
}

void MessageReader::finish() {
  if (done_ || partial_.empty()) return;
  std::string text = std::move(partial_);
  partial_.clear();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  line(text);
}

void MessageReader::line(std::string_view text) {
  const bool first = first_line_;
  first_line_ = false;
  if (!ignore_dots_ && text == ".") {
    done_ = true;
    return;
  }
  if (first && text.substr(0, 5) == "From ") return;  // an mbox separator, not a header field
  content_.append(text).append("\r\n");
}

std::vector<HeaderField> header_fields(std::string_view content) {
  std::vector<HeaderField> fields;
  std::size_t at = 0;
  while (at < content.size()) {
    auto end = content.find("\r\n", at);
    end = end == std::string_view::npos ? content.size() : end + 2;
    const std::string_view line = content.substr(at, end - at);
    const std::string_view text = line.substr(0, line.size() - (line.size() >= 2 && line.ends_with("\r\n") ? 2 : 0));
    if (text.empty()) break;  // the end of the header section
    if (is_blank(text[0]) && !fields.empty()) {
      fields.back().value.append(text);  // unfolding: drop the CRLF only (RFC 5322 §2.2.3)
      fields.back().end = end;
    } else if (const std::size_t n = field_name_length(text)) {
      std::string_view value = text.substr(n + 1);
      while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
      fields.push_back({std::string(text.substr(0, n)), std::string(value), at, end});
    } else {
      break;  // not a header field: the body starts here, without an empty line
    }
    at = end;
  }
  return fields;
}

std::vector<std::string> address_list(std::string_view value) {
  std::vector<std::string> out;
  Entry entry;
  int comment_depth = 0;
  bool quoted = false, in_angle = false;
  const auto finish_entry = [&] {
    std::string a = entry.address();
    if (!a.empty()) out.push_back(std::move(a));
    entry = Entry{};
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    std::string& target = in_angle ? entry.angle : entry.text;
    if (comment_depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++comment_depth;
      else if (c == ')') --comment_depth;
      continue;
    }
    if (quoted) {
      target += c;
      if (c == '\\' && i + 1 < value.size()) target += value[++i];
      else if (c == '"') quoted = false;
      continue;
    }
    switch (c) {
      case '(': ++comment_depth; break;
      case '"':
        quoted = true;
        target += c;
        break;
      case '<':
        in_angle = true;
        entry.has_angle = true;
        entry.angle.clear();
        break;
      case '>': in_angle = false; break;
      case ':':
        if (in_angle) target += c;
        else entry = Entry{};  // a group's name: "undisclosed-recipients:;"
        break;
      case ',':
      case ';':
        if (in_angle) target += c;
        else finish_entry();
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n': break;
      default: target += c;
    }
  }
  finish_entry();
  return out;
}

std::vector<std::string> header_recipients(std::string_view content) {
  std::vector<std::string> out;
  for (const auto& f : header_fields(content)) {
    if (iequals(f.name, "To") || iequals(f.name, "Cc") || iequals(f.name, "Bcc")) {
      for (auto& a : address_list(f.value)) out.push_back(std::move(a));
    }
  }
  return out;
}

std::string without_bcc(std::string_view content) {
  std::string out;
  std::size_t copied = 0;
  for (const auto& f : header_fields(content)) {
    if (!iequals(f.name, "Bcc")) continue;
    out.append(content.substr(copied, f.begin - copied));
    copied = f.end;
  }
  out.append(content.substr(copied));
  return out;
}

std::string display_name(std::string_view name) {
  static constexpr std::string_view kAtext = "!#$%&'*+-/=?^_`{|}~ ";
  const bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (!ascii) return "=?UTF-8?B?" + base64(name) + "?=";
  const bool atoms = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kAtext.find(c) != std::string_view::npos;
  });
  if (atoms && !name.empty() && name.front() != ' ' && name.back() != ' ') return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string missing_header_fields(std::string_view content, const Completion& c) {
  const auto fields = header_fields(content);
  std::string out;
  if (!has_field(fields, "From")) {
    out += "From: ";
    out += c.full_name.empty() ? c.from_address : display_name(c.full_name) + " <" + c.from_address + ">";
    out += "\r\n";
  }
  if (!has_field(fields, "Date")) out += "Date: " + smtp::rfc5322_date(c.now) + "\r\n";
  if (!has_field(fields, "Message-ID")) {
    std::tm tm{};
    gmtime_r(&c.now, &tm);
    char id[96];
    std::snprintf(id, sizeof id, "%04d%02d%02d%02d%02d%02d.%016llx", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned long long>(c.unique));
    out += "Message-ID: <" + std::string(id) + "@" + c.hostname + ">\r\n";
  }
  if (fields.empty() && !content.starts_with("\r\n")) out += "\r\n";  // no header section: the body follows ours
  return out;
}

}  // namespace petrel::sendmail
