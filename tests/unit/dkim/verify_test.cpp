#include <gtest/gtest.h>

#include <map>
#include <string>

#include "dkim/key.hpp"
#include "dkim/signer.hpp"
#include "dkim/verify.hpp"
#include "signed_fixtures.hpp"

namespace petrel::dkim {
namespace {

namespace fx = test_fixtures;

// A DNS table of key records by name.
class Keys {
 public:
  Keys& add(std::string name, std::string record) {
    table_[name] = {KeyLookup::Status::found, {std::move(record)}};
    return *this;
  }
  Keys& fail(std::string name) {
    table_[name] = {KeyLookup::Status::failed, {}};
    return *this;
  }
  std::function<const KeyLookup*(std::string_view)> lookup() const {
    return [this](std::string_view name) -> const KeyLookup* {
      const auto it = table_.find(std::string(name));
      static const KeyLookup missing{KeyLookup::Status::missing, {}};
      return it == table_.end() ? &missing : &it->second;
    };
  }

 private:
  std::map<std::string, KeyLookup> table_;
};

Keys fixture_keys() {
  Keys k;
  k.add("sel._domainkey.example.test", std::string(fx::kRsaRecord));
  k.add("ed._domainkey.example.test", std::string(fx::kEd25519Record));
  return k;
}

std::vector<SignatureResult> verify(std::string_view message, const Keys& keys, std::int64_t now = 1'800'000'000) {
  Verifier v(message, {5, now, kMinRsaBits});
  return v.verify(keys.lookup());
}

TEST(DkimVerify, PassesPython3DkimSignaturesInEveryCanonicalization) {
  const Keys keys = fixture_keys();
  for (std::string_view m : {fx::kRsaRelaxed, fx::kRsaSimple, fx::kRsaLength, fx::kEd}) {
    const auto results = verify(m, keys);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::pass) << results[0].reason << "\n" << m;
    EXPECT_EQ(results[0].domain, "example.test");
  }
}

TEST(DkimVerify, AChangedBodyIsAFail) {
  std::string m(fx::kRsaRelaxed);
  m.replace(m.find("Hello Bob"), 5, "Howdy");
  const auto results = verify(m, fixture_keys());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::fail);
  EXPECT_EQ(results[0].reason, "body hash did not verify");
}

TEST(DkimVerify, AChangedSignedHeaderIsAFail) {
  std::string m(fx::kEd);
  m.replace(m.find("Subject: Hello"), 14, "Subject: Money");
  const auto results = verify(m, fixture_keys());
  EXPECT_EQ(results.at(0).result, Result::fail);
  EXPECT_EQ(results.at(0).reason, "signature did not verify");
}

TEST(DkimVerify, RelaxedSurvivesRefoldingAndLengthIgnoresAppendedText) {
  std::string relaxed(fx::kRsaRelaxed);
  relaxed.replace(relaxed.find("Subject: Hello  there"), 21, "Subject:   Hello\r\n there");
  EXPECT_EQ(verify(relaxed, fixture_keys()).at(0).result, Result::pass);
  std::string longer(fx::kRsaLength);
  longer += "-- \r\nappended by a list\r\n";
  EXPECT_EQ(verify(longer, fixture_keys()).at(0).result, Result::pass);
}

TEST(DkimVerify, KeyProblemsArePermerrorAndDnsFailureTemperror) {
  EXPECT_EQ(verify(fx::kRsaRelaxed, Keys()).at(0).result, Result::permerror);  // no record
  EXPECT_EQ(verify(fx::kRsaRelaxed, Keys().fail("sel._domainkey.example.test")).at(0).result, Result::temperror);
  EXPECT_EQ(verify(fx::kRsaRelaxed, Keys().add("sel._domainkey.example.test", "v=DKIM1; p=")).at(0).result,
            Result::permerror);  // revoked
  EXPECT_EQ(verify(fx::kRsaRelaxed, Keys().add("sel._domainkey.example.test", std::string(fx::kEd25519Record)))
                .at(0)
                .result,
            Result::permerror);  // k= does not fit a=
  EXPECT_EQ(verify(fx::kRsaRelaxed, Keys().add("sel._domainkey.example.test", "garbage")).at(0).result,
            Result::permerror);
}

TEST(DkimVerify, MalformedSignaturesArePermerror) {
  for (std::string_view field : {"DKIM-Signature: v=1; a=rsa-sha1; d=a.test; s=s; h=from; bh=AAAA; b=AAAA\r\n",
                                 "DKIM-Signature: v=2; a=rsa-sha256; d=a.test; s=s; h=from; bh=AAAA; b=AAAA\r\n",
                                 "DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=s; h=to; bh=AAAA; b=AAAA\r\n",
                                 "DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=AAAA; b=AAAA; "
                                 "i=x@other.test\r\n",
                                 "DKIM-Signature: garbage\r\n"}) {
    const std::string m = std::string(field) + "From: a@a.test\r\n\r\nbody\r\n";
    const auto results = verify(m, Keys());
    ASSERT_EQ(results.size(), 1u) << field;
    EXPECT_EQ(results[0].result, Result::permerror) << field;
    EXPECT_FALSE(results[0].reason.empty());
  }
}

TEST(DkimVerify, AnExpiredSignatureFails) {
  const Key key = generate_key(Algorithm::ed25519_sha256);
  SignerConfig config{"example.test", "k1", Algorithm::ed25519_sha256, {"from", "subject"}};
  const std::string body = "From: a@example.test\r\nSubject: x\r\n\r\nhi\r\n";
  std::string field = sign(key, config, body, 1000);
  field.replace(field.find("t=1000;"), 7, "t=1000; x=2000;");  // breaks b= too, but expiry is judged first
  const auto results =
      verify(field + body, Keys().add("k1._domainkey.example.test", key.dns_record()), 3000);
  EXPECT_EQ(results.at(0).result, Result::fail);
  EXPECT_EQ(results.at(0).reason, "signature expired");
}

TEST(DkimVerify, OurOwnSignaturesVerifyAndOnlyMaxSignaturesAreRead) {
  const Key rsa = generate_key(Algorithm::rsa_sha256, 1024);
  const Key ed = generate_key(Algorithm::ed25519_sha256);
  std::vector<DomainKey> keys{{{"example.test", "r", Algorithm::rsa_sha256, {"from", "to"}}, std::make_shared<Key>(rsa)},
                              {{"example.test", "e", Algorithm::ed25519_sha256, {"from"}}, std::make_shared<Key>(ed)}};
  const std::string body = "From: a@example.test\r\nTo: b@example.net\r\n\r\nhi\r\n";
  const std::string m = sign_all(keys, body, 100) + body;
  Keys table;
  table.add("r._domainkey.example.test", rsa.dns_record()).add("e._domainkey.example.test", ed.dns_record());
  const auto both = verify(m, table);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].result, Result::pass) << both[0].reason;
  EXPECT_EQ(both[1].result, Result::pass) << both[1].reason;
  Verifier one(m, {1, 0, kMinRsaBits});
  EXPECT_EQ(one.key_names(), std::vector<std::string>{"r._domainkey.example.test"});
  EXPECT_EQ(one.verify(table.lookup()).size(), 1u);
}

TEST(DkimVerify, WithoutSignatureValueKeepsEverythingElse) {
  EXPECT_EQ(without_signature_value("DKIM-Signature: a=1; b=AB\r\n CD; c=2\r\n"), "DKIM-Signature: a=1; b=; c=2\r\n");
  EXPECT_EQ(without_signature_value("DKIM-Signature: bh=xx; b=ABCD\r\n"), "DKIM-Signature: bh=xx; b=\r\n");
}

}  // namespace
}  // namespace petrel::dkim

namespace petrel::dkim {
namespace {

TEST(DkimVerify, StrictKeysAllowAnIdentityInDEvenInAnotherCaseButNotBelowIt) {
  const Key key = generate_key(Algorithm::ed25519_sha256);
  const std::string record = "v=DKIM1; k=ed25519; t=s; p=" + key.dns_record().substr(key.dns_record().find("p=") + 2);
  Signature s;
  s.algorithm = Algorithm::ed25519_sha256;
  s.domain = "example.test";
  s.selector = "k";
  const KeyLookup lookup{KeyLookup::Status::found, {record}};
  s.identity = "news@Example.TEST";
  EXPECT_TRUE(select_key(lookup, s).key) << select_key(lookup, s).reason;
  s.identity = "@example.test";
  EXPECT_TRUE(select_key(lookup, s).key);
  s.identity = "news@mail.example.test";
  const KeySelection below = select_key(lookup, s);
  EXPECT_FALSE(below.key);
  EXPECT_EQ(below.result, Result::permerror);
}

}  // namespace
}  // namespace petrel::dkim
