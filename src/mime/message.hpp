// A message built without I/O, for `petrel send` and the HTTP injection
// API: RFC 5322 headers (folded, RFC 2047 encoded-words for non-ASCII
// text), a text and/or an HTML body (multipart/alternative when both), and,
// with attachments, a MIME multipart/mixed (RFC 2045, RFC 2046) with base64
// parts and RFC 2231 file names. Dot-stuffing is the SMTP client's job.
//
// Written here rather than with GMime: building is plain serialization of
// three part shapes, on the API's per-recipient hot path, where a GObject
// tree per message would cost more than the text it produces.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::mime {

struct Attachment {
  std::string filename;      // the name shown to the recipient (no directory); may be UTF-8
  std::string content_type;  // "application/pdf"
  std::string data;          // the file's bytes
};

struct MessageSpec {
  std::string from;             // From: as given: "a@b.example" or "Ann <a@b.example>"
  std::vector<std::string> to;  // To:, one entry per address
  std::string subject;
  // Extra headers in order; one whose name is From, To, Subject, Date or
  // Message-ID replaces the generated one.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // text, UTF-8, any line ending
  std::string html;  // HTML, UTF-8; with body: multipart/alternative
  std::vector<Attachment> attachments;
  std::string date;        // RFC 5322 date-time (rfc5322_date())
  std::string message_id;  // "<...@...>" (make_message_id())
  std::string boundary;    // multipart boundary (make_boundary()); unused for a single part
};

// The whole message: CRLF lines, every line at most 998 octets, 7-bit
// unless a header value given by the user is 8-bit (then it is encoded).
std::string build_message(const MessageSpec& spec);

// Why a --header value cannot be used, or "" when it can: names are
// printable ASCII without ':' (RFC 5322 §2.2); values hold no CR or LF
// (they would start headers of their own); MIME-Version and Content-*
// are petrel's to set.
std::string check_header(std::string_view name, std::string_view value);

// "Name: value" split at the first ':', the value's leading blanks dropped.
// False when there is no ':'.
bool split_header(std::string_view line, std::string& name, std::string& value);

// Pieces of the above, public for the tests.

// `name: value` + CRLF, folded before whitespace so that lines stay within
// 78 characters where the words allow (RFC 5322 §2.2.3).
std::string fold_header(std::string_view name, std::string_view value);

// RFC 2047 §4.1 "B" encoded-words ("=?utf-8?b?...?="), each at most 60
// characters (75 allowed), split between UTF-8 characters; `text` as is
// when ASCII.
std::vector<std::string> encoded_words(std::string_view text);
// An unstructured header's value (Subject): encoded-words joined by spaces.
std::string encode_unstructured(std::string_view text);
// An address header's entry: "Näme <a@b>" gets its display name encoded.
std::string encode_mailbox(std::string_view mailbox);

// Every line ending (CRLF, LF or a lone CR) as CRLF, and a final CRLF.
std::string crlf_lines(std::string_view text);

// Whether text goes as 7bit: ASCII without NUL, lines at most 998 octets.
bool seven_bit_ok(std::string_view crlf_text);

// The MIME type for a file name's extension (common types), else
// application/octet-stream.
std::string content_type_for(std::string_view filename);

// Content-Type's name= and Content-Disposition's filename= parameters:
// quoted ASCII as is; otherwise RFC 2231 (filename*=utf-8''%E2...,
// continued as filename*0*, filename*1* … when long) for Disposition,
// and RFC 2047 for name= (what older mail readers understand).
std::string disposition_filename(std::string_view filename);
std::string content_type_name(std::string_view filename);

// "Tue, 05 Mar 2024 14:03:07 +0100" (RFC 5322 §3.3) for `when` in local time.
std::string rfc5322_date(std::time_t when);
// "<20240305140307.9f86d081884c7d65@example.org>": time, random, domain.
std::string make_message_id(std::time_t when, std::uint64_t random, std::string_view domain);
// "=_petrel_9f86d081884c7d65": "=_" never occurs in base64 or
// quoted-printable text, so no part can contain the boundary.
std::string make_boundary(std::uint64_t random);

}  // namespace petrel::mime
