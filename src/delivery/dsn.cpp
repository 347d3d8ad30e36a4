#include "delivery/dsn.hpp"

#include <initializer_list>
#include <stdexcept>

#include "smtp/received_header.hpp"

namespace petrel::delivery {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kMaxLine = 998;         // RFC 5322 §2.1.1, CRLF not counted
constexpr std::size_t kFieldWidth = 78;       // RFC 5322 §2.1.1: SHOULD fold before this
constexpr std::size_t kTextWidth = 76;
constexpr std::size_t kMaxRun = 900;          // an unbroken run longer than this is broken
constexpr std::size_t kMaxDiagnostic = 4096;  // remote text beyond this is cut

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Length of the well-formed UTF-8 character at s[i] (RFC 3629 §4: no
// overlong forms, no surrogates), or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

// The largest position <= at that does not cut a UTF-8 character.
std::size_t char_boundary(std::string_view s, std::size_t at) {
  if (at >= s.size()) return s.size();
  while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  return at;
}

// Text from outside (a remote reply, a HELO name, an address) made fit for
// one header field or text line: control characters, CR and LF included,
// become spaces, runs of spaces one, none at either end. Non-ASCII stays
// when utf8 is allowed and well-formed, and becomes '?' otherwise.
std::string one_line(std::string_view s, bool utf8) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7f) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      ++i;
    } else if (c < 0x80) {
      out += s[i++];
    } else {
      const std::size_t n = utf8_length(s, i);
      if (utf8 && n > 0) {
        out.append(s.substr(i, n));
      } else {
        out += '?';
      }
      i += n > 0 ? n : 1;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string diagnostic_text(std::string_view s, bool utf8) {
  std::string out = one_line(s, utf8);
  if (out.size() > kMaxDiagnostic) {
    out.resize(char_boundary(out, kMaxDiagnostic));
    out += " ...";
  }
  return out;
}

// Appends `head` and then the words of `text`, starting a new line (with
// `indent`) before a word that would pass `width`. A word longer than
// kMaxRun is broken, so no line passes 998 octets whatever the input.
// head_is_indent: the first word goes right after head, with no space.
void append_wrapped(std::string& out, std::string_view head, std::string_view text, std::string_view indent,
                    std::size_t width, bool head_is_indent) {
  std::string line(head);
  bool fresh = head_is_indent;
  auto add = [&](std::string_view run) {
    if (!fresh && line.size() + 1 + run.size() > width) {
      out += line;
      out += kCrlf;
      line = indent;
      fresh = true;
    }
    if (!fresh) line += ' ';
    line += run;
    fresh = false;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    while (word.size() > kMaxRun) {
      const std::size_t cut = char_boundary(word, kMaxRun);
      add(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    if (!word.empty()) add(word);
    pos = end + 1;
  }
  out += line;
  out += kCrlf;
}

// "Name: value", folded (RFC 5322 §2.2.3). The value is already one line.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string head(name);
  head += ':';
  append_wrapped(out, head, value, " ", kFieldWidth, false);
}

// A paragraph or an indented item of the text part.
void append_text(std::string& out, std::string_view text, std::string_view indent = "") {
  append_wrapped(out, indent, text, indent, kTextWidth, true);
}

// RFC 3463 §2: class "." subject "." detail, class 2, 4 or 5, 1-3 digits each.
bool is_status_code(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t digits = 0;
  std::size_t dots = 0;
  for (char c : s.substr(2)) {
    if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else if (c == '.' && digits > 0 && dots == 0) {
      ++dots;
      digits = 0;
    } else {
      return false;
    }
  }
  return dots == 1 && digits > 0;
}

std::string status_of(const RecipientStatus& r, DsnKind kind) {
  if (is_status_code(r.status)) return r.status;
  switch (kind) {
    case DsnKind::failure: return "5.0.0";
    case DsnKind::delay: return "4.0.0";
    case DsnKind::success: return "2.0.0";
  }
  return "5.0.0";
}

DsnAction action_of(const RecipientStatus& r, DsnKind kind) {
  if (r.action) return *r.action;
  switch (kind) {
    case DsnKind::failure: return DsnAction::failed;
    case DsnKind::delay: return DsnAction::delayed;
    case DsnKind::success: return r.remote_mta.empty() ? DsnAction::delivered : DsnAction::relayed;
  }
  return DsnAction::failed;
}

std::string_view action_value(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    case DsnAction::expanded: return "expanded";
  }
  return "failed";
}

// ---------------------------------------------------------------------------
// The machine-readable part (RFC 3464 §2.2, §2.3)

// RFC 6533 §3 utf-8-addr-unitext: UTF-8 kept; '+', '=', '\' and anything
// that is not printable ASCII written as \x{HEX}.
std::string utf8_address_text(std::string_view address) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u > 0x20 && u < 0x7f && c != '+' && c != '=' && c != '\\')) {
      out += c;
    } else {
      out += "\\x{";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
      out += '}';
    }
  }
  return out;
}

// "rfc822; user@example.org", or for a UTF-8 address "utf-8; ..." (RFC 6533 §3).
std::string typed_address(std::string_view address) {
  std::string clean = one_line(address, true);
  if (is_ascii(clean)) return "rfc822; " + clean;
  return "utf-8; " + utf8_address_text(clean);
}

// ORCPT as stored, "addr-type;address", to "addr-type; address"; "" if malformed.
std::string original_recipient(std::string_view orcpt) {
  const std::size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos || semi == 0) return "";
  std::string type = one_line(orcpt.substr(0, semi), false);
  for (char& c : type) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string address = one_line(orcpt.substr(semi + 1), true);
  if (type.empty() || address.empty() || type.find(' ') != std::string::npos) return "";
  if (type == "rfc822" && !is_ascii(address)) return typed_address(address);
  return type + "; " + address;
}

// RFC 3464 §2.3.6: "smtp" for an SMTP reply, otherwise our own type.
std::string diagnostic_code(std::string_view text) {
  const bool smtp_reply = text.size() >= 3 && text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9' &&
                          text[2] >= '0' && text[2] <= '9' && (text.size() == 3 || text[3] == ' ' || text[3] == '-');
  return (smtp_reply ? "smtp; " : "X-Petrel; ") + std::string(text);
}

std::string host_name(std::string_view name) {
  std::string h = one_line(name, true);
  if (const std::size_t space = h.find(' '); space != std::string::npos) h.resize(space);
  return h;
}

// Whether the report needs message/global-delivery-status: an address or
// host name in it is UTF-8.
bool report_needs_utf8(const DsnInput& in) {
  if (!is_ascii(in.reporting_mta) || !is_ascii(in.envelope.params.envid)) return true;
  for (const RecipientStatus& r : in.recipients) {
    if (!is_ascii(r.recipient.forward_path.str()) || !is_ascii(r.recipient.orcpt) || !is_ascii(r.remote_mta)) {
      return true;
    }
  }
  return false;
}

void append_recipient_fields(std::string& out, const RecipientStatus& r, DsnKind kind, bool utf8) {
  if (std::string orcpt = original_recipient(r.recipient.orcpt); !orcpt.empty()) {
    append_field(out, "Original-Recipient", orcpt);
  }
  append_field(out, "Final-Recipient", typed_address(r.recipient.forward_path.str()));
  append_field(out, "Action", action_value(action_of(r, kind)));
  append_field(out, "Status", status_of(r, kind));
  if (std::string mta = host_name(r.remote_mta); !mta.empty()) append_field(out, "Remote-MTA", "dns; " + mta);
  if (std::string diag = diagnostic_text(r.diagnostic, utf8); !diag.empty()) {
    append_field(out, "Diagnostic-Code", diagnostic_code(diag));
  }
  if (r.last_attempt) append_field(out, "Last-Attempt-Date", smtp::rfc5322_date(*r.last_attempt));
  if (kind == DsnKind::delay && r.will_retry_until) {
    append_field(out, "Will-Retry-Until", smtp::rfc5322_date(*r.will_retry_until));
  }
  if (!r.bounce_class.empty()) append_field(out, "X-Petrel-Bounce-Class", one_line(r.bounce_class, false));
}

std::string status_part(const DsnInput& in, bool utf8) {
  std::string out;
  if (std::string envid = one_line(in.envelope.params.envid, utf8); !envid.empty()) {
    append_field(out, "Original-Envelope-Id", envid);
  }
  append_field(out, "Reporting-MTA", "dns; " + host_name(in.reporting_mta));
  std::string from = host_name(in.envelope.helo_name);
  if (from.empty() && !in.envelope.client_address.empty()) from = "[" + host_name(in.envelope.client_address) + "]";
  if (!from.empty()) append_field(out, "Received-From-MTA", "dns; " + from);
  append_field(out, "Arrival-Date", smtp::rfc5322_date(in.arrival));
  if (!in.queue_id.empty()) append_field(out, "X-Petrel-Queue-ID", in.queue_id.value);
  for (const RecipientStatus& r : in.recipients) {
    out += kCrlf;  // a blank line before each recipient's group (RFC 3464 §2.1)
    append_recipient_fields(out, r, in.kind, utf8);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The returned original (RFC 3461 §4.3, RFC 6522 §4, RFC 6533 §6.3)

enum class Returned {
  nothing,                // no content to return
  whole,                  // the message
  headers,                // headers as RET=HDRS asks, or a delay/success DSN
  headers_too_big,        // RET=FULL but over max_returned_size
  headers_not_mailable,   // RET=FULL but long lines, bare CR/LF, NUL or binary
};

struct Original {
  Returned returned = Returned::nothing;
  std::string content;  // CRLF lines, each at most 998 octets
  bool headers_cut = false;
};

std::string_view header_section(std::string_view message) {
  if (message.starts_with(kCrlf)) return {};
  const std::size_t end = message.find("\r\n\r\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

// Whether the message can go into a message/rfc822 part unchanged: CRLF
// line endings only, no line over 998 octets, no NUL (RFC 5322 §2.1.1, §2.3).
bool mailable_unchanged(std::string_view m) {
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const char c = m[i];
    if (c == '\0') return false;
    if (c == '\r') {
      if (i + 1 >= m.size() || m[i + 1] != '\n') return false;
      if (i - line_start > kMaxLine) return false;
      line_start = i + 2;
      ++i;
    } else if (c == '\n') {
      return false;
    }
  }
  return m.size() - line_start <= kMaxLine;
}

// A header section made mailable: any line ending becomes CRLF, NULs and
// ill-formed UTF-8 go, long lines are cut, and lines stop before `cap`.
std::string mailable_headers(std::string_view h, std::size_t cap, bool& cut) {
  std::string out;
  std::size_t pos = 0;
  while (pos < h.size()) {
    std::size_t end = h.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = h.size();
    std::string line;
    for (std::size_t i = pos; i < end;) {
      const std::size_t n = utf8_length(h, i);
      if (n == 0) {
        line += '?';
      } else if (h[i] != '\0') {
        line.append(h.substr(i, n));
      }
      i += n > 0 ? n : 1;
    }
    line.resize(char_boundary(line, kMaxLine));
    if (out.size() + line.size() + 2 > cap) {
      cut = true;
      break;
    }
    out += line;
    out += kCrlf;
    pos = end;
    if (pos < h.size() && h[pos] == '\r') ++pos;
    if (pos < h.size() && h[pos] == '\n') ++pos;
  }
  return out;
}

Original choose_original(const DsnInput& in) {
  Original o;
  if (in.original.empty()) return o;
  // RFC 3461 §4.3: RET is about failure DSNs; unspecified returns the whole
  // message too, as Postfix, Exim and Sendmail do.
  if (in.kind == DsnKind::failure && in.envelope.params.ret != smtp::DsnRet::headers) {
    if (in.original.size() > in.max_returned_size) {
      o.returned = Returned::headers_too_big;
    } else if (in.envelope.params.body == smtp::BodyType::binary_mime || !mailable_unchanged(in.original)) {
      o.returned = Returned::headers_not_mailable;
    } else {
      o.returned = Returned::whole;
      o.content = std::string(in.original);
      return o;
    }
  } else {
    o.returned = Returned::headers;
  }
  o.content = mailable_headers(header_section(in.original), in.max_returned_size, o.headers_cut);
  return o;
}

void append_original_part_headers(std::string& out, const Original& o, DsnKind kind) {
  const bool ascii_header = is_ascii(header_section(o.content));
  if (o.returned == Returned::whole) {
    // RFC 6532 §3.7: message/global for a message whose header is UTF-8.
    out += ascii_header ? "Content-Type: message/rfc822\r\n" : "Content-Type: message/global\r\n";
    out += "Content-Description: Undelivered message\r\n";
  } else {
    // RFC 6522 §4 text/rfc822-headers; RFC 6533 §6.3 message/global-headers.
    out += ascii_header ? "Content-Type: text/rfc822-headers\r\n" : "Content-Type: message/global-headers\r\n";
    out += kind == DsnKind::failure ? "Content-Description: Undelivered message headers\r\n"
                                    : "Content-Description: Message headers\r\n";
  }
  out += is_ascii(o.content) ? "Content-Transfer-Encoding: 7bit\r\n" : "Content-Transfer-Encoding: 8bit\r\n";
}

// ---------------------------------------------------------------------------
// The part for people

std::string_view intro(DsnKind kind) {
  switch (kind) {
    case DsnKind::failure:
      return "Your message could not be delivered to the recipients listed below, and the mail system has "
             "stopped trying. Each address is followed by the reason; when another mail server refused the "
             "message, its own words are quoted.";
    case DsnKind::delay:
      return "Your message has not yet been delivered to the recipients listed below. This is only a warning: "
             "the mail system is still trying, and you do not need to send the message again. If delivery "
             "finally fails, you will normally get a separate report.";
    case DsnKind::success:
      return "This is the delivery report you asked for: your message has reached the recipients listed below.";
  }
  return "";
}

std::string_view action_words(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "delivery failed";
    case DsnAction::delayed: return "not delivered yet, still trying";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed:
      return "passed on to a mail system that sends no delivery reports, so this is the last report about it";
    case DsnAction::expanded: return "delivered to a mailing list or alias, which passed it on to its members";
  }
  return "";
}

// RFC 3463 §3: what a status code means, for people.
std::string describe_status(std::string_view status) {
  struct Meaning {
    std::string_view subject_detail;
    std::string_view words;
  };
  static constexpr Meaning kDetails[] = {
      {"1.1", "the mailbox does not exist"},
      {"1.2", "the destination domain does not exist or takes no mail"},
      {"1.10", "the destination domain takes no mail (null MX, RFC 7505)"},
      {"2.1", "the mailbox is disabled"},
      {"2.2", "the mailbox is full"},
      {"2.3", "the message is larger than the mailbox accepts"},
      {"3.4", "the message is larger than the receiving system accepts"},
      {"4.1", "the destination server did not answer"},
      {"4.2", "the connection to the destination server broke"},
      {"4.4", "no route to the destination was found"},
      {"4.7", "the message waited in the queue too long"},
      {"7.1", "the destination refused it by policy"},
  };
  static constexpr std::string_view kSubjects[] = {
      "",
      "an addressing problem",
      "a mailbox problem",
      "a mail system problem",
      "a network or routing problem",
      "a mail protocol problem",
      "a problem with the message's content",
      "a security or policy problem",
  };
  const std::string_view rest = status.substr(2);
  for (const Meaning& m : kDetails) {
    if (m.subject_detail == rest) return std::string(m.words);
  }
  const char subject = rest.empty() ? '0' : rest[0];
  if (rest.size() > 1 && rest[1] == '.' && subject >= '1' && subject <= '7') {
    return std::string(kSubjects[subject - '0']);
  }
  return status[0] == '2' ? "success" : "no further detail";
}

void append_recipient_text(std::string& out, const RecipientStatus& r, DsnKind kind, bool utf8) {
  constexpr std::string_view kIndent = "    ";
  const std::string address = one_line(r.recipient.forward_path.str(), utf8);
  out += kCrlf;
  append_text(out, "<" + address + ">: " + std::string(action_words(action_of(r, kind))));
  const std::size_t semi = r.recipient.orcpt.find(';');
  if (semi != std::string::npos) {
    const std::string orig = one_line(r.recipient.orcpt.substr(semi + 1), utf8);
    if (!orig.empty() && orig != address) append_text(out, "(originally addressed to " + orig + ")", kIndent);
  }
  if (!r.recipient.via_alias.empty()) {
    append_text(out, "(via alias " + one_line(r.recipient.via_alias, utf8) + ")", kIndent);
  }
  const std::string status = status_of(r, kind);
  append_text(out, "Status " + status + ": " + describe_status(status) + ".", kIndent);
  if (std::string diag = diagnostic_text(r.diagnostic, utf8); !diag.empty()) {
    const std::string mta = host_name(r.remote_mta);
    append_text(out, (mta.empty() ? "Reason: " : "The server " + mta + " said: ") + diag, kIndent);
  }
  if (!r.bounce_class.empty()) append_text(out, "Classified as: " + one_line(r.bounce_class, false), kIndent);
  if (r.last_attempt) append_text(out, "Last attempt: " + smtp::rfc5322_date(*r.last_attempt), kIndent);
  if (kind == DsnKind::delay && r.will_retry_until) {
    append_text(out, "Will keep trying until: " + smtp::rfc5322_date(*r.will_retry_until), kIndent);
  }
}

std::string returned_note(const Original& o, std::size_t cap) {
  std::string note;
  switch (o.returned) {
    case Returned::nothing: return "";
    case Returned::whole: return "The original message is attached.";
    case Returned::headers: note = "The headers of the original message are attached."; break;
    case Returned::headers_too_big:
      note = "The original message was larger than " + std::to_string(cap) +
             " octets, so only its headers are attached.";
      break;
    case Returned::headers_not_mailable:
      note = "The original message could not be attached unchanged (it has binary content or lines too long "
             "for mail), so only its headers are attached.";
      break;
  }
  if (o.headers_cut) note += " They were too long and have been cut short.";
  return note;
}

std::string text_part(const DsnInput& in, const Original& original, bool utf8) {
  const std::string host = host_name(in.reporting_mta);
  std::string out;
  append_text(out, "This is the mail system at " + host + ".");
  out += kCrlf;
  append_text(out, intro(in.kind));
  if (std::string note = returned_note(original, in.max_returned_size); !note.empty()) {
    out += kCrlf;
    append_text(out, note);
  }
  out += kCrlf;
  append_text(out, "If you need help, write to the postmaster of " + host + " and include this report.");
  for (const RecipientStatus& r : in.recipients) append_recipient_text(out, r, in.kind, utf8);
  return out;
}

// ---------------------------------------------------------------------------
// The message

std::string_view subject(DsnKind kind) {
  switch (kind) {
    case DsnKind::failure: return "Delivery failure: your message was not delivered";
    case DsnKind::delay: return "Delivery delayed: your message is still being tried";
    case DsnKind::success: return "Delivery report: your message was delivered";
  }
  return "";
}

// The left side of the Message-ID: letters, digits, '-', '_' and single
// inner dots, so it is always a dot-atom (RFC 5322 §3.6.4).
std::string message_id_left(const DsnInput& in) {
  std::string id;
  for (char c : in.dsn_id) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (word || (c == '.' && !id.empty() && id.back() != '.')) id += c;
  }
  while (!id.empty() && id.back() == '.') id.pop_back();
  if (id.empty()) {
    static constexpr char kKind[] = {'F', 'D', 'S'};
    id = in.queue_id.value + "." + kKind[static_cast<int>(in.kind)] + "." + std::to_string(in.now);
    if (id.starts_with('.')) id.erase(0, 1);
  }
  return id;
}

// RFC 2046 §5.1.1: a boundary that occurs in none of the parts.
std::string pick_boundary(const DsnInput& in, std::initializer_list<std::string_view> parts) {
  const std::string base = "=_petrel_" + in.queue_id.value + "." + std::to_string(in.now) + "_";
  for (unsigned n = 0;; ++n) {
    std::string b = base + std::to_string(n);
    bool clash = false;
    for (std::string_view p : parts) clash = clash || p.find(b) != std::string_view::npos;
    if (!clash) return b;  // a finite text holds finitely many candidates
  }
}

std::string_view transfer_encoding(std::string_view s) { return is_ascii(s) ? "7bit" : "8bit"; }

}  // namespace

bool may_send_dsn(const smtp::Envelope& original) { return !original.reverse_path.is_null(); }

bool wants_dsn(const smtp::Recipient& recipient, DsnKind kind) {
  const std::uint8_t n = recipient.notify;
  if (n & smtp::notify_never) return false;
  if (n == smtp::notify_unspecified) return kind != DsnKind::success;
  switch (kind) {
    case DsnKind::failure: return (n & smtp::notify_failure) != 0;
    case DsnKind::delay: return (n & smtp::notify_delay) != 0;
    case DsnKind::success: return (n & smtp::notify_success) != 0;
  }
  return false;
}

Dsn make_dsn(const DsnInput& in) {
  if (!may_send_dsn(in.envelope)) throw std::invalid_argument("make_dsn: no DSN for the null sender");
  if (in.recipients.empty()) throw std::invalid_argument("make_dsn: no recipients to report");

  const bool utf8 = report_needs_utf8(in);
  const Original original = choose_original(in);
  const std::string text = text_part(in, original, utf8);
  const std::string status = status_part(in, utf8);
  const std::string boundary = pick_boundary(in, {text, status, original.content});
  const std::string_view report_type = utf8 ? "global-delivery-status" : "delivery-status";

  std::string body = "This is a MIME-encapsulated delivery status notification.\r\n";
  body += "\r\n--" + boundary + "\r\n";
  body += is_ascii(text) ? "Content-Type: text/plain; charset=us-ascii\r\n" : "Content-Type: text/plain; charset=utf-8\r\n";
  body += "Content-Description: Notification\r\n";
  body += "Content-Transfer-Encoding: " + std::string(transfer_encoding(text)) + "\r\n\r\n";
  body += text;
  body += "\r\n--" + boundary + "\r\n";
  body += "Content-Type: message/" + std::string(report_type) + "\r\n";  // RFC 6533 §6.2 for the global one
  body += "Content-Description: Delivery report\r\n";
  body += "Content-Transfer-Encoding: " + std::string(transfer_encoding(status)) + "\r\n\r\n";
  body += status;
  if (original.returned != Returned::nothing) {
    body += "\r\n--" + boundary + "\r\n";
    append_original_part_headers(body, original, in.kind);
    body += kCrlf;
    body += original.content;
  }
  body += "\r\n--" + boundary + "--\r\n";

  const std::string host = host_name(in.reporting_mta);
  const std::string to = one_line(in.envelope.reverse_path.str(), true);
  Dsn dsn;
  dsn.eight_bit = !is_ascii(body);
  dsn.smtputf8 = !is_ascii(to) || !is_ascii(host);
  std::string& m = dsn.content;
  append_field(m, "Date", smtp::rfc5322_date(in.now));
  append_field(m, "From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
  append_field(m, "To", to);
  append_field(m, "Subject", subject(in.kind));
  append_field(m, "Message-ID", "<" + message_id_left(in) + "@" + host + ">");
  append_field(m, "Auto-Submitted", "auto-replied");  // RFC 3834 §5
  append_field(m, "MIME-Version", "1.0");
  append_field(m, "Content-Type",
               "multipart/report; report-type=" + std::string(report_type) + "; boundary=\"" + boundary + "\"");
  append_field(m, "Content-Transfer-Encoding", dsn.eight_bit ? "8bit" : "7bit");
  m += kCrlf;
  m += body;
  return dsn;
}

smtp::Envelope dsn_envelope(const smtp::Envelope& original, const Dsn& dsn) {
  if (!may_send_dsn(original)) throw std::invalid_argument("dsn_envelope: no DSN for the null sender");
  smtp::Envelope e;  // reverse_path stays <>
  e.params.body = dsn.eight_bit ? smtp::BodyType::eight_bit_mime : smtp::BodyType::seven_bit;
  e.params.smtputf8 = dsn.smtputf8;
  e.recipients.push_back(smtp::Recipient{*original.reverse_path.mailbox, smtp::notify_never, "", "", ""});
  return e;
}

}  // namespace petrel::delivery
