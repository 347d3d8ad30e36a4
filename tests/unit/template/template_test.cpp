// Mustache templates as the injection API uses them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "template/template.hpp"

namespace petrel::tmpl {
namespace {

using nlohmann::json;

std::string render(std::string_view text, const json& vars, Escape escape = Escape::none) {
  Error error;
  auto t = Template::compile(text, escape, error);
  EXPECT_TRUE(t) << error.message;
  return t ? t->render(vars) : "";
}

TEST(Template, fills_in_variables) {
  EXPECT_EQ(render("Hello {{first}}, code {{code}}", {{"first", "Ann"}, {"code", "A1"}}), "Hello Ann, code A1");
}

TEST(Template, html_escapes_double_braces_but_not_triple) {
  const json vars = {{"v", "<b>&\"'"}};
  EXPECT_EQ(render("{{v}}", vars, Escape::html), "&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(render("{{{v}}}", vars, Escape::html), "<b>&\"'");
  EXPECT_EQ(render("{{v}}", vars, Escape::none), "<b>&\"'");
}

TEST(Template, missing_names_render_as_nothing) { EXPECT_EQ(render("[{{nope}}]", json::object()), "[]"); }

TEST(Template, numbers_booleans_sections_and_lists) {
  const json vars = {{"n", 42}, {"vip", true}, {"items", json::array({{{"x", "a"}}, {{"x", "b"}}})}};
  EXPECT_EQ(render("{{n}}{{#vip}} VIP{{/vip}}{{^vip}} no{{/vip}}:{{#items}}{{x}}{{/items}}", vars), "42 VIP:ab");
}

TEST(Template, dotted_names_reach_into_objects) {
  EXPECT_EQ(render("{{user.name}}", {{"user", {{"name", "Ann"}}}}), "Ann");
}

TEST(Template, an_unclosed_section_is_an_error_with_its_line_and_column) {
  Error error;
  EXPECT_FALSE(Template::compile("line one\nab {{#items}} x", Escape::none, error));
  EXPECT_NE(error.message.find("Unclosed section"), std::string::npos) << error.message;
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.column, 4u);
}

TEST(Template, an_unclosed_tag_is_an_error) {
  Error error;
  EXPECT_FALSE(Template::compile("Hello {{first", Escape::html, error));
  EXPECT_EQ(error.offset, 6u);
  EXPECT_EQ(error.column, 7u);
}

TEST(Template, a_text_without_tags_is_known_as_such) {
  Error error;
  EXPECT_FALSE(Template::compile("plain", Escape::none, error)->has_tags());
  EXPECT_TRUE(Template::compile("{{x}}", Escape::none, error)->has_tags());
}

TEST(Template, renders_again_with_other_values) {
  Error error;
  auto t = Template::compile("Hi {{first}}", Escape::none, error);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->render({{"first", "Ann"}}), "Hi Ann");
  EXPECT_EQ(t->render({{"first", "Bob"}}), "Hi Bob");
}

}  // namespace
}  // namespace petrel::tmpl
