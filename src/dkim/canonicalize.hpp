// DKIM canonicalization (RFC 6376 §3.4) and the header/body split it works
// on, without I/O: byte strings in, canonical bytes out. The signer feeds
// the canonical header fields and body to SHA-256; nothing here allocates
// per byte, and no input (bare LF, NUL, no body, no blank line, a line of
// megabytes) reads out of bounds.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::dkim {

enum class Canonicalization { simple, relaxed };

// The octets of a message body past the part in memory (a big message's
// tail, in a file), handed to `piece` in order. Empty: the body is all in
// memory.
using BodyRest = std::function<void(const std::function<void(std::string_view)>& piece)>;

// One header field as it stands in the message.
struct HeaderField {
  std::string_view name;  // before the first ':', trailing WSP removed ("Date :" is "Date"); "" if no ':'
  std::string_view raw;   // the whole field: name, ':', value, folded lines, and its final CRLF if it has one

  // After the first ':' to the end of `raw`; "" when there is no ':'.
  std::string_view value() const {
    const std::size_t colon = raw.find(':');
    return colon == std::string_view::npos ? std::string_view() : raw.substr(colon + 1);
  }
};

// A message's header section split into fields, in message order, and
// where its body starts.
struct SplitMessage {
  std::vector<HeaderField> fields;
  std::size_t body_offset = 0;  // after the empty line; message.size() when there is none
};

// Lines end in CRLF only: a bare CR or LF is an octet like any other (the
// spool holds CRLF text). A line starting with SP or HTAB continues the
// field above it. The header section ends at the first empty line; a
// message without one is all header and has an empty body.
SplitMessage split_message(std::string_view message);

// §3.4.1: the field unchanged, without its final CRLF.
std::string canonicalize_header_simple(std::string_view raw_field);
// §3.4.2: "name:value", without a final CRLF: the name in lower case, the
// field unfolded (every CRLF removed), each run of WSP one SP, no WSP at the
// end of the value nor around the colon.
std::string canonicalize_header_relaxed(std::string_view raw_field);
std::string canonicalize_header(Canonicalization c, std::string_view raw_field);

// §3.4.3 and §3.4.4 over a body fed in chunks of any size: the canonical
// bytes are the same however the body is cut. Simple removes the empty
// lines at the end; relaxed also removes WSP at the end of each line and
// makes each other run of WSP one SP. A body not ending in CRLF gets one
// (what the SMTP client sends before the final dot). An empty body is
// "CRLF" in simple and "" in relaxed.
class BodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;

  // The canonical bytes go to `sink` in pieces, as they are settled.
  BodyCanonicalizer(Canonicalization c, Sink sink);

  void update(std::string_view chunk);
  // Emits what was held back (the final CRLF). Call once, after the last update.
  void finish();

 private:
  void content(std::string_view octets);  // octets of a line, none of them CR or (relaxed) WSP
  void end_of_line();
  void flush(std::size_t above);

  Canonicalization canonicalization_;
  Sink sink_;
  std::string out_;                  // settled, not yet given to the sink
  std::size_t held_line_ends_ = 0;   // CRLFs that end the body so far: empty lines, or the last line's end
  bool held_cr_ = false;             // a CR that may start a CRLF
  bool held_space_ = false;          // relaxed: a run of WSP, written as one SP if the line goes on
  bool any_content_ = false;         // a non-empty line has been seen
};

// The whole body at once.
std::string canonicalize_body(Canonicalization c, std::string_view body);

}  // namespace petrel::dkim
