// A caught message taken apart for reading, by GMime: header fields
// decoded (RFC 2047), the MIME tree flattened into its leaf parts, each
// part's content decoded (base64, quoted-printable) and text converted to
// UTF-8 from its charset. Bytes in, values out: no I/O. GMime and GLib
// stay inside mime_view.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::catchweb {

// What the list shows of a message, from its header section alone.
struct Summary {
  std::string subject;  // decoded; "" when none
  std::string from;     // "Alice <alice@client.test>", decoded
  std::string to;       // the To: addresses, comma-separated
  std::string date;     // the Date: as RFC 3339 UTC, "" when none or unreadable
};

struct HeaderField {
  std::string name;
  std::string value;  // unfolded, encoded-words decoded
};

// A leaf of the MIME tree (multiparts are not parts; a message/rfc822 part
// is one part, not opened).
struct Part {
  std::string content_type;  // "text/plain", lower case
  std::string charset;       // as declared, "" when none
  std::string disposition;   // "inline", "attachment" or ""
  std::string filename;      // "" when none
  std::uint64_t size = 0;    // octets after decoding (before any cap)
  bool text = false;         // text/plain or text/html: content is UTF-8
  bool truncated = false;    // content cut at the cap
  std::string content;       // decoded, at most the cap given
};

struct MessageView {
  Summary summary;
  std::vector<HeaderField> headers;  // in order, at most kMaxHeaders
  std::vector<Part> parts;           // depth first, at most kMaxParts
};

inline constexpr std::size_t kMaxHeaders = 500;
inline constexpr std::size_t kMaxParts = 100;

// The header section of `message` (up to its first empty line, or all of
// it): the list's fields. Never fails: what cannot be read is left "".
Summary summarize(std::string_view message);

// The whole view; each part's content is cut at max_content octets.
MessageView view_message(std::string_view message, std::size_t max_content);

}  // namespace petrel::catchweb
