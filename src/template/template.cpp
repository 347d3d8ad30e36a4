#include "template/template.hpp"

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include <charconv>

namespace petrel::tmpl {
namespace {

namespace mustache = kainjow::mustache;

mustache::data to_data(const nlohmann::json& value, int depth);

mustache::data object_data(const nlohmann::json& value, int depth) {
  mustache::data out{mustache::data::type::object};
  for (auto it = value.begin(); it != value.end(); ++it) out.set(it.key(), to_data(it.value(), depth + 1));
  return out;
}

// Nesting is bounded by the API's JSON depth limit; the guard keeps a
// caller that skips it from recursing without end.
mustache::data to_data(const nlohmann::json& value, int depth) {
  constexpr int kMaxDepth = 32;
  if (depth > kMaxDepth) return mustache::data{std::string()};
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      return object_data(value, depth);
    case nlohmann::json::value_t::array: {
      mustache::data list{mustache::data::type::list};
      for (const auto& item : value) list.push_back(to_data(item, depth + 1));
      return list;
    }
    case nlohmann::json::value_t::string:
      return mustache::data{value.get_ref<const std::string&>()};
    case nlohmann::json::value_t::boolean:
      return mustache::data{value.get<bool>()};
    case nlohmann::json::value_t::null:
      return mustache::data{false};
    default:  // numbers as JSON writes them
      return mustache::data{value.dump()};
  }
}

// The engine says "... at N" with N a byte offset.
std::size_t offset_of(const std::string& message) {
  const auto at = message.rfind(" at ");
  std::size_t offset = 0;
  if (at != std::string::npos) {
    const char* begin = message.data() + at + 4;
    std::from_chars(begin, message.data() + message.size(), offset);
  }
  return offset;
}

}  // namespace

struct Template::Impl {
  explicit Impl(const std::string& text) : engine(text) {}
  mustache::mustache engine;
};

Template::Template(std::unique_ptr<Impl> impl, bool has_tags) : impl_(std::move(impl)), has_tags_(has_tags) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

void locate(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& column) {
  line = 1;
  column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

std::optional<Template> Template::compile(std::string_view text, Escape escape, Error& error) {
  auto impl = std::make_unique<Impl>(std::string(text));
  if (!impl->engine.is_valid()) {
    error.message = impl->engine.error_message();
    error.offset = offset_of(error.message);
    locate(text, error.offset, error.line, error.column);
    return std::nullopt;
  }
  if (escape == Escape::none) {
    impl->engine.set_custom_escape([](const std::string& s) { return s; });
  } else {
    impl->engine.set_custom_escape([](const std::string& s) { return html_escape(s); });
  }
  return Template(std::move(impl), text.find("{{") != std::string_view::npos);
}

std::string Template::render(const nlohmann::json& vars) {
  const mustache::data data = vars.is_object() ? object_data(vars, 0) : mustache::data{mustache::data::type::object};
  return impl_->engine.render(data);
}

}  // namespace petrel::tmpl
