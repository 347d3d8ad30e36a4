// Record layout, version 9 (versions 1 to 8 lack the lines marked with a
// later version; they are still read). Integers are little-endian and fixed width;
// a string is a u32 length followed by its octets.
//
//   u8  version (1)
//   u8  has reverse path; if 1: string local_part, string domain
//   u8  has SIZE; u64 declared size (0 when absent)
//   u8  body; u8 smtputf8; u8 ret; string envid
//   u32 recipient count; per recipient:
//       string local_part, string domain, u8 notify, string orcpt
//   string client_address, string helo_name, string protocol
//   string auth_user, string tls, string AUTH= value      (version 2)
//   i64 arrival_unix_seconds; u32 attempts
//   u32 state count; u8 state each; i64 next_attempt_unix_seconds;
//   string last_error                                     (version 3)
//   u8 delay_warned                                       (version 4)
//   u8 held                                               (version 5)
//   string campaign, string tenant                        (version 6)
//   u8 TLS requests: 1 REQUIRETLS, 2 "TLS-Required: No"   (version 7)
//   per recipient: string via_alias, string alias_target   (version 8)
//   u64 tail_size: content octets in the body file          (version 9)
//
// The decoder checks every length against what is left, every enum against
// its range, and that nothing follows the last field.
#include "spool/envelope_codec.hpp"

#include <cstdint>
#include <cstring>

namespace petrel::spool {
namespace {

constexpr std::uint8_t current_version = 9;
constexpr std::uint8_t kRequireTls = 1;     // RFC 8689 §4
constexpr std::uint8_t kTlsRequiredNo = 2;  // RFC 8689 §5

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { little_endian(v, 4); }
  void u64(std::uint64_t v) { little_endian(v, 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  void little_endian(std::uint64_t v, int octets) {
    for (int i = 0; i < octets; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Every read fails (returns false) rather than reading past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool u8(std::uint8_t& v) {
    std::uint64_t wide = 0;
    if (!little_endian(wide, 1)) return false;
    v = static_cast<std::uint8_t>(wide);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint64_t wide = 0;
    if (!little_endian(wide, 4)) return false;
    v = static_cast<std::uint32_t>(wide);
    return true;
  }
  bool u64(std::uint64_t& v) { return little_endian(v, 8); }
  bool flag(bool& v) {
    std::uint8_t raw = 0;
    if (!u8(raw) || raw > 1) return false;
    v = raw == 1;
    return true;
  }
  bool str(std::string& s) {
    std::uint32_t size = 0;
    if (!u32(size) || size > remaining()) return false;
    s.assign(in_.substr(pos_, size));
    pos_ += size;
    return true;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  bool little_endian(std::uint64_t& v, std::size_t octets) {
    if (remaining() < octets) return false;
    v = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(in_[pos_ + i])} << (8 * i);
    }
    pos_ += octets;
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

// The smallest encoded recipient: two empty strings, notify, empty orcpt.
constexpr std::size_t min_recipient_size = 4 + 4 + 1 + 4;

void encode_address(Writer& w, const smtp::Address& a) {
  w.str(a.local_part);
  w.str(a.domain);
}

bool decode_address(Reader& r, smtp::Address& a) { return r.str(a.local_part) && r.str(a.domain); }

void encode_params(Writer& w, const smtp::MailParams& p) {
  w.u8(p.declared_size ? 1 : 0);
  w.u64(p.declared_size.value_or(0));
  w.u8(static_cast<std::uint8_t>(p.body));
  w.u8(p.smtputf8 ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(p.ret));
  w.str(p.envid);
}

bool decode_params(Reader& r, smtp::MailParams& p) {
  bool has_size = false;
  std::uint64_t size = 0;
  std::uint8_t body = 0, ret = 0;
  if (!r.flag(has_size) || !r.u64(size) || !r.u8(body) || !r.flag(p.smtputf8) || !r.u8(ret) ||
      !r.str(p.envid)) {
    return false;
  }
  if (body > static_cast<std::uint8_t>(smtp::BodyType::binary_mime)) return false;
  if (ret > static_cast<std::uint8_t>(smtp::DsnRet::headers)) return false;
  p.declared_size = has_size ? std::optional<std::uint64_t>{size} : std::nullopt;
  p.body = static_cast<smtp::BodyType>(body);
  p.ret = static_cast<smtp::DsnRet>(ret);
  return true;
}

constexpr std::uint8_t all_notify_bits =
    smtp::notify_never | smtp::notify_success | smtp::notify_failure | smtp::notify_delay;

bool decode_recipients(Reader& r, std::vector<smtp::Recipient>& recipients) {
  std::uint32_t count = 0;
  if (!r.u32(count)) return false;
  // Refuse a count the rest of the record cannot hold before allocating.
  if (count > r.remaining() / min_recipient_size) return false;
  recipients.clear();
  recipients.resize(count);
  for (auto& rcpt : recipients) {
    if (!decode_address(r, rcpt.forward_path) || !r.u8(rcpt.notify) || !r.str(rcpt.orcpt)) {
      return false;
    }
    if ((rcpt.notify & ~all_notify_bits) != 0) return false;
  }
  return true;
}

// At most one state per recipient, each a known value.
bool decode_progress(Reader& r, std::size_t recipients, std::vector<SpooledMessage::RecipientState>& states,
                     std::uint64_t& next_attempt, std::string& last_error) {
  std::uint32_t count = 0;
  if (!r.u32(count) || count > recipients) return false;
  states.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint8_t raw = 0;
    if (!r.u8(raw) || raw > static_cast<std::uint8_t>(SpooledMessage::RecipientState::failed)) return false;
    states.push_back(static_cast<SpooledMessage::RecipientState>(raw));
  }
  return r.u64(next_attempt) && r.str(last_error);
}

}  // namespace

std::string encode_envelope(const SpooledMessage& m) {
  const smtp::Envelope& e = m.envelope;
  Writer w;
  w.u8(current_version);
  w.u8(e.reverse_path.is_null() ? 0 : 1);
  if (!e.reverse_path.is_null()) encode_address(w, *e.reverse_path.mailbox);
  encode_params(w, e.params);
  w.u32(static_cast<std::uint32_t>(e.recipients.size()));
  for (const auto& rcpt : e.recipients) {
    encode_address(w, rcpt.forward_path);
    w.u8(rcpt.notify);
    w.str(rcpt.orcpt);
  }
  w.str(e.client_address);
  w.str(e.helo_name);
  w.str(e.protocol);
  w.str(e.auth_user);
  w.str(e.tls);
  w.str(e.params.auth);
  w.u64(static_cast<std::uint64_t>(m.arrival_unix_seconds));
  w.u32(m.attempts);
  w.u32(static_cast<std::uint32_t>(m.states.size()));
  for (auto state : m.states) w.u8(static_cast<std::uint8_t>(state));
  w.u64(static_cast<std::uint64_t>(m.next_attempt_unix_seconds));
  w.str(m.last_error);
  w.u8(m.delay_warned ? 1 : 0);
  w.u8(m.held ? 1 : 0);
  w.str(e.campaign);
  w.str(e.tenant);
  w.u8(static_cast<std::uint8_t>((e.params.requiretls ? kRequireTls : 0) | (e.tls_required_no ? kTlsRequiredNo : 0)));
  // At the end, so that the older fields keep their places.
  for (const auto& rcpt : e.recipients) {
    w.str(rcpt.via_alias);
    w.str(rcpt.alias_target);
  }
  w.u64(m.tail_size);
  return w.take();
}

bool decode_envelope(std::string_view record, SpooledMessage& m) {
  Reader r(record);
  std::uint8_t version = 0;
  if (!r.u8(version) || version < 1 || version > current_version) return false;

  // Decode into a scratch envelope so that m is untouched on failure.
  smtp::Envelope e;
  bool has_reverse_path = false;
  if (!r.flag(has_reverse_path)) return false;
  if (has_reverse_path) {
    smtp::Address sender;
    if (!decode_address(r, sender)) return false;
    e.reverse_path.mailbox = std::move(sender);
  }
  if (!decode_params(r, e.params) || !decode_recipients(r, e.recipients)) return false;
  if (!r.str(e.client_address) || !r.str(e.helo_name) || !r.str(e.protocol)) return false;
  if (version >= 2 && (!r.str(e.auth_user) || !r.str(e.tls) || !r.str(e.params.auth))) return false;
  std::uint64_t arrival = 0;
  std::uint32_t attempts = 0;
  if (!r.u64(arrival) || !r.u32(attempts)) return false;
  std::vector<SpooledMessage::RecipientState> states;
  std::uint64_t next_attempt = 0;
  std::string last_error;
  if (version >= 3 && !decode_progress(r, e.recipients.size(), states, next_attempt, last_error)) return false;
  bool delay_warned = false;
  if (version >= 4 && !r.flag(delay_warned)) return false;
  bool held = false;
  if (version >= 5 && !r.flag(held)) return false;
  if (version >= 6 && (!r.str(e.campaign) || !r.str(e.tenant))) return false;
  std::uint8_t tls_requests = 0;
  if (version >= 7 && (!r.u8(tls_requests) || tls_requests > (kRequireTls | kTlsRequiredNo))) return false;
  for (auto& rcpt : e.recipients) {
    if (version >= 8 && (!r.str(rcpt.via_alias) || !r.str(rcpt.alias_target))) return false;
  }
  e.params.requiretls = (tls_requests & kRequireTls) != 0;
  e.tls_required_no = (tls_requests & kTlsRequiredNo) != 0;
  std::uint64_t tail_size = 0;
  if (version >= 9 && !r.u64(tail_size)) return false;
  if (r.remaining() != 0) return false;

  m.envelope = std::move(e);
  m.arrival_unix_seconds = static_cast<std::int64_t>(arrival);
  m.attempts = attempts;
  m.states = std::move(states);
  m.next_attempt_unix_seconds = static_cast<std::int64_t>(next_attempt);
  m.last_error = std::move(last_error);
  m.delay_warned = delay_warned;
  m.held = held;
  m.tail_size = tail_size;
  return true;
}

}  // namespace petrel::spool
