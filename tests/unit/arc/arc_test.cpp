#include <gtest/gtest.h>

#include <string>

#include "../dkim/signed_fixtures.hpp"
#include "arc/arc.hpp"

namespace petrel::arc {
namespace {

namespace fx = test_fixtures;

Outcome validate(std::string_view message, dkim::KeyLookup::Status status = dkim::KeyLookup::Status::found) {
  Validator v(message);
  const dkim::KeyLookup key{status, {std::string(fx::kRsaRecord)}};
  return v.validate([&key](std::string_view) { return &key; });
}

TEST(Arc, NoSetsIsNone) {
  EXPECT_EQ(validate(fx::kRsaRelaxed).result, Result::none);
  EXPECT_TRUE(Validator(fx::kRsaRelaxed).key_names().empty());
}

TEST(Arc, Python3DkimChainsOfOneAndTwoSetsPass) {
  const Outcome one = validate(fx::kArc1);
  EXPECT_EQ(one.result, Result::pass) << one.reason;
  EXPECT_EQ(one.instances, 1);
  EXPECT_EQ(one.sealer, "forwarder.test");
  const Outcome two = validate(fx::kArc2);
  EXPECT_EQ(two.result, Result::pass) << two.reason;
  EXPECT_EQ(two.instances, 2);
  EXPECT_EQ(Validator(fx::kArc2).key_names(),
            (std::vector<std::string>{"sel._domainkey.second.test", "sel._domainkey.forwarder.test"}));
}

TEST(Arc, AChangedBodyOrSealedFieldFails) {
  std::string body(fx::kArc2);
  body.replace(body.find("Hello Bob"), 5, "Howdy");
  EXPECT_EQ(validate(body).result, Result::fail);
  std::string aar(fx::kArc2);
  aar.replace(aar.find("spf=pass smtp.mailfrom"), 8, "spf=fail");
  const Outcome o = validate(aar);
  EXPECT_EQ(o.result, Result::fail);
  EXPECT_NE(o.reason.find("ARC-Seal"), std::string::npos) << o.reason;
}

TEST(Arc, BrokenStructureFailsWithoutLookups) {
  std::string missing(fx::kArc2);
  const std::size_t at = missing.find("ARC-Authentication-Results: i=1");
  missing.replace(at, 30, "X-Old-Authentication-Results:");
  EXPECT_EQ(validate(missing).result, Result::fail);
  EXPECT_TRUE(Validator(missing).key_names().empty());
  std::string cv(fx::kArc2);
  cv.replace(cv.find("cv=pass"), 7, "cv=fail");
  EXPECT_EQ(validate(cv).result, Result::fail);
}

TEST(Arc, ADnsFailureIsTemperror) {
  EXPECT_EQ(validate(fx::kArc1, dkim::KeyLookup::Status::failed).result, Result::temperror);
}

}  // namespace
}  // namespace petrel::arc
