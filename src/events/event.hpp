// What happened to mail, as events (docs/events.md): one per reception,
// delivery attempt outcome, bounce, expiry, suppression, unsubscribe,
// complaint and operator action. The event log writes them as JSON lines,
// webhooks send them in batches, the dashboard counts them. Plain data and
// its JSON form; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::events {

enum class Type {
  Reception,         // a message was accepted (250) and stored
  Delivery,          // a recipient was delivered (remote 250, or into a mailbox)
  TransientFailure,  // an attempt for a recipient failed temporarily: tried again later
  Bounce,            // a recipient failed for good (5xx, or unroutable)
  Expiration,        // a recipient stayed queued past max_queue_lifetime
  Suppression,       // an address was put on (or taken off) the suppression list
  Unsubscribe,       // a recipient used an unsubscribe link or mailto
  Complaint,         // a feedback-loop report (ARF) named a recipient
  AdminAction,       // an operator held, released, deleted, flushed, suspended or resumed
};

std::string_view type_name(Type type);
std::optional<Type> type_named(std::string_view name);

// A server's reply: "250 2.0.0 Ok" as {250, "2.0.0", "Ok"}.
struct Response {
  int code = 0;
  std::string enhanced_code;  // "" when the reply has none
  std::string text;
};
Response parse_response(std::string_view reply);

struct Event {
  Type type = Type::Reception;
  std::string event_id;         // unique, and the same each time this event is sent again
  std::int64_t timestamp_ms = 0;  // unix milliseconds
  std::string queue_id;
  std::string sender;     // reverse path, "" for the null sender
  std::string recipient;  // forward path
  std::string campaign;
  std::string tenant;
  std::string site;         // the destination's site (MX host set), "local" for a mailbox
  std::string domain;       // the recipient's domain
  std::string mx_host;      // "mx1.example.org[192.0.2.1]:25"
  std::string peer_address;  // the remote server's address (deliveries)
  std::string source;       // egress source
  std::string tls;          // "TLSv1.3/TLS_AES_256_GCM_SHA384", "" in the clear
  std::optional<Response> response;
  std::string bounce_class;
  std::optional<std::uint32_t> attempt;
  std::optional<std::uint64_t> size;
  std::optional<std::int64_t> queue_time_ms;
  std::string listener;        // receptions: "127.0.0.1:25", "api"
  std::string client_address;  // receptions: the client's IP
  std::string detail;          // admin actions, suppressions: what and why, in words
};

// The event as one line of JSON, '\n'-terminated. Fields that do not apply
// (empty, unset) are left out.
std::string to_json_line(const Event& event);
// RFC 3339 UTC with milliseconds: "2026-12-07T03:04:05.678Z".
std::string rfc3339_ms(std::int64_t unix_ms);
std::int64_t now_ms();
// A new random event ID (32 hex digits) for an event that is not tied to
// one attempt of one message.
std::string random_event_id();

}  // namespace petrel::events
