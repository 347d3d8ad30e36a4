// Fuzzes the configuration loader (src/config/config.cpp, toml++ under it):
// any text either loads or is refused with a ConfigError naming the file;
// another exception, a crash or a hang is a bug. A configuration that loads
// must also pass validate(), as petreld runs it.
//
// Input: the text of a petreld.toml.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const config::Config c = config::load_config_text(text, "fuzz.toml");
    config::validate(c, "fuzz.toml");
    FUZZ_CHECK(!c.listen.empty());
    FUZZ_CHECK(c.session.limits.max_command_line > 0 && c.session.limits.max_recipients > 0);
  } catch (const config::ConfigError& e) {
    // [shaping] include = [...] may name a file of this machine, whose own
    // errors name it.
    const bool includes = text.find("include") != std::string_view::npos;
    FUZZ_CHECK(e.file() == "fuzz.toml" || includes);
    FUZZ_CHECK(std::string_view(e.what()).starts_with(e.file()));
  }
  return 0;
}
