#include "delivery/bounce.hpp"

#include "smtp/received_header.hpp"
#include "spool/queue_id.hpp"

namespace petrel::delivery {
namespace {

// A bounce that could not be delivered goes to the postmaster's address of
// choice, as a plain report with the original attached (RFC 5321 §6.1:
// never back to <>).
std::shared_ptr<spool::SpooledMessage> double_bounce(const BounceRequest& request) {
  if (request.double_bounce.empty() || request.kind != DsnKind::failure) return nullptr;
  const auto at = request.double_bounce.rfind('@');
  if (at == std::string::npos) return nullptr;
  // A double bounce that fails is not reported again: that would be a
  // loop, each failure making the next (Postfix drops it too).
  const smtp::Address postmaster{request.double_bounce.substr(0, at), request.double_bounce.substr(at + 1)};
  for (const auto& r : request.original.envelope.recipients) {
    if (r.forward_path.str() == postmaster.str()) return nullptr;
  }
  smtp::Envelope addressed = request.original.envelope;
  addressed.reverse_path.mailbox = smtp::Address{"MAILER-DAEMON", request.hostname};
  DsnInput input{DsnKind::failure, request.hostname, request.original.id, addressed,
                 request.original.content, static_cast<std::time_t>(request.original.arrival_unix_seconds),
                 request.now, request.recipients};
  Dsn dsn = make_dsn(input);
  auto message = std::make_shared<spool::SpooledMessage>();
  message->id = spool::make_queue_id();
  message->arrival_unix_seconds = request.now;
  message->envelope = dsn_envelope(addressed, dsn);
  message->envelope.recipients.front().forward_path = postmaster;
  message->content = std::move(dsn.content);
  return message;
}

}  // namespace

std::shared_ptr<spool::SpooledMessage> make_bounce(const BounceRequest& request) {
  const smtp::Envelope& original = request.original.envelope;
  if (!may_send_dsn(original)) return double_bounce(request);
  std::vector<RecipientStatus> wanted;
  for (const auto& r : request.recipients) {
    if (wants_dsn(r.recipient, request.kind)) wanted.push_back(r);
  }
  if (wanted.empty()) return nullptr;
  DsnInput input{request.kind,
                 request.hostname,
                 request.original.id,
                 original,
                 request.original.content,
                 static_cast<std::time_t>(request.original.arrival_unix_seconds),
                 request.now,
                 std::move(wanted)};
  Dsn dsn = make_dsn(input);
  auto message = std::make_shared<spool::SpooledMessage>();
  message->id = spool::make_queue_id();
  message->arrival_unix_seconds = request.now;
  message->envelope = dsn_envelope(original, dsn);
  message->envelope.protocol = "local";
  message->content = std::move(dsn.content);
  return message;
}

}  // namespace petrel::delivery
