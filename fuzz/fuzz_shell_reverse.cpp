// Fuzzes the server side of `petrel shell` after ATRN
// (src/cli/shell_reverse.cpp): the provider's bytes, whatever they are,
// must give the same replies and messages however they are cut into
// reads, every reply well formed, shown text free of control octets, no
// message over the size limit, and nothing after QUIT.
//
// Input: two settings octets, then the provider's bytes.
//   0: bits 0-1 the message size limit, bits 2-3 the command line limit
//   1: how the bytes are split into reads (see Splitter)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/shell_reverse.hpp"
#include "fuzz_check.hpp"

using namespace petrel;
using cli::shell::ReverseEvent;

namespace {

constexpr std::uint64_t kSizes[] = {1, 16, 1000, 50u << 20};
constexpr std::size_t kLines[] = {8, 64, 512, 4096};

struct Run {
  std::string wire;
  std::vector<std::string> messages;  // content of each
  bool closed = false;
};

void check(const ReverseEvent& e, const cli::shell::ReverseLimits& limits) {
  switch (e.kind) {
    case ReverseEvent::Kind::reply:
      FUZZ_CHECK(e.code >= 200 && e.code <= 599);
      FUZZ_CHECK(e.wire.size() >= 6 && e.wire.ends_with("\r\n"));
      FUZZ_CHECK(e.wire.compare(0, 3, std::to_string(e.code)) == 0);
      break;
    case ReverseEvent::Kind::command:
      for (char c : e.text) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      FUZZ_CHECK(e.text.size() <= limits.max_command_line + 64);
      break;
    case ReverseEvent::Kind::message:
      FUZZ_CHECK(e.message.has_value());
      FUZZ_CHECK(e.message->content.size() <= limits.max_message_size);
      FUZZ_CHECK(!e.message->forward_paths.empty());
      break;
    default: break;
  }
}

Run run(std::string_view bytes, const cli::shell::ReverseLimits& limits, std::uint8_t split) {
  cli::shell::ReverseServer server("customer.test", limits);
  fuzz::Splitter splitter(split);
  Run r;
  while (!bytes.empty()) {
    const std::size_t n = split == 0 ? bytes.size() : std::min(bytes.size(), splitter.next());
    const bool closed_before = server.closed();
    for (const auto& e : server.feed(bytes.substr(0, n))) {
      FUZZ_CHECK(!closed_before);
      check(e, limits);
      r.wire += e.wire;
      if (e.kind == ReverseEvent::Kind::message) r.messages.push_back(e.message->content);
    }
    bytes.remove_prefix(n);
  }
  r.closed = server.closed();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input input(data, size);
  const std::uint8_t limits_octet = input.setting();
  const std::uint8_t split = input.setting();
  cli::shell::ReverseLimits limits;
  limits.max_message_size = kSizes[limits_octet & 3];
  limits.max_command_line = kLines[(limits_octet >> 2) & 3];
  const Run whole = run(input.rest(), limits, 0);
  const Run pieces = run(input.rest(), limits, split | 1);
  FUZZ_CHECK(whole.wire == pieces.wire);
  FUZZ_CHECK(whole.messages == pieces.messages);
  FUZZ_CHECK(whole.closed == pieces.closed);
  return 0;
}
