#include "spool/envelope_codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "sample_message.hpp"

namespace petrel::spool {
namespace {

using testing::sample_message;

void expect_same_envelope(const SpooledMessage& a, const SpooledMessage& b) {
  const smtp::Envelope& x = a.envelope;
  const smtp::Envelope& y = b.envelope;
  EXPECT_EQ(x.reverse_path.mailbox, y.reverse_path.mailbox);
  EXPECT_EQ(x.params.declared_size, y.params.declared_size);
  EXPECT_EQ(x.params.body, y.params.body);
  EXPECT_EQ(x.params.smtputf8, y.params.smtputf8);
  EXPECT_EQ(x.params.ret, y.params.ret);
  EXPECT_EQ(x.params.envid, y.params.envid);
  ASSERT_EQ(x.recipients.size(), y.recipients.size());
  for (std::size_t i = 0; i < x.recipients.size(); ++i) {
    EXPECT_EQ(x.recipients[i].forward_path, y.recipients[i].forward_path);
    EXPECT_EQ(x.recipients[i].notify, y.recipients[i].notify);
    EXPECT_EQ(x.recipients[i].orcpt, y.recipients[i].orcpt);
  }
  EXPECT_EQ(x.client_address, y.client_address);
  EXPECT_EQ(x.helo_name, y.helo_name);
  EXPECT_EQ(x.protocol, y.protocol);
  EXPECT_EQ(a.arrival_unix_seconds, b.arrival_unix_seconds);
  EXPECT_EQ(a.attempts, b.attempts);
}

TEST(EnvelopeCodec, round_trips_every_field) {
  auto m = sample_message();
  m->attempts = 7;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  expect_same_envelope(*m, back);
}

TEST(EnvelopeCodec, round_trips_null_reverse_path_and_absent_size) {
  auto m = sample_message();
  m->envelope.reverse_path.mailbox.reset();
  m->envelope.params = {};
  m->envelope.recipients.clear();
  m->arrival_unix_seconds = -1;
  SpooledMessage back;
  back.envelope.reverse_path.mailbox = smtp::Address{"stale", "x"};
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_TRUE(back.envelope.reverse_path.is_null());
  EXPECT_FALSE(back.envelope.params.declared_size.has_value());
  expect_same_envelope(*m, back);
}

TEST(EnvelopeCodec, round_trips_any_octet_in_strings) {
  auto m = sample_message();
  std::string every_octet;
  for (int c = 0; c < 256; ++c) every_octet.push_back(static_cast<char>(c));
  m->envelope.helo_name = every_octet;
  m->envelope.recipients[1].forward_path.local_part = every_octet;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  expect_same_envelope(*m, back);
}

TEST(EnvelopeCodec, rejects_every_truncation) {
  const std::string record = encode_envelope(*sample_message());
  for (std::size_t n = 0; n < record.size(); ++n) {
    SpooledMessage back;
    EXPECT_FALSE(decode_envelope(std::string_view(record).substr(0, n), back)) << "length " << n;
  }
}

TEST(EnvelopeCodec, rejects_trailing_bytes_and_unknown_version) {
  const std::string record = encode_envelope(*sample_message());
  SpooledMessage back;
  EXPECT_FALSE(decode_envelope(record + "x", back));
  std::string other_version = record;
  other_version[0] = 10;
  EXPECT_FALSE(decode_envelope(other_version, back));
}

// Version 9 ends with the size of the tail in a body file: a u64, here 0.
std::string as_version_8(std::string record) {
  EXPECT_EQ(record.substr(record.size() - 8), std::string(8, '\0'));
  record.erase(record.size() - 8);
  record[0] = 8;
  return record;
}

// Version 8 ends with each recipient's alias and alias target: two
// strings each, here empty.
std::string as_version_7(std::string record, std::size_t recipients) {
  record = as_version_8(std::move(record));
  const std::size_t tail = 8 * recipients;
  EXPECT_EQ(record.substr(record.size() - tail), std::string(tail, '\0'));
  record.erase(record.size() - tail);
  record[0] = 7;
  return record;
}

std::string as_version_7(std::string record) { return as_version_7(std::move(record), sample_message()->envelope.recipients.size()); }

// Version 7 ends with the TLS requests (RFC 8689): one octet, here 0.
std::string as_version_6(std::string record) {
  record = as_version_7(std::move(record));
  EXPECT_EQ(record.back(), '\0');
  record.pop_back();
  record[0] = 6;
  return record;
}

// Version 6 ends with campaign and tenant: two strings, here empty.
std::string as_version_5(std::string record) {
  record = as_version_6(std::move(record));
  EXPECT_EQ(record.substr(record.size() - 8), std::string(8, '\0'));
  record.erase(record.size() - 8);
  record[0] = 5;
  return record;
}

TEST(EnvelopeCodec, round_trips_campaign_and_tenant) {
  auto m = sample_message();
  m->envelope.campaign = "december";
  m->envelope.tenant = "shop1";
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_EQ(back.envelope.campaign, "december");
  EXPECT_EQ(back.envelope.tenant, "shop1");
}

TEST(EnvelopeCodec, round_trips_requiretls_and_tls_required_no) {
  auto m = sample_message();
  m->envelope.params.requiretls = true;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_TRUE(back.envelope.params.requiretls);
  EXPECT_FALSE(back.envelope.tls_required_no);
  m->envelope.params.requiretls = false;
  m->envelope.tls_required_no = true;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_FALSE(back.envelope.params.requiretls);
  EXPECT_TRUE(back.envelope.tls_required_no);
}

TEST(EnvelopeCodec, round_trips_the_tail_size_and_reads_version_8_without_it) {
  auto m = sample_message();
  m->tail_size = 20u << 20;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_EQ(back.tail_size, 20u << 20);
  m->tail_size = 0;
  ASSERT_TRUE(decode_envelope(as_version_8(encode_envelope(*m)), back));
  EXPECT_EQ(back.tail_size, 0u);
}

TEST(EnvelopeCodec, round_trips_the_alias_of_each_recipient) {
  auto m = sample_message();
  m->envelope.recipients.front().via_alias = "team";
  m->envelope.recipients.front().alias_target = "|/usr/bin/filter -x";
  m->envelope.recipients.front().orcpt = "rfc822;team@example.org";
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_EQ(back.envelope.recipients.front().via_alias, "team");
  EXPECT_EQ(back.envelope.recipients.front().alias_target, "|/usr/bin/filter -x");
  EXPECT_TRUE(back.envelope.recipients.back().via_alias.empty());
  EXPECT_EQ(encode_envelope(back), encode_envelope(*m));
}

TEST(EnvelopeCodec, reads_version_7_records_without_aliases) {
  auto m = sample_message();
  m->envelope.params.requiretls = true;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(as_version_7(encode_envelope(*m)), back));
  EXPECT_TRUE(back.envelope.params.requiretls);
  for (const auto& r : back.envelope.recipients) EXPECT_TRUE(r.via_alias.empty() && r.alias_target.empty());
}

TEST(EnvelopeCodec, reads_version_6_records_without_tls_requests) {
  auto m = sample_message();
  m->envelope.campaign = "december";
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(as_version_6(encode_envelope(*m)), back));
  EXPECT_EQ(back.envelope.campaign, "december");
  EXPECT_FALSE(back.envelope.params.requiretls);
  std::string unknown_bits = as_version_7(encode_envelope(*m));
  unknown_bits.back() = 4;
  EXPECT_FALSE(decode_envelope(unknown_bits, back));
}

TEST(EnvelopeCodec, reads_version_5_records_without_campaign_or_tenant) {
  auto m = sample_message();
  m->held = true;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(as_version_5(encode_envelope(*m)), back));
  EXPECT_TRUE(back.held);
  EXPECT_TRUE(back.envelope.campaign.empty());
  EXPECT_TRUE(back.envelope.tenant.empty());
}

TEST(EnvelopeCodec, reads_records_of_earlier_versions) {
  auto m = sample_message();
  m->envelope.auth_user.clear();
  m->envelope.tls.clear();
  m->envelope.params.auth.clear();
  std::string record = as_version_5(encode_envelope(*m));
  // Version 5 ends with the held flag, version 4 with the delay-warned flag.
  ASSERT_EQ(record.substr(record.size() - 2), std::string(2, '\0'));
  record.erase(record.size() - 2);
  record[0] = 3;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(record, back));
  // Version 3 ends with the progress: no states, next attempt 0, no error.
  ASSERT_EQ(record.substr(record.size() - 16), std::string(16, '\0'));
  record.erase(record.size() - 16);
  record[0] = 2;
  ASSERT_TRUE(decode_envelope(record, back));
  EXPECT_TRUE(back.states.empty());
  // Version 2 adds three (here empty) strings before arrival and attempts.
  const std::size_t tail = 8 + 4;
  ASSERT_EQ(record.substr(record.size() - tail - 12, 12), std::string(12, '\0'));
  record.erase(record.size() - tail - 12, 12);
  record[0] = 1;
  ASSERT_TRUE(decode_envelope(record, back));
  EXPECT_EQ(back.envelope.recipients.size(), m->envelope.recipients.size());
  EXPECT_EQ(back.arrival_unix_seconds, m->arrival_unix_seconds);
}

TEST(EnvelopeCodec, round_trips_delivery_progress) {
  auto m = sample_message();
  m->states = {SpooledMessage::RecipientState::delivered};
  m->next_attempt_unix_seconds = 1795400000;
  m->last_error = "450 4.2.0 mailbox busy";
  m->delay_warned = true;
  m->held = true;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_TRUE(back.held);
  EXPECT_EQ(back.state(0), SpooledMessage::RecipientState::delivered);
  EXPECT_EQ(back.state(1), SpooledMessage::RecipientState::pending);
  EXPECT_EQ(back.next_attempt_unix_seconds, 1795400000);
  EXPECT_EQ(back.last_error, m->last_error);
  EXPECT_TRUE(back.delay_warned);
}

TEST(EnvelopeCodec, reads_version_4_records_as_not_held) {
  auto m = sample_message();
  m->delay_warned = true;
  std::string record = as_version_5(encode_envelope(*m));
  ASSERT_EQ(record.back(), '\0');  // the held flag, last
  record.pop_back();
  record[0] = 4;
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(record, back));
  EXPECT_TRUE(back.delay_warned);
  EXPECT_FALSE(back.held);
}

TEST(EnvelopeCodec, rejects_more_states_than_recipients_or_unknown_states) {
  auto m = sample_message();
  m->states.assign(m->envelope.recipients.size() + 1, SpooledMessage::RecipientState::pending);
  SpooledMessage back;
  EXPECT_FALSE(decode_envelope(encode_envelope(*m), back));
  m->states.assign(1, static_cast<SpooledMessage::RecipientState>(7));
  EXPECT_FALSE(decode_envelope(encode_envelope(*m), back));
}

TEST(EnvelopeCodec, round_trips_auth_and_tls) {
  auto m = sample_message();
  m->envelope.auth_user = "alice@example.org";
  m->envelope.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
  m->envelope.params.auth = "alice@example.org";
  SpooledMessage back;
  ASSERT_TRUE(decode_envelope(encode_envelope(*m), back));
  EXPECT_EQ(back.envelope.auth_user, m->envelope.auth_user);
  EXPECT_EQ(back.envelope.tls, m->envelope.tls);
  EXPECT_EQ(back.envelope.params.auth, m->envelope.params.auth);
}

TEST(EnvelopeCodec, rejects_huge_recipient_count_without_allocating) {
  auto m = sample_message();
  m->envelope.recipients.clear();
  std::string record = encode_envelope(*m);
  // The count follows: version, flag, sender, size flag+u64, body, utf8, ret, envid.
  const std::size_t at = 1 + 1 + (4 + 6) + (4 + 11) + 1 + 8 + 1 + 1 + 1 + (4 + 6);
  ASSERT_EQ(record.substr(at, 4), std::string(4, '\0'));
  record.replace(at, 4, "\xff\xff\xff\xff");
  SpooledMessage back;
  EXPECT_FALSE(decode_envelope(record, back));
}

TEST(EnvelopeCodec, random_corruption_never_crashes) {
  const std::string record = encode_envelope(*sample_message());
  std::mt19937 random(42);
  for (int round = 0; round < 20000; ++round) {
    std::string corrupt = record;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) {
      corrupt[random() % corrupt.size()] = static_cast<char>(random() & 0xff);
    }
    corrupt.resize(random() % (corrupt.size() + 1));
    SpooledMessage back;
    (void)decode_envelope(corrupt, back);  // must neither crash nor read out of bounds
  }
  SUCCEED();
}

}  // namespace
}  // namespace petrel::spool
