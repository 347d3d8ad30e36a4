// Events about a spooled message, built the same way by everyone who
// emits them: the SMTP sessions and the API (Reception), the queue
// (Delivery, TransientFailure, Bounce, Expiration). emit() skips the work
// when nothing listens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "events/bus.hpp"
#include "events/event.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::events {

// A message accepted: event_id "QID.r".
Event reception(const spool::SpooledMessage& message, std::string listener, std::string client_address);

// What became of one recipient at one attempt (1 for the first): event_id
// "QID.RECIPIENT.ATTEMPT.T" (T: the type's initial), so the event of one
// attempt keeps its ID however often it is sent, and the next attempt's
// differs. `reply` is the whole reply text ("550 5.1.1 ...").
Event recipient_event(Type type, const spool::SpooledMessage& message, std::size_t recipient, std::uint32_t attempt,
                      const std::string& reply);

inline bool listened() { return !bus().empty(); }
// Whether an event is worth building: something listens, or webhooks
// keep events in the outbox.
bool wanted();
inline void emit(const Event& event) { bus().emit(event); }

}  // namespace petrel::events
