// Fuzzes the alias file parsers (src/aliases/alias_parser.cpp): any text
// gives entries and errors, never a crash or a hang; every entry and error
// names a line of the text, every entry has a key and targets of the kinds
// its format allows, and every target has a value.
//
// Input: one octet choosing the format (aliases, virtual, :include:), then
// the file's text.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "aliases/alias_parser.hpp"
#include "fuzz_check.hpp"

using namespace petrel::aliases;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int format = data[0] % 3;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  const Parsed p = format == 0 ? parse_aliases(text, "aliases")
                   : format == 1 ? parse_virtual(text, "virtual")
                                 : parse_include(text, "include");
  for (const Problem& e : p.errors) {
    FUZZ_CHECK(e.origin.line >= 1 && e.origin.line <= lines);
    FUZZ_CHECK(!e.message.empty());
  }
  if (format == 2) FUZZ_CHECK(p.entries.size() == 1);
  for (const Entry& e : p.entries) {
    FUZZ_CHECK(e.origin.line >= 1 && e.origin.line <= lines);
    if (format != 2) FUZZ_CHECK(!e.key.empty());
    if (format == 0) FUZZ_CHECK(!e.targets.empty());
    for (const Target& t : e.targets) {
      FUZZ_CHECK(!t.value.empty());
      FUZZ_CHECK(t.line >= 1 && t.line <= lines);
      if (format == 1) FUZZ_CHECK(t.kind == Target::Kind::address || t.kind == Target::Kind::name);
      if (t.kind == Target::Kind::include || (t.kind == Target::Kind::file)) FUZZ_CHECK(t.value.front() == '/');
    }
  }
  return 0;
}
