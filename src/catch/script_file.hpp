// Reading a petrel catch script: [[rule]] tables in TOML, each with flat
// keys (docs/petrel-catch.md, SCRIPTED FAULTS), or the built-in
// provider-like preset. Errors say "FILE:LINE: what is wrong".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "catch/script.hpp"

namespace petrel::catcher {

class ScriptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The script in `path`, or the preset when path is "provider-like".
// Throws ScriptError.
Script load_script(const std::string& path);

// A script's text; `source` names it in errors. Throws ScriptError.
Script parse_script(std::string_view text, std::string_view source);

// The provider-like preset, as the TOML script it is.
std::string_view provider_like_toml();

}  // namespace petrel::catcher
