// The message petrel-sendmail is given, made ready to submit: read from
// stdin as text lines, recipients taken from its header (-t), Bcc: removed,
// the header fields Postfix's cleanup adds to local mail (From:, Date:,
// Message-ID:) added when missing. Pure: unit-tested in tests/unit/sendmail/.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::sendmail {

// Text lines from stdin become the message: LF or CRLF line ends become
// CRLF; without ignore_dots a line holding only "." ends it (sendmail's
// default); a first line "From " (an mbox separator) is dropped, as
// Postfix does. Fed in pieces; memory is the message's size.
class MessageReader {
 public:
  explicit MessageReader(bool ignore_dots) : ignore_dots_(ignore_dots) {}
  void feed(std::string_view bytes);
  void finish();  // end of input: a last line without a line end counts
  bool done() const { return done_; }  // the lone dot was read
  std::size_t size() const { return content_.size() + partial_.size(); }
  std::string take() { return std::move(content_); }

 private:
  void line(std::string_view text);
  bool ignore_dots_;
  bool done_ = false;
  bool first_line_ = true;
  std::string partial_;
  std::string content_;
};

// One header field of the message's header section (RFC 5322 §2.2).
struct HeaderField {
  std::string name;          // as written
  std::string value;         // unfolded, without the leading blank
  std::size_t begin = 0;     // offset of the field in the content
  std::size_t end = 0;       // offset after its last CRLF
};
std::vector<HeaderField> header_fields(std::string_view content);

// The addr-specs of an RFC 5322 address list ("A <a@x>, b@y (c), g: d@z;"),
// with comments, display names and group names dropped.
std::vector<std::string> address_list(std::string_view value);

// -t: the addresses of To:, Cc: and Bcc:, in order.
std::vector<std::string> header_recipients(std::string_view content);

// The content without its Bcc: fields (always removed from local mail).
std::string without_bcc(std::string_view content);

struct Completion {
  std::string from_address;  // user@domain, for From: when missing
  std::string full_name;     // display name for it, "" : none
  std::string hostname;      // for Message-ID
  std::time_t now = 0;
  std::uint64_t unique = 0;  // random, for Message-ID
};
// The fields to put in front of the message (From:, Date:, Message-ID:
// that it lacks), plus an empty line when the message has no header
// section at all (text that does not start with a header field).
std::string missing_header_fields(std::string_view content, const Completion& c);

// "Full Name" as an RFC 5322 phrase: atoms as they are, a quoted string when
// it has specials, an RFC 2047 encoded word when it is not ASCII.
std::string display_name(std::string_view name);

}  // namespace petrel::sendmail
