// ESMTP parameters on MAIL FROM and RCPT TO: SIZE (RFC 1870), BODY (RFC 6152,
// RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461).
#include "smtp/mail_params.hpp"

#include <gtest/gtest.h>

namespace petrel::smtp {
namespace {

constexpr ParamContext kEsmtp{true, 1000};
constexpr ParamContext kPlainSmtp{false, 1000};

std::string status_of(const std::optional<Reply>& r) {
  if (!r) return "accepted";
  return std::to_string(r->code()) + " " + std::string(r->status.enhanced);
}

std::string mail(std::string_view text, MailParams& out, const ParamContext& ctx = kEsmtp) {
  return status_of(parse_mail_params(text, ctx, out));
}

std::string rcpt(std::string_view text, Recipient& out, const ParamContext& ctx = kEsmtp) {
  return status_of(parse_rcpt_params(text, ctx, out));
}

TEST(MailParams, none_at_all) {
  MailParams p;
  EXPECT_EQ(mail("", p), "accepted");
  EXPECT_EQ(mail("   ", p), "accepted");
  EXPECT_FALSE(p.declared_size);
  EXPECT_EQ(p.body, BodyType::unspecified);
}

TEST(MailParams, all_known_parameters_are_stored) {
  MailParams p;
  EXPECT_EQ(mail(" SIZE=999 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2Bid", p), "accepted");
  EXPECT_EQ(p.declared_size, 999u);
  EXPECT_EQ(p.body, BodyType::eight_bit_mime);
  EXPECT_TRUE(p.smtputf8);
  EXPECT_EQ(p.ret, DsnRet::headers);
  EXPECT_EQ(p.envid, "QQ+id");
}

TEST(MailParams, keywords_and_values_are_case_insensitive) {
  MailParams p;
  EXPECT_EQ(mail(" size=5 body=binarymime ret=full smtputf8", p), "accepted");
  EXPECT_EQ(p.body, BodyType::binary_mime);
  EXPECT_EQ(p.ret, DsnRet::full);
  MailParams seven;
  EXPECT_EQ(mail(" BODY=7bit", seven), "accepted");
  EXPECT_EQ(seven.body, BodyType::seven_bit);
}

TEST(MailParams, size_over_the_limit_is_552) {
  MailParams p;
  EXPECT_EQ(mail(" SIZE=1000", p), "accepted");
  MailParams over;
  EXPECT_EQ(mail(" SIZE=1001", over), "552 5.3.4");
  MailParams huge;
  EXPECT_EQ(mail(" SIZE=99999999999999999999999", huge), "552 5.3.4");
}

TEST(MailParams, bad_values_are_501) {
  for (std::string_view text : {" SIZE=", " SIZE=abc", " SIZE=-1", " SIZE=12x", " BODY=9BIT", " BODY=",
                                " SMTPUTF8=yes", " RET=ALL", " ENVID=", " ENVID=a=b", " ENVID=bad+zz"}) {
    MailParams p;
    EXPECT_EQ(mail(text, p), "501 5.5.4") << text;
  }
}

TEST(MailParams, envid_over_100_octets_is_501) {
  MailParams ok;
  EXPECT_EQ(mail(" ENVID=" + std::string(100, 'e'), ok), "accepted");
  MailParams over;
  EXPECT_EQ(mail(" ENVID=" + std::string(101, 'e'), over), "501 5.5.4");
}

TEST(MailParams, a_parameter_given_twice_is_501) {
  for (std::string_view text : {" SIZE=1 SIZE=2", " BODY=7BIT BODY=8BITMIME", " RET=FULL RET=HDRS", " ENVID=a ENVID=b"}) {
    MailParams p;
    EXPECT_EQ(mail(text, p), "501 5.5.4") << text;
  }
}

TEST(MailParams, unknown_parameter_is_555) {
  MailParams p;
  const auto r = parse_mail_params(" FOO=BAR", kEsmtp, p);
  ASSERT_TRUE(r);
  EXPECT_EQ(status_of(r), "555 5.5.4");
  EXPECT_NE(r->lines.front().find("FOO"), std::string::npos);
}

TEST(MailParams, any_parameter_after_helo_is_555) {
  MailParams p;
  EXPECT_EQ(mail(" SIZE=10", p, kPlainSmtp), "555 5.5.4");
  Recipient r;
  EXPECT_EQ(rcpt(" NOTIFY=NEVER", r, kPlainSmtp), "555 5.5.4");
}

TEST(RcptParams, notify_and_orcpt_are_stored) {
  Recipient r;
  EXPECT_EQ(rcpt(" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;first+2Blast@example.test", r), "accepted");
  EXPECT_EQ(r.notify, notify_success | notify_delay);
  EXPECT_EQ(r.orcpt, "rfc822;first+last@example.test");
}

TEST(RcptParams, notify_never_stands_alone) {
  Recipient never;
  EXPECT_EQ(rcpt(" NOTIFY=never", never), "accepted");
  EXPECT_EQ(never.notify, notify_never);
  Recipient mixed;
  EXPECT_EQ(rcpt(" NOTIFY=NEVER,FAILURE", mixed), "501 5.5.4");
}

TEST(RcptParams, malformed_notify_lists_are_501) {
  // RFC 3461 §4.1: "NEVER" or a comma-separated list of SUCCESS/FAILURE/DELAY.
  for (std::string_view text : {" NOTIFY=", " NOTIFY=SOMETIMES", " NOTIFY=SUCCESS,,FAILURE", " NOTIFY=,SUCCESS",
                                " NOTIFY=SUCCESS,"}) {
    Recipient r;
    EXPECT_EQ(rcpt(text, r), "501 5.5.4") << text;
  }
}

TEST(RcptParams, malformed_orcpt_is_501) {
  for (std::string_view text : {" ORCPT=", " ORCPT=noaddrtype", " ORCPT=;a@b", " ORCPT=rfc822;", " ORCPT=rfc822;a+Z"}) {
    Recipient r;
    EXPECT_EQ(rcpt(text, r), "501 5.5.4") << text;
  }
  Recipient over;
  EXPECT_EQ(rcpt(" ORCPT=rfc822;" + std::string(500, 'o'), over), "501 5.5.4");
}

TEST(RcptParams, unknown_parameter_is_555) {
  Recipient r;
  EXPECT_EQ(rcpt(" SIZE=10", r), "555 5.5.4");
}

TEST(Xtext, decodes_plus_hex_pairs) {
  std::string out;
  EXPECT_TRUE(xtext_decode("a+2Bb+3Dc", out));
  EXPECT_EQ(out, "a+b=c");
  EXPECT_FALSE(xtext_decode("a+2", out));
  EXPECT_FALSE(xtext_decode("a+", out));
  EXPECT_FALSE(xtext_decode("a+GG", out));
  EXPECT_FALSE(xtext_decode("a b", out));
  EXPECT_FALSE(xtext_decode("a=b", out));
  EXPECT_TRUE(xtext_decode("", out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace petrel::smtp
