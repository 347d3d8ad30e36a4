// petrel dkim: the zone line keygen prints, and check's judgement of what a
// DNS answer publishes at SELECTOR._domainkey.DOMAIN.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/dkim_report.hpp"

namespace petrel::cli {
namespace {

constexpr std::string_view kRfc8463Ed25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRfc8463Ed25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRsa512Record =
    "v=DKIM1; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALRNVWWekl6J4TTwe1rib6DMfo6V8riB43WsAFAH7KzDY1HgjJv+sWdQwBTSgIjfQ36/"
    "kc2mSF8ROvTTk64/gMkCAwEAAQ==";

dns::TxtAnswer answer(std::vector<std::vector<std::string>> records) {
  dns::TxtAnswer a;
  a.outcome = dns::Outcome::ok;
  for (auto& strings : records) a.records.push_back(dns::TxtRecord{std::move(strings)});
  return a;
}

dns::TxtAnswer failed(dns::Outcome outcome) {
  dns::TxtAnswer a;
  a.outcome = outcome;
  a.error = "SERVFAIL";
  return a;
}

dkim::Key rfc_key() {
  std::string error;
  return dkim::load_key(kRfc8463Ed25519Pem, std::nullopt, error).value();
}

DkimCheck judged(const dns::TxtAnswer& a, const dkim::Key* key = nullptr) {
  return judge_dkim_record("s1._domainkey.example.com", a, key, key ? "s1.key" : "");
}

TEST(DkimReport, zone_line_cuts_the_record_into_255_octet_strings) {
  EXPECT_EQ(dkim_zone_line("example.com", "s1", kRfc8463Ed25519Record),
            "s1._domainkey.example.com. IN TXT \"" + std::string(kRfc8463Ed25519Record) + "\"");
  const std::string record = "v=DKIM1; k=rsa; p=" + std::string(600, 'A');
  const std::string line = dkim_zone_line("example.com", "s1", record);
  EXPECT_EQ(line, "s1._domainkey.example.com. IN TXT \"" + record.substr(0, 255) + "\" \"" + record.substr(255, 255) +
                      "\" \"" + record.substr(510) + "\"");
}

TEST(DkimReport, published_key_that_matches_the_key_file_is_ok) {
  const dkim::Key key = rfc_key();
  const DkimCheck check = judged(answer({{"v=DKIM1; k=ed25519; ", "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}), &key);
  EXPECT_EQ(check.status, DkimStatus::ok);
  EXPECT_EQ(check.key_type, "ed25519");
  EXPECT_EQ(check.bits, 256);
  EXPECT_EQ(check.key_matches, true);
  EXPECT_EQ(check.record, kRfc8463Ed25519Record);
  EXPECT_EQ(dkim_check_exit_status(check), 0);
}

TEST(DkimReport, another_key_is_a_mismatch) {
  const dkim::Key other = dkim::generate_key(dkim::Algorithm::ed25519_sha256);
  const DkimCheck check = judged(answer({{std::string(kRfc8463Ed25519Record)}}), &other);
  EXPECT_EQ(check.status, DkimStatus::mismatch);
  EXPECT_EQ(check.key_matches, false);
  EXPECT_EQ(dkim_check_exit_status(check), 1);
}

TEST(DkimReport, absent_and_failed_lookups) {
  EXPECT_EQ(judged(failed(dns::Outcome::nxdomain)).status, DkimStatus::not_found);
  EXPECT_EQ(judged(failed(dns::Outcome::nodata)).status, DkimStatus::not_found);
  const DkimCheck failure = judged(failed(dns::Outcome::temporary_failure));
  EXPECT_EQ(failure.status, DkimStatus::dns_failure);
  EXPECT_EQ(failure.problems, std::vector<std::string>{"DNS lookup failed: SERVFAIL"});
}

TEST(DkimReport, revoked_and_unusable_records) {
  EXPECT_EQ(judged(answer({{"v=DKIM1; k=rsa; p="}})).status, DkimStatus::revoked);
  EXPECT_EQ(judged(answer({{"v=spf1 -all"}})).status, DkimStatus::invalid);
  EXPECT_EQ(judged(answer({{"v=DKIM1; k=dsa; p=AQAB"}})).status, DkimStatus::invalid);
  EXPECT_EQ(judged(answer({{"v=DKIM1; h=sha1; p=AQAB"}})).status, DkimStatus::invalid);
  EXPECT_EQ(judged(answer({{"v=DKIM1; k=ed25519; p=AQAB"}})).status, DkimStatus::invalid);  // not 32 octets
  const DkimCheck two = judged(answer({{std::string(kRfc8463Ed25519Record)}, {std::string(kRfc8463Ed25519Record)}}));
  EXPECT_EQ(two.status, DkimStatus::invalid);
  const DkimCheck small = judged(answer({{std::string(kRsa512Record)}}));
  EXPECT_EQ(small.status, DkimStatus::invalid);
  EXPECT_EQ(small.bits, 512);
}

TEST(DkimReport, testing_flag_is_a_warning) {
  const DkimCheck check = judged(answer({{"v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}}));
  EXPECT_EQ(check.status, DkimStatus::ok);
  ASSERT_EQ(check.warnings.size(), 1u);
  EXPECT_NE(check.warnings[0].find("t=y"), std::string::npos);
}

TEST(DkimReport, record_text_is_made_printable) {
  const DkimCheck check = judged(answer({{"v=DKIM1; n=\x1b[31mred; p="}}));
  ASSERT_TRUE(check.record);
  EXPECT_EQ(check.record->find('\x1b'), std::string::npos);
}

TEST(DkimReport, json_has_every_field) {
  const dkim::Key key = rfc_key();
  const auto j = nlohmann::json::parse(dkim_check_json(judged(answer({{std::string(kRfc8463Ed25519Record)}}), &key), true));
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["name"], "s1._domainkey.example.com");
  EXPECT_EQ(j["key_type"], "ed25519");
  EXPECT_EQ(j["bits"], 256);
  EXPECT_EQ(j["key_matches"], true);
  EXPECT_EQ(j["key_file"], "s1.key");
  EXPECT_EQ(j["dnssec"], "insecure");
  const auto missing = nlohmann::json::parse(dkim_check_json(judged(failed(dns::Outcome::nxdomain)), false));
  EXPECT_EQ(missing["status"], "not_found");
  EXPECT_TRUE(missing["record"].is_null());
  EXPECT_TRUE(missing["dnssec"].is_null());
  EXPECT_TRUE(missing["key_matches"].is_null());
}

}  // namespace
}  // namespace petrel::cli
