// Mustache templates for the injection API's subject, text, HTML, header
// values and raw messages: compiled once per request, rendered once per
// recipient. Sans-I/O; the engine is Debian's libkainjow-mustache
// (header-only), which stays behind this header.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::tmpl {

// How {{name}} inserts a value; {{{name}}} and {{& name}} never escape.
enum class Escape {
  none,  // text/plain bodies, headers, raw messages
  html,  // & < > " ' as entities, as Mustache specifies
};

// Where a template does not parse: the engine's message and the place, as
// a byte offset and as a 1-based line and column (in bytes).
struct Error {
  std::string message;
  std::size_t offset = 0;
  std::size_t line = 1;
  std::size_t column = 1;
};

class Template {
 public:
  // Compiles text; nullopt with error filled when it does not parse.
  static std::optional<Template> compile(std::string_view text, Escape escape, Error& error);

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // The text with vars filled in: an object whose members are strings,
  // numbers, booleans, objects (dotted names reach into them) or arrays
  // (sections repeat). A missing name renders as nothing, as Mustache says.
  // Not thread-safe: one Template renders for one request at a time.
  std::string render(const nlohmann::json& vars);

  // Whether the text holds any tag at all (a plain text is copied as is).
  bool has_tags() const { return has_tags_; }

 private:
  struct Impl;
  explicit Template(std::unique_ptr<Impl> impl, bool has_tags);
  std::unique_ptr<Impl> impl_;
  bool has_tags_ = false;
};

// & < > " ' as entities (&#39; for the apostrophe: &apos; is not HTML 4,
// and older mail readers show it as is). What {{name}} does in HTML.
std::string html_escape(std::string_view text);

// offset -> 1-based line and column, for error messages.
void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column);

}  // namespace petrel::tmpl
