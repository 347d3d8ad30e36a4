// Events on NATS JetStream (docs/cluster.md), the pure part: which subject
// an event goes to, which stream subjects cover them all, and what of an
// outbox event's JSON the publisher needs. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::nats {

// The subjects of all events, and the stream made when none covers them.
inline constexpr std::string_view kEventsWildcard = "petrel.events.>";
inline constexpr std::string_view kStreamName = "PETREL_EVENTS";

// One subject token from free text: '.', '*', '>', white space and control
// characters (which NATS subjects cannot hold in a token) become '_'; ""
// becomes "_".
std::string subject_token(std::string_view text);

// "petrel.events.<tenant>.<type>", tenant "default" when there is none.
std::string event_subject(std::string_view tenant, std::string_view type);

// Whether a stream with subject filter `filter` stores every subject that
// `wildcard` matches: "petrel.events.>", "petrel.>", "petrel.*.>" and ">"
// cover "petrel.events.>"; "petrel.events.*" and "petrel.events.a.>" do not.
bool covers(std::string_view filter, std::string_view wildcard);

// What the publisher reads from an event of the outbox (its JSON line).
struct EventRoute {
  std::string event_id;
  std::string subject;
};
std::optional<EventRoute> route_of(std::string_view json);

}  // namespace petrel::nats
