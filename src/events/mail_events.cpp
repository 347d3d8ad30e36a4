#include "events/mail_events.hpp"

#include <fmt/format.h>

#include "events/outbox.hpp"

namespace petrel::events {
namespace {

void envelope_fields(Event& e, const spool::SpooledMessage& m) {
  e.timestamp_ms = now_ms();
  e.queue_id = m.id.value;
  e.sender = m.envelope.reverse_path.mailbox ? m.envelope.reverse_path.mailbox->str() : "";
  e.campaign = m.envelope.campaign;
  e.tenant = m.envelope.tenant;
  if (!m.content.empty()) e.size = m.content.size() + m.tail_size;
}

}  // namespace

bool wanted() { return listened() || outbox() != nullptr; }

Event reception(const spool::SpooledMessage& m, std::string listener, std::string client_address) {
  Event e;
  e.type = Type::Reception;
  envelope_fields(e, m);
  e.event_id = m.id.value + ".r";
  e.listener = std::move(listener);
  e.client_address = std::move(client_address);
  e.queue_time_ms = 0;
  return e;
}

Event recipient_event(Type type, const spool::SpooledMessage& m, std::size_t recipient, std::uint32_t attempt,
                      const std::string& reply) {
  Event e;
  e.type = type;
  envelope_fields(e, m);
  e.event_id = fmt::format("{}.{}.{}.{}", m.id.value, recipient, attempt, type_name(type).front());
  if (recipient < m.envelope.recipients.size()) {
    e.recipient = m.envelope.recipients[recipient].forward_path.str();
    if (const auto at = e.recipient.rfind('@'); at != std::string::npos) e.domain = e.recipient.substr(at + 1);
  }
  e.attempt = attempt;
  if (!reply.empty()) e.response = parse_response(reply);
  e.queue_time_ms = std::max<std::int64_t>(0, e.timestamp_ms - m.arrival_unix_seconds * 1000);
  return e;
}

}  // namespace petrel::events
