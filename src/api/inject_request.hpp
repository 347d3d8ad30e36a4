// POST /api/v1/messages: the request body, read and checked without I/O.
// docs/api.md documents every field. Errors are RFC 9457 problems whose
// pointer (RFC 6901) names the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "http/message.hpp"
#include "smtp/address.hpp"

namespace petrel::api {

struct Mailbox {
  std::string email;
  std::string name;  // display name, may be empty
};

struct RecipientSpec {
  std::string email;
  std::string name;
  nlohmann::json vars;  // an object (possibly empty)
};

struct AttachmentSpec {
  std::string filename;
  std::string content_type;
  std::string data;  // decoded from data_base64
};

struct InjectRequest {
  smtp::Address envelope_sender;
  std::optional<Mailbox> from;  // builder: required; raw: absent
  std::vector<RecipientSpec> recipients;
  // Builder fields (templates) ...
  std::string subject, text, html;
  std::vector<std::pair<std::string, std::string>> headers;  // values are templates too
  std::vector<AttachmentSpec> attachments;
  // ... or a whole message (template), instead of them.
  std::optional<std::string> raw;
  nlohmann::json vars = nlohmann::json::object();  // shared by every recipient; theirs win
  std::string campaign, tenant, idempotency_key;
  std::optional<bool> unsubscribe;  // absent: the campaign's configuration decides
};

struct InjectLimits {
  std::size_t max_recipients = 10000;
  std::size_t max_depth = 16;  // JSON nesting
};

// The body parsed and checked: the request, or the problem to reply with
// (400 with a pointer, 413 for too many recipients, 415 for another type).
std::variant<InjectRequest, http::Problem> parse_inject_request(std::string_view body, const InjectLimits& limits);

// An address from the API: "local@domain", no angle brackets, UTF-8
// allowed (RFC 6531). Empty string when it parses, else why not.
std::string check_email(std::string_view email, smtp::Address& out);

}  // namespace petrel::api
