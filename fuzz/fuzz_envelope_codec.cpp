// Fuzzes the spool's envelope record (src/spool/envelope_codec.cpp): a
// record read back from disk may be truncated or corrupt, and must then be
// refused, never misread. A record that decodes must survive a round trip.
//
// Input: the record, as it would be read from the spool.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "spool/envelope_codec.hpp"

using namespace petrel;

namespace {

bool same_params(const smtp::MailParams& a, const smtp::MailParams& b) {
  return a.declared_size == b.declared_size && a.body == b.body && a.smtputf8 == b.smtputf8 &&
         a.ret == b.ret && a.envid == b.envid;
}

bool same_recipients(const std::vector<smtp::Recipient>& a, const std::vector<smtp::Recipient>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].forward_path == b[i].forward_path) || a[i].notify != b[i].notify || a[i].orcpt != b[i].orcpt) {
      return false;
    }
  }
  return true;
}

bool same_envelope(const spool::SpooledMessage& a, const spool::SpooledMessage& b) {
  const smtp::Envelope& x = a.envelope;
  const smtp::Envelope& y = b.envelope;
  return x.reverse_path.mailbox == y.reverse_path.mailbox && same_params(x.params, y.params) &&
         same_recipients(x.recipients, y.recipients) && x.client_address == y.client_address &&
         x.helo_name == y.helo_name && x.protocol == y.protocol && x.auth_user == y.auth_user && x.tls == y.tls &&
         x.params.auth == y.params.auth && a.arrival_unix_seconds == b.arrival_unix_seconds &&
         a.attempts == b.attempts && a.states == b.states &&
         a.next_attempt_unix_seconds == b.next_attempt_unix_seconds && a.last_error == b.last_error &&
         a.delay_warned == b.delay_warned && a.held == b.held;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view record(reinterpret_cast<const char*>(data), size);

  spool::SpooledMessage first;
  first.id.value = "UNTOUCHED";
  first.content = "content";
  if (!spool::decode_envelope(record, first)) {
    // A refused record leaves the message as it was.
    FUZZ_CHECK(first.envelope.recipients.empty() && !first.envelope.reverse_path.mailbox);
    FUZZ_CHECK(first.attempts == 0 && first.arrival_unix_seconds == 0);
    return 0;
  }
  // decode fills everything but the id and the content.
  FUZZ_CHECK(first.id.value == "UNTOUCHED" && first.content == "content");

  const std::string encoded = spool::encode_envelope(first);
  // Re-encoding a record of the current version only drops the unused SIZE
  // value; an older version gains the fields added since (empty).
  if (encoded[0] == record[0]) FUZZ_CHECK(encoded.size() <= record.size());
  spool::SpooledMessage second;
  FUZZ_CHECK(spool::decode_envelope(encoded, second));
  FUZZ_CHECK(same_envelope(first, second));
  FUZZ_CHECK(spool::encode_envelope(second) == encoded);  // the encoding is canonical
  return 0;
}
