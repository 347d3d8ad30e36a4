// What the config tests share: the error a configuration text gives.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace petrel::config::testing {

// The complete message loading `text` gives (validate() included), or "".
inline std::string error_of(std::string_view text) {
  try {
    validate(load_config_text(text, "petreld.toml"), "petreld.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace petrel::config::testing
