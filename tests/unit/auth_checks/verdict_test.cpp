#include <gtest/gtest.h>

#include "auth_checks/verdict.hpp"

namespace petrel::auth_checks {
namespace {

Results passing() {
  Results r;
  r.spf = {spf::Result::pass, {}, "matched ip4:127.0.0.0/8 in pass.test", "ip4:127.0.0.0/8"};
  r.spf_identity = "alice@pass.test";
  dkim::SignatureResult s;
  s.result = dkim::Result::pass;
  s.reason = "signature verified";
  s.domain = "pass.test";
  s.selector = "sel";
  s.algorithm = "rsa-sha256";
  s.b_prefix = "ab/Cd+ef";
  r.dkim.push_back(s);
  dmarc::Decision d;
  d.result = dmarc::Result::pass;
  d.policy = d.published_policy = dmarc::Policy::reject;
  d.record_domain = "pass.test";
  d.reason = "aligned DKIM d=pass.test";
  r.dmarc = d;
  r.from_domain = "pass.test";
  return r;
}

Results failing(dmarc::Policy policy) {
  Results r = passing();
  r.spf.result = spf::Result::fail;
  r.dkim.clear();
  r.dmarc->result = dmarc::Result::fail;
  r.dmarc->policy = r.dmarc->published_policy = policy;
  r.dmarc->reason = "SPF and DKIM not aligned";
  return r;
}

const Policy kPolicy{"mx.example.net", true, false};

TEST(Verdict, AllPassIsAcceptedWithEveryMethodInTheField) {
  const Verdict v = decide(passing(), kPolicy);
  EXPECT_EQ(v.action, Action::accept);
  EXPECT_EQ(v.summary, "spf=pass dkim=pass dmarc=pass arc=none");
  EXPECT_EQ(v.header,
            "Authentication-Results: mx.example.net;\r\n"
            "\tspf=pass (matched ip4:127.0.0.0/8 in pass.test) smtp.mailfrom=alice@pass.test;\r\n"
            "\tdkim=pass (signature verified) header.d=pass.test header.s=sel header.a=rsa-sha256 "
            "header.b=\"ab/Cd+ef\";\r\n"
            "\tdmarc=pass (p=reject; aligned DKIM d=pass.test) header.from=pass.test;\r\n"
            "\tarc=none\r\n");
}

TEST(Verdict, DmarcRejectIsRefusedWith550_5_7_1) {
  const Verdict v = decide(failing(dmarc::Policy::reject), kPolicy);
  EXPECT_EQ(v.action, Action::reject);
  ASSERT_TRUE(v.reply);
  EXPECT_EQ(v.reply->status.code, 550);
  EXPECT_EQ(v.reply->status.enhanced, "5.7.1");
  EXPECT_NE(v.reply->lines.front().find("pass.test"), std::string::npos);
  EXPECT_EQ(v.summary, "spf=fail dkim=none dmarc=fail arc=none");
  EXPECT_EQ(v.refused_by, "dmarc");
  EXPECT_EQ(v.results, (std::vector<std::pair<std::string, std::string>>{
                           {"spf", "fail"}, {"dkim", "none"}, {"dmarc", "fail"}, {"arc", "none"}}));
}

TEST(Verdict, NotEnforcedOrPNoneOnlyRecords) {
  EXPECT_EQ(decide(failing(dmarc::Policy::reject), {"mx", false, false}).action, Action::accept);
  const Verdict none = decide(failing(dmarc::Policy::none), kPolicy);
  EXPECT_EQ(none.action, Action::accept);
  EXPECT_NE(none.header.find("dmarc=fail (p=none;"), std::string::npos);
}

TEST(Verdict, QuarantineAndASampledOutRejectAreQuarantined) {
  EXPECT_EQ(decide(failing(dmarc::Policy::quarantine), kPolicy).action, Action::quarantine);
  Results sampled = failing(dmarc::Policy::quarantine);  // the evaluator's milder policy for pct=
  sampled.dmarc->published_policy = dmarc::Policy::reject;
  sampled.dmarc->sampled_out = true;
  const Verdict v = decide(sampled, kPolicy);
  EXPECT_EQ(v.action, Action::quarantine);
  EXPECT_NE(v.header.find("p=reject, pct= left it out"), std::string::npos);
}

TEST(Verdict, SpfFailIsRefusedOnItsOwnOnlyWhenAsked) {
  Results r = passing();
  r.spf.result = spf::Result::fail;
  r.spf.explanation = "not\r\nours";
  EXPECT_EQ(decide(r, kPolicy).action, Action::accept);
  const Verdict v = decide(r, {"mx", true, true});
  EXPECT_EQ(v.action, Action::reject);
  EXPECT_EQ(v.reply->status.enhanced, "5.7.23");
  EXPECT_EQ(v.refused_by, "spf");
  EXPECT_EQ(v.reply->lines.front(), "SPF check failed for alice@pass.test: not??ours");
}

TEST(Verdict, NoFromDomainIsDmarcPermerrorAndHeloChecksSayHelo) {
  Results r = passing();
  r.dmarc.reset();
  r.spf_of_helo = true;
  r.spf_identity = "mail.pass.test";
  const Verdict v = decide(r, kPolicy);
  EXPECT_NE(v.header.find("dmarc=permerror (no single From domain to judge)"), std::string::npos);
  EXPECT_NE(v.header.find("smtp.helo=mail.pass.test"), std::string::npos);
  EXPECT_EQ(v.action, Action::accept);
}

}  // namespace
}  // namespace petrel::auth_checks
