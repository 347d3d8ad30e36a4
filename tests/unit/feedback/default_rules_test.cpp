// The shipped rules (etc/bounce_rules.toml, built in) against replies
// that real receivers give, one test per reply.
#include <gtest/gtest.h>

#include <string>

#include "feedback/bounce_class.hpp"

namespace petrel::feedback {
namespace {

struct Case {
  const char* name;
  const char* reply;
  Category expected;
};

// clang-format off
const Case kCases[] = {
  // ---- Gmail ----
  {"gmail_no_such_user",
   "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
   "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
   "550-5.1.1 unnecessary spaces. For more information, go to\r\n"
   "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d75a77b69052e-4a7d1 - gsmtp",
   Category::invalid_recipient},
  {"gmail_disabled_account",
   "550-5.2.1 The email account that you tried to reach is disabled.\r\n"
   "550 5.2.1  https://support.google.com/mail/?p=DisabledUser - gsmtp",
   Category::invalid_recipient},
  {"gmail_inbox_out_of_storage",
   "452-4.2.2 The recipient's inbox is out of storage space and inactive. Please\r\n"
   "452 4.2.2 direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
   Category::mailbox_full},
  {"gmail_over_quota", "552-5.2.2 The email account that you tried to reach is over quota.", Category::mailbox_full},
  {"gmail_size_limit",
   "552-5.3.4 Your message exceeded Google's message size limits. Please visit\r\n"
   "552 5.3.4  https://support.google.com/mail/?p=MaxSizeError to view our size guidelines.",
   Category::message_too_big},
  {"gmail_unauthenticated_sender",
   "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\r\n"
   "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.\r\n"
   "550-5.7.26  DKIM = did not pass\r\n"
   "550 5.7.26  SPF [example.com] with ip: [192.0.2.1] = did not pass",
   Category::auth_failure},
  {"gmail_dmarc_policy",
   "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's\r\n"
   "550 5.7.26 DMARC policy. Please contact the administrator of example.com domain",
   Category::auth_failure},
  {"gmail_rate_limited_unauthenticated",
   "421-4.7.26 This mail has been rate limited because it is unauthenticated.", Category::auth_failure},
  {"gmail_missing_ptr",
   "550-5.7.25 [192.0.2.1] The IP address sending this message does not have a\r\n"
   "550 5.7.25 PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.",
   Category::auth_failure},
  {"gmail_unusual_rate",
   "421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of\r\n"
   "421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n"
   "421-4.7.28 users from spam, mail sent from your IP address has been temporarily\r\n"
   "421 4.7.28 rate limited. - gsmtp",
   Category::reputation},
  {"gmail_low_ip_reputation",
   "421-4.7.0 [192.0.2.1] This message is suspicious due to the very low\r\n"
   "421 4.7.0 reputation of the sending IP address. - gsmtp",
   Category::reputation},
  {"gmail_likely_spam",
   "550-5.7.1 [192.0.2.1] Our system has detected that this message is\r\n"
   "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\r\n"
   "550 5.7.1 this message has been blocked. - gsmtp",
   Category::spam_block},
  {"gmail_security_issue",
   "552-5.7.0 This message was blocked because its content presents a potential\r\n"
   "552 5.7.0 security issue. - gsmtp",
   Category::spam_block},
  {"gmail_sending_quota", "550 5.4.5 Daily user sending quota exceeded. - gsmtp", Category::policy},
  {"gmail_try_again_later", "421 4.7.0 Try again later, closing connection. (EHLO) - gsmtp", Category::transient},
  // ---- Yahoo and AOL ----
  {"yahoo_tss04",
   "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user "
   "complaints - 4.16.55.1; see https://senders.yahooinc.com/error-codes",
   Category::reputation},
  {"yahoo_tss09",
   "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed.",
   Category::reputation},
  {"yahoo_no_account",
   "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - "
   "mta4012.mail.bf1.yahoo.com",
   Category::invalid_recipient},
  {"yahoo_mailbox_disabled",
   "554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox is "
   "disabled (554.30). - mta1234.mail.ne1.yahoo.com",
   Category::invalid_recipient},
  {"yahoo_policy", "554 5.7.9 Message not accepted for policy reasons.  See https://senders.yahooinc.com/error-codes",
   Category::policy},
  {"aol_mailbox_not_found", "552 1 Requested mail action aborted, mailbox not found", Category::invalid_recipient},
  // ---- Microsoft ----
  {"microsoft_dbeb_access_denied",
   "550 5.4.1 Recipient address rejected: Access denied. For more information see "
   "https://aka.ms/EXOSmtpErrors [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
   Category::invalid_recipient},
  {"microsoft_recipient_not_found",
   "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient someone@contoso.com not found by SMTP address lookup",
   Category::invalid_recipient},
  {"outlook_mailbox_unavailable",
   "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302) "
   "[DM6NAM10FT012.eop-nam10.prod.protection.outlook.com]",
   Category::invalid_recipient},
  {"microsoft_traffic_not_accepted",
   "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information "
   "please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7660)",
   Category::reputation},
  {"microsoft_block_list_s3150",
   "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service "
   "provider since part of their network is on our block list (S3150).",
   Category::reputation},
  {"microsoft_banned_sending_ip", "550 5.7.606 Access denied, banned sending IP [192.0.2.1].", Category::reputation},
  {"microsoft_ip_reputation_rate_limit",
   "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.",
   Category::reputation},
  {"microsoft_dmarc",
   "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a DMARC "
   "policy of reject.",
   Category::auth_failure},
  {"microsoft_authentication_level",
   "550 5.7.515 Access denied, sending domain example.com doesn't meet the required authentication level.",
   Category::auth_failure},
  {"microsoft_quota_exceeded",
   "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
   Category::mailbox_full},
  {"microsoft_size_limit", "552 5.3.4 Requested action not taken; message size exceeds the limit",
   Category::message_too_big},
  {"microsoft_nonexistent_domain", "550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain",
   Category::bad_domain},
  // ---- Blocklists ----
  {"spamhaus",
   "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; "
   "https://www.spamhaus.org/query/ip/192.0.2.1",
   Category::reputation},
  {"att_dnsbl",
   "553 5.3.0 flph829 DNSBL:RBL 521< 192.0.2.1 >_is_blocked.For assistance forward this email to "
   "abuse_rbl@abuse-att.net",
   Category::reputation},
  {"barracuda",
   "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation, "
   "http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.1",
   Category::reputation},
  // ---- Postfix, Exim, Sendmail, filters ----
  {"postfix_user_unknown",
   "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
   Category::invalid_recipient},
  {"exim_unrouteable_address", "550 Unrouteable address", Category::invalid_recipient},
  {"postfix_domain_not_found_permanent",
   "550 5.1.2 <bob@nonexistent.example>: Recipient address rejected: Domain not found", Category::bad_domain},
  {"postfix_domain_not_found_temporary",
   "450 4.1.2 <bob@nonexistent.example>: Recipient address rejected: Domain not found", Category::dns_failure},
  {"host_or_domain_not_found",
   "554 5.4.4 Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found",
   Category::bad_domain},
  {"no_mx_nxdomain", "550 no MX record for example.invalid (NXDOMAIN)", Category::bad_domain},
  {"null_mx", "556 5.1.10 Recipient address has null MX", Category::bad_domain},
  {"dns_try_again",
   "451 4.4.3 Host or domain name not found. Name service error for name=example.com type=MX: Host not found, "
   "try again",
   Category::dns_failure},
  {"postfix_sender_domain_not_found",
   "450 4.1.8 <bounce@example.com>: Sender address rejected: Domain not found", Category::policy},
  {"postfix_relay_access_denied", "554 5.7.1 <bob@example.org>: Relay access denied", Category::policy},
  {"relay_denied_without_enhanced_code", "554 Relay access denied", Category::policy},
  {"postfix_size_limit", "552 5.3.4 Message size exceeds fixed limit", Category::message_too_big},
  {"exim_size_limit", "552 Message size exceeds maximum permitted", Category::message_too_big},
  {"dovecot_quota", "552 5.2.2 Mailbox is full / Quota exceeded", Category::mailbox_full},
  {"rspamd_spam", "554 5.7.1 Spam message rejected", Category::spam_block},
  {"virus_found", "554 5.7.1 Virus found: Win.Trojan.Agent", Category::spam_block},
  {"smarthost_credentials", "535 5.7.8 Username and Password not accepted.", Category::auth_failure},
  {"greylisting", "451 4.7.1 Please try again later (greylisted)", Category::transient},
  {"mailbox_unavailable_without_5_5_0_is_not_an_unknown_user",
   "550 Requested action not taken: mailbox unavailable", Category::unknown},
  {"syntax_error", "500 5.5.2 Syntax error, command unrecognized", Category::unknown},
  {"user_unknown_but_temporary", "450 4.1.1 <bob@example.com>: Recipient address rejected: unverified address",
   Category::transient},
};
// clang-format on

class ShippedRules : public testing::TestWithParam<Case> {};

TEST_P(ShippedRules, Classify) {
  const Case& c = GetParam();
  EXPECT_EQ(to_string(default_classifier().classify(c.reply)), to_string(c.expected)) << c.reply;
}

INSTANTIATE_TEST_SUITE_P(RealReplies, ShippedRules, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ShippedRulesFile, LoadsAndIsTheBuiltInText) {
  EXPECT_NE(default_rules_text().find("[[rule]]"), std::string_view::npos);
  ASSERT_FALSE(default_classifier().rules().empty());
  EXPECT_EQ(default_classifier().rules()[0].origin, "etc/bounce_rules.toml (built in):33");
}

// A suppressing category must never come from a temporary failure.
TEST(ShippedRulesFile, SuppressingCategoriesComeFromPermanentRepliesOnly) {
  for (const Rule& rule : default_classifier().rules()) {
    if (!suppresses(rule.category)) continue;
    const bool permanent = rule.code.starts_with('5') || rule.enhanced.starts_with('5');
    EXPECT_TRUE(permanent) << rule.origin << " gives " << to_string(rule.category);
  }
}

TEST(ShippedRulesFile, ClassifiesReplyParts) {
  EXPECT_EQ(default_classifier().classify(550, "5.1.1", "The email account that you tried to reach does not exist"),
            Category::invalid_recipient);
  EXPECT_EQ(default_classifier().classify(421, "4.7.28", "an unusual rate of\nunsolicited mail"),
            Category::reputation);
  EXPECT_EQ(default_classifier().classify(554, "", "Transaction failed"), Category::unknown);
}

}  // namespace
}  // namespace petrel::feedback
