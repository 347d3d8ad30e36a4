// Fuzzes the DATA reader (src/smtp/dot_reader.cpp) and the BDAT line check
// (src/smtp/text_lines.cpp): the code that decides where a message ends,
// which is where SMTP smuggling happens.
//
// Input: three settings octets, then the bytes after "354".
//   0: bits 0-2 max size, bit 3 normalize bare line endings
//   1: bits 0-2 max line length
//   2: how the bytes are split into reads (see Splitter)
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtp/dot_reader.hpp"
#include "smtp/text_lines.hpp"

using namespace petrel;
using smtp::DotReader;

namespace {

constexpr std::uint64_t kSizes[] = {0, 0, 1, 16, 100, 1000, 0, 5000};
constexpr std::size_t kLines[] = {0, 0, 3, 10, 80, 1000, 0, 2};

struct Result {
  std::string content;
  std::size_t consumed = 0;
  bool done = false;
  DotReader::Verdict verdict = DotReader::Verdict::ok;
};

template <typename NextPiece>
Result read(const DotReader::Limits& limits, std::string_view in, NextPiece next_piece) {
  DotReader reader(limits);
  Result r;
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t n = std::min(next_piece(), in.size() - pos);
    const bool was_done = reader.done();
    const std::size_t used = reader.feed(in.substr(pos, n), r.content);
    FUZZ_CHECK(used <= n);
    if (was_done) FUZZ_CHECK(used == 0);            // nothing after the end
    if (!reader.done()) FUZZ_CHECK(used == n);      // all of it until the end
    r.consumed += used;
    pos += n;
    if (reader.done()) break;
  }
  r.done = reader.done();
  r.verdict = reader.verdict();
  if (r.verdict == DotReader::Verdict::ok) FUZZ_CHECK(reader.size() == r.content.size());
  return r;
}

// The reference: a message read under the reject policy is its lines, split
// at CRLF, with one leading dot removed from each (RFC 5321 §4.5.2).
std::string unstuffed(std::string_view message) {
  std::string out;
  while (!message.empty()) {
    const auto eol = message.find("\r\n");
    FUZZ_CHECK(eol != std::string_view::npos);
    std::string_view line = message.substr(0, eol + 2);
    if (line.front() == '.') line.remove_prefix(1);
    out.append(line);
    message.remove_prefix(eol + 2);
  }
  return out;
}

void check_data(const DotReader::Limits& limits, std::string_view in, std::uint8_t split_seed) {
  const Result whole = read(limits, in, [&] { return in.size(); });
  fuzz::Splitter split(split_seed);
  const Result pieces = read(limits, in, [&] { return split.next(); });

  // Where the message ends, and what it says, must not depend on how the
  // bytes arrived. (After a limit is exceeded the content is thrown away,
  // and how much of it was kept by then may differ.)
  FUZZ_CHECK(whole.consumed == pieces.consumed && whole.done == pieces.done);
  FUZZ_CHECK(whole.verdict == pieces.verdict);
  if (whole.verdict == DotReader::Verdict::ok) FUZZ_CHECK(whole.content == pieces.content);

  if (whole.done) {
    // Only <CRLF>.<CRLF> ends the message ("354" ended with the first CRLF).
    const std::string_view taken = in.substr(0, whole.consumed);
    FUZZ_CHECK(taken == ".\r\n" || (taken.size() >= 5 && taken.substr(taken.size() - 5) == "\r\n.\r\n"));
  } else {
    FUZZ_CHECK(whole.consumed == in.size());
  }
  if (whole.verdict != DotReader::Verdict::ok) return;

  FUZZ_CHECK(fuzz::crlf_clean(whole.content));
  if (limits.max_size) FUZZ_CHECK(whole.content.size() <= limits.max_size);
  if (limits.max_line) FUZZ_CHECK(fuzz::longest_line(whole.content) <= limits.max_line);
  if (whole.done) {
    FUZZ_CHECK(whole.content.empty() || whole.content.ends_with("\r\n"));
    if (limits.bare_line_endings == smtp::BareLineEndingPolicy::reject) {
      FUZZ_CHECK(whole.content == unstuffed(in.substr(0, whole.consumed - 3)));
    }
  }
}

void check_bdat_lines(std::size_t max_line, smtp::BareLineEndingPolicy policy, std::string_view in,
                      std::uint8_t split_seed) {
  std::string content(in);
  const DotReader::Verdict verdict = smtp::check_text_lines(content, max_line, policy);

  // Chunks cut anywhere (a CRLF split in two) give the same verdict and, when
  // accepted, the same content: BDAT content is checked as it arrives.
  smtp::TextLineChecker checker(max_line, policy);
  fuzz::Splitter split(split_seed);
  std::string pieces;
  for (std::string_view rest = in; !rest.empty();) {
    const std::size_t n = std::min(split.next(), rest.size());
    checker.feed(rest.substr(0, n), pieces);
    rest.remove_prefix(n);
  }
  FUZZ_CHECK(checker.finish(pieces) == verdict);
  if (verdict == DotReader::Verdict::ok) FUZZ_CHECK(pieces == content);
  if (policy == smtp::BareLineEndingPolicy::reject) {
    FUZZ_CHECK(content == in);  // checked, never changed
    FUZZ_CHECK(fuzz::crlf_clean(in) || verdict != DotReader::Verdict::ok);
  } else {
    FUZZ_CHECK(verdict != DotReader::Verdict::bare_line_ending);
    FUZZ_CHECK(fuzz::crlf_clean(content));
    // Normalizing is idempotent.
    std::string again = content;
    FUZZ_CHECK(smtp::check_text_lines(again, max_line, policy) == verdict && again == content);
  }
  if (verdict == DotReader::Verdict::ok && max_line) FUZZ_CHECK(fuzz::longest_line(content) <= max_line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t s0 = input.setting(), s1 = input.setting(), s2 = input.setting();
  DotReader::Limits limits;
  limits.max_size = kSizes[s0 & 7];
  limits.max_line = kLines[s1 & 7];
  limits.bare_line_endings =
      (s0 & 8) ? smtp::BareLineEndingPolicy::normalize : smtp::BareLineEndingPolicy::reject;
  const std::string_view in = input.rest();

  check_data(limits, in, s2);
  check_bdat_lines(limits.max_line, limits.bare_line_endings, in, s2);
  return 0;
}
