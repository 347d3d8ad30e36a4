// Fuzzes DKIM's readers of strangers' bytes (src/dkim/): the split of a
// message into header fields and body, the header and body
// canonicalizers that the signer hashes, and the key record parser that
// `petrel dkim check` runs on a TXT record.
//
// Input: two settings octets, then the bytes.
//   0: bit 0 also parse the bytes as a key record
//   1: how the body is split into pieces (see Splitter)
#include <cstdint>
#include <string>
#include <string_view>

#include "dkim/base64.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/record.hpp"
#include "fuzz_check.hpp"

using namespace petrel;
using dkim::Canonicalization;

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The fields lie one after the other from the start of the message, and
// end where the blank line (or the message) does.
void check_split(std::string_view message, const dkim::SplitMessage& split) {
  FUZZ_CHECK(split.body_offset <= message.size());
  std::size_t end = 0;
  for (const dkim::HeaderField& field : split.fields) {
    FUZZ_CHECK(fuzz::within(message, field.raw));
    FUZZ_CHECK(!field.raw.empty() && field.raw.data() == message.data() + end);
    FUZZ_CHECK(field.name.empty() || (field.raw.starts_with(field.name) && field.name.find(':') == std::string_view::npos));
    end += field.raw.size();
  }
  const bool blank_line = split.body_offset >= 2 && split.body_offset == end + 2 && message.substr(end, 2) == "\r\n";
  FUZZ_CHECK(blank_line || (end == message.size() && split.body_offset == message.size()));
}

void check_relaxed_header(std::string_view raw, const std::string& canonical) {
  FUZZ_CHECK(canonical.size() <= raw.size());
  FUZZ_CHECK(canonical.empty() || !is_wsp(canonical.back()));
  FUZZ_CHECK(canonical.find('\t') == std::string::npos && canonical.find("  ") == std::string::npos);
}

std::string body_in_pieces(Canonicalization c, std::string_view body, std::uint8_t seed) {
  std::string out;
  dkim::BodyCanonicalizer canonicalizer(c, [&out](std::string_view bytes) { out += bytes; });
  fuzz::Splitter splitter(seed);
  for (std::size_t pos = 0; pos < body.size();) {
    const std::size_t n = std::min(splitter.next(), body.size() - pos);
    canonicalizer.update(body.substr(pos, n));
    pos += n;
  }
  canonicalizer.finish();
  return out;
}

// Both end in exactly one CRLF (no empty line at the end); relaxed leaves
// no HTAB, no run of spaces and no space before a CRLF; the cut into
// pieces changes nothing.
void check_body(std::string_view body, std::uint8_t seed) {
  for (const Canonicalization c : {Canonicalization::simple, Canonicalization::relaxed}) {
    const std::string whole = dkim::canonicalize_body(c, body);
    FUZZ_CHECK(body_in_pieces(c, body, seed) == whole);
    FUZZ_CHECK(whole.size() <= body.size() + 2);
    if (whole.empty()) {
      FUZZ_CHECK(c == Canonicalization::relaxed);
      continue;
    }
    FUZZ_CHECK(whole.ends_with("\r\n"));
    FUZZ_CHECK(whole == "\r\n" ? c == Canonicalization::simple : !whole.ends_with("\r\n\r\n"));
    if (c == Canonicalization::relaxed) {
      FUZZ_CHECK(whole.find('\t') == std::string::npos && whole.find("  ") == std::string::npos);
      FUZZ_CHECK(whole.find(" \r\n") == std::string::npos);
    }
  }
}

void check_record(std::string_view text) {
  std::string error;
  const auto record = dkim::parse_key_record(text, error);
  FUZZ_CHECK(record.has_value() == error.empty());
  if (!record) return;
  FUZZ_CHECK(record->version.empty() || record->version == "DKIM1");
  FUZZ_CHECK(record->revoked() == record->public_key.empty());
  FUZZ_CHECK(dkim::base64_decode(dkim::base64_encode(record->public_key)) == record->public_key);
  std::string again_error;
  const auto again = dkim::parse_key_record(text, again_error);
  FUZZ_CHECK(again && again->public_key == record->public_key && again->key_type == record->key_type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t settings = input.setting();
  const std::uint8_t seed = input.setting();
  const std::string_view message = input.rest();

  const dkim::SplitMessage split = dkim::split_message(message);
  check_split(message, split);
  for (const dkim::HeaderField& field : split.fields) {
    check_relaxed_header(field.raw, dkim::canonicalize_header_relaxed(field.raw));
    const std::string simple = dkim::canonicalize_header_simple(field.raw);
    FUZZ_CHECK(simple.size() + 2 >= field.raw.size() && field.raw.starts_with(simple));
  }
  check_body(message.substr(split.body_offset), seed);
  if (settings & 1) check_record(message);
  return 0;
}
