// The injection request's body: what is accepted, and where a bad one is wrong.
#include <gtest/gtest.h>

#include "api/compose.hpp"
#include "api/inject_request.hpp"

namespace petrel::api {
namespace {

using nlohmann::json;

json builder() {
  return {{"envelope_sender", "bounces@example.org"},
          {"from", {{"email", "news@example.org"}, {"name", "News"}}},
          {"recipients", json::array({{{"email", "ann@x.test"}, {"name", "Ann"}, {"vars", {{"first", "Ann"}}}}})},
          {"subject", "Hi {{first}}"},
          {"text", "Hello {{first}}"}};
}

std::string pointer_of(const json& body, InjectLimits limits = {}) {
  auto r = parse_inject_request(body.dump(), limits);
  auto* p = std::get_if<http::Problem>(&r);
  return p ? p->pointer : "(accepted)";
}

TEST(InjectRequest, a_builder_request_is_read) {
  auto r = parse_inject_request(builder().dump(), {});
  ASSERT_TRUE(std::holds_alternative<InjectRequest>(r));
  const auto& req = std::get<InjectRequest>(r);
  EXPECT_EQ(req.envelope_sender.str(), "bounces@example.org");
  EXPECT_EQ(req.from->name, "News");
  ASSERT_EQ(req.recipients.size(), 1u);
  EXPECT_EQ(req.recipients[0].vars["first"], "Ann");
  EXPECT_FALSE(req.unsubscribe);
}

TEST(InjectRequest, bad_fields_are_pointed_at) {
  auto b = builder();
  b["recipients"][0]["email"] = 7;
  EXPECT_EQ(pointer_of(b), "/recipients/0/email");
  b = builder();
  b.erase("envelope_sender");
  EXPECT_EQ(pointer_of(b), "/envelope_sender");
  b = builder();
  b["raw"] = "Subject: x\r\n\r\nbody";
  EXPECT_EQ(pointer_of(b), "/from");  // the builder fields cannot go with raw
  b = builder();
  b["headers"] = {{"Content-Type", "text/html"}};
  EXPECT_EQ(pointer_of(b), "/headers/Content-Type");
  b = builder();
  b["attachments"] = json::array({{{"filename", "a"}, {"data_base64", "!!"}}});
  EXPECT_EQ(pointer_of(b), "/attachments/0/data_base64");
  b = builder();
  b["campaign"] = "has space";
  EXPECT_EQ(pointer_of(b), "/campaign");
  b = builder();
  b["unsubscribe"] = "yes";
  EXPECT_EQ(pointer_of(b), "/unsubscribe");
  b = builder();
  b["recipients"] = json::array({"a@x.test", "b@x.test", "c@x.test"});
  EXPECT_EQ(pointer_of(b, {.max_recipients = 2}), "/recipients");
}

TEST(InjectRequest, malformed_or_deep_json_is_a_400) {
  for (const std::string& body : {std::string("{"), std::string(100, '['), std::string("[1]")}) {
    auto r = parse_inject_request(body, {});
    ASSERT_TRUE(std::holds_alternative<http::Problem>(r)) << body;
    EXPECT_EQ(std::get<http::Problem>(r).status, 400u);
  }
}

TEST(InjectRequest, addresses_are_checked_without_brackets) {
  smtp::Address a;
  EXPECT_EQ(check_email("ann@x.test", a), "");
  EXPECT_EQ(a.domain, "x.test");
  EXPECT_NE(check_email("<ann@x.test>", a), "");
  EXPECT_NE(check_email("ann", a), "");
  EXPECT_NE(check_email("ann@", a), "");
  EXPECT_EQ(check_email("j\xc3\xb6rg@b\xc3\xbc.test", a), "");  // RFC 6531
}

TEST(Compose, renders_per_recipient_and_keeps_variables_out_of_header_structure) {
  auto b = builder();
  b["recipients"][0]["vars"]["first"] = "Ann\r\nBcc: evil@x.test";
  auto r = parse_inject_request(b.dump(), {});
  auto& req = std::get<InjectRequest>(r);
  auto c = Composer::make(req);
  ASSERT_TRUE(std::holds_alternative<Composer>(c));
  const std::string m = std::get<Composer>(c).compose(req.recipients[0], {{"X-Extra", "1"}}, 0, 42, "h.test", "Q1");
  EXPECT_NE(m.find("Subject: Hi Ann  Bcc: evil@x.test\r\n"), std::string::npos) << m;
  const std::string header = m.substr(0, m.find("\r\n\r\n") + 2);
  EXPECT_EQ(header.find("\r\nBcc:"), std::string::npos);  // the body may say what it likes
  EXPECT_NE(m.find("X-Extra: 1\r\n"), std::string::npos);
  EXPECT_NE(m.find("To: \"Ann\" <ann@x.test>\r\n"), std::string::npos) << m;
}

TEST(Compose, a_bad_template_is_a_422_with_its_place) {
  auto b = builder();
  b["subject"] = "Hi {{first";
  auto r = parse_inject_request(b.dump(), {});
  auto c = Composer::make(std::get<InjectRequest>(r));
  ASSERT_TRUE(std::holds_alternative<http::Problem>(c));
  const auto& p = std::get<http::Problem>(c);
  EXPECT_EQ(p.status, 422u);
  EXPECT_EQ(p.pointer, "/subject");
  EXPECT_EQ(p.column, 4u);
}

}  // namespace
}  // namespace petrel::api

#include "api/mail_sinks.hpp"

namespace petrel::api {
namespace {

TEST(MailSinks, finds_the_token_in_a_list_unsubscribe_value) {
  EXPECT_EQ(token_in("<https://h.test/u/HOUC2LLY79COH97MABCDEF>, <mailto:unsubscribe+HOUC2LLY79COH97MABCDEF@h.test>"),
            "HOUC2LLY79COH97MABCDEF");
  EXPECT_EQ(token_in("<mailto:unsubscribe+abc123@h.test>"), "abc123");
  EXPECT_EQ(token_in("<https://other.test/unsubscribe?id=1>"), "");
  EXPECT_EQ(token_in(""), "");
}

}  // namespace
}  // namespace petrel::api
