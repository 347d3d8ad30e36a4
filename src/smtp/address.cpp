#include "smtp/address.hpp"

#include <cctype>

namespace petrel::smtp {
namespace {

// RFC 5321 §4.5.3.1
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxDomain = 255;
constexpr std::size_t kMaxPath = 256;

bool is_ascii_alnum(unsigned char c) { return std::isalnum(c) && c < 0x80; }

// RFC 5322 atext
bool is_atext(unsigned char c) {
  if (is_ascii_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// Length of the UTF-8 sequence starting at text[pos], 0 if malformed.
std::size_t utf8_sequence(std::string_view text, std::size_t pos) {
  const auto c = static_cast<unsigned char>(text[pos]);
  std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (c >= 0xF5 || n == 0 || pos + n > text.size()) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

class PathScanner {
 public:
  PathScanner(std::string_view text, bool utf8) : text_(text), utf8_(utf8) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool take(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  std::size_t pos() const { return pos_; }

  // Consumes a non-ASCII UTF-8 sequence; error set when not allowed/valid.
  bool take_utf8(AddressError& error) {
    if (static_cast<unsigned char>(peek()) < 0x80) return false;
    std::size_t n = utf8_sequence(text_, pos_);
    if (!utf8_) {
      error = AddressError::non_ascii;
      return false;
    }
    if (n == 0) {
      error = AddressError::bad_local_part;
      return false;
    }
    pos_ += n;
    return true;
  }

  AddressError local_part(std::string& out) {
    std::size_t start = pos_;
    AddressError error = AddressError::none;
    if (take('"')) {
      // RFC 5321 Quoted-string: qtextSMTP / quoted-pairSMTP
      for (;;) {
        if (at_end()) return AddressError::bad_local_part;
        auto c = static_cast<unsigned char>(peek());
        if (c == '"') break;
        if (c == '\\') {
          ++pos_;
          if (at_end() || static_cast<unsigned char>(peek()) < 32 || static_cast<unsigned char>(peek()) > 126)
            return AddressError::bad_local_part;
          ++pos_;
        } else if (c >= 32 && c <= 126) {
          ++pos_;
        } else if (!take_utf8(error)) {
          return error == AddressError::none ? AddressError::bad_local_part : error;
        }
      }
      ++pos_;  // closing quote
    } else {
      // Dot-string; consecutive dots are tolerated, as most MTAs do, because
      // real senders use them.
      while (!at_end()) {
        auto c = static_cast<unsigned char>(peek());
        if (is_atext(c) || c == '.') {
          ++pos_;
        } else if (c >= 0x80) {
          if (!take_utf8(error)) return error;
        } else {
          break;
        }
      }
    }
    if (pos_ == start) return AddressError::bad_local_part;
    out.assign(text_.substr(start, pos_ - start));
    if (out.size() > kMaxLocalPart) return AddressError::local_part_too_long;
    return AddressError::none;
  }

  AddressError domain(std::string& out) {
    std::size_t start = pos_;
    if (take('[')) {
      // address-literal: IPv4, "IPv6:..." or a general literal; checked
      // loosely here, the characters are all that can be trusted anyway.
      while (!at_end() && peek() != ']') {
        auto c = static_cast<unsigned char>(peek());
        if (!(is_ascii_alnum(c) || c == '.' || c == ':' || c == '-')) return AddressError::bad_domain;
        ++pos_;
      }
      if (!take(']') || pos_ - start < 3) return AddressError::bad_domain;
    } else {
      AddressError error = AddressError::none;
      bool label_start = true;
      while (!at_end()) {
        auto c = static_cast<unsigned char>(peek());
        if (c == '.') {
          if (label_start) return AddressError::bad_domain;
          label_start = true;
          ++pos_;
        } else if (is_ascii_alnum(c) || (c == '-' && !label_start) || c == '_') {
          label_start = false;
          ++pos_;
        } else if (c >= 0x80) {
          if (!take_utf8(error)) return error == AddressError::non_ascii ? error : AddressError::bad_domain;
          label_start = false;
        } else {
          break;
        }
      }
      if (pos_ == start) return AddressError::bad_domain;
    }
    out.assign(text_.substr(start, pos_ - start));
    if (out.size() > kMaxDomain) return AddressError::domain_too_long;
    return AddressError::none;
  }

  // "@a,@b:" before the mailbox (RFC 5321 §4.1.2 A-d-l, accepted and ignored).
  AddressError source_route() {
    while (take('@')) {
      std::string ignored;
      if (auto e = domain(ignored); e != AddressError::none) return e;
      if (take(':')) return AddressError::none;
      if (!take(',')) return AddressError::bad_domain;
    }
    return AddressError::bad_domain;
  }

 private:
  std::string_view text_;
  bool utf8_;
  std::size_t pos_ = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

PathParse fail(AddressError e) {
  PathParse r;
  r.error = e;
  return r;
}

}  // namespace

std::string Address::str() const {
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

std::string Path::str() const { return mailbox ? "<" + mailbox->str() + ">" : "<>"; }

std::string_view describe(AddressError e) {
  switch (e) {
    case AddressError::none: return "ok";
    case AddressError::missing_brackets: return "unbalanced '<' or '>' in the address";
    case AddressError::empty: return "an address is required here, not <>";
    case AddressError::bad_local_part: return "the local part (before '@') is not valid; spaces and special characters must be quoted";
    case AddressError::local_part_too_long: return "the local part is longer than 64 octets (RFC 5321 section 4.5.3.1.1)";
    case AddressError::bad_domain: return "the domain (after '@') is missing or not valid";
    case AddressError::domain_too_long: return "the domain is longer than 255 octets (RFC 5321 section 4.5.3.1.2)";
    case AddressError::path_too_long: return "the address is longer than 256 octets (RFC 5321 section 4.5.3.1.3)";
    case AddressError::non_ascii: return "non-ASCII address without the SMTPUTF8 parameter (RFC 6531)";
    case AddressError::trailing_garbage: return "unexpected text after the address";
  }
  return "invalid address";
}

PathParse parse_path(std::string_view text, bool allow_null, bool utf8_allowed) {
  PathScanner scan(text, utf8_allowed);
  const bool bracketed = scan.take('<');
  if (bracketed && scan.take('>')) {
    if (!allow_null) return fail(AddressError::empty);
    // As after a mailbox: the parameters are separated by a space (RFC 5321 §4.1.2).
    if (!scan.at_end() && scan.peek() != ' ') return fail(AddressError::trailing_garbage);
    PathParse r;
    r.consumed = scan.pos();
    return r;
  }
  if (bracketed && scan.peek() == '@') {
    if (auto e = scan.source_route(); e != AddressError::none) return fail(e);
  }
  Address mailbox;
  if (auto e = scan.local_part(mailbox.local_part); e != AddressError::none) {
    if (!bracketed && scan.at_end()) return fail(AddressError::bad_local_part);
    return fail(e);
  }
  if (scan.take('@')) {
    if (auto e = scan.domain(mailbox.domain); e != AddressError::none) return fail(e);
  } else if (!iequals(mailbox.local_part, "postmaster")) {
    // RFC 5321 §4.1.1.3: only <Postmaster> may come without a domain.
    if (scan.peek() == ' ' || scan.peek() == '\t') return fail(AddressError::bad_local_part);
    return fail(AddressError::bad_domain);
  }
  if (bracketed != scan.take('>')) {
    if (bracketed && (scan.peek() == ' ' || scan.peek() == '\t')) return fail(AddressError::bad_local_part);
    if (bracketed && !scan.at_end() && scan.peek() != '>') return fail(AddressError::bad_domain);
    return fail(AddressError::missing_brackets);
  }
  if (!scan.at_end() && scan.peek() != ' ') {
    return fail(scan.peek() == '>' ? AddressError::missing_brackets : AddressError::trailing_garbage);
  }
  if (mailbox.local_part.size() + 1 + mailbox.domain.size() + 2 > kMaxPath) {
    return fail(AddressError::path_too_long);
  }
  PathParse r;
  r.path.mailbox = std::move(mailbox);
  r.consumed = scan.pos();
  return r;
}

bool is_bare_postmaster(const Path& p) {
  return p.mailbox && p.mailbox->domain.empty() && iequals(p.mailbox->local_part, "postmaster");
}

std::string normalize_domain(std::string_view domain) {
  std::string out(domain);
  if (!out.empty() && out.back() == '.') out.pop_back();
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace petrel::smtp
