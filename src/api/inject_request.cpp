#include "api/inject_request.hpp"

#include "mime/message.hpp"
#include "smtp/transfer_encoding.hpp"

namespace petrel::api {
namespace {

using nlohmann::json;
using http::Problem;

// Thrown inside the parser; becomes a 400 (or 413) naming the field.
struct BadField {
  Problem problem;
};

[[noreturn]] void bad(std::string pointer, std::string detail, unsigned status = 400) {
  throw BadField{Problem{status, status == 413 ? "Content Too Large" : "Bad Request", std::move(detail), std::move(pointer)}};
}

const json* member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string take_string(json& object, const char* name, const std::string& at, bool required = false) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    if (required) bad(at + "/" + name, std::string("'") + name + "' is required");
    return "";
  }
  if (!it->is_string()) bad(at + "/" + name, std::string("'") + name + "' must be a string");
  return std::move(it->get_ref<std::string&>());
}

json take_vars(json& object, const char* name, const std::string& at) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return json::object();
  if (!it->is_object()) bad(at + "/" + name, std::string("'") + name + "' must be an object of template variables");
  return std::move(*it);
}

Mailbox take_from(json& body) {
  auto it = body.find("from");
  if (it == body.end() || it->is_null()) bad("/from", "'from' is required with the builder fields (or send 'raw')");
  Mailbox m;
  if (it->is_string()) {
    m.email = std::move(it->get_ref<std::string&>());
  } else if (it->is_object()) {
    m.email = take_string(*it, "email", "/from", true);
    m.name = take_string(*it, "name", "/from");
  } else {
    bad("/from", "'from' must be {\"email\": ..., \"name\": ...} or an address");
  }
  smtp::Address ignored;
  if (const std::string why = check_email(m.email, ignored); !why.empty()) bad("/from/email", why);
  if (m.name.find_first_of("\r\n") != std::string::npos) bad("/from/name", "a name cannot hold a line break");
  return m;
}

std::vector<RecipientSpec> take_recipients(json& body, const InjectLimits& limits) {
  auto it = body.find("recipients");
  if (it == body.end() || !it->is_array() || it->empty()) {
    bad("/recipients", "'recipients' must be a non-empty array of {\"email\": ...}");
  }
  if (it->size() > limits.max_recipients) {
    bad("/recipients",
        "at most " + std::to_string(limits.max_recipients) + " recipients per request ([http] max_recipients); split the list",
        413);
  }
  std::vector<RecipientSpec> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    json& r = (*it)[i];
    const std::string at = "/recipients/" + std::to_string(i);
    if (r.is_string()) {
      out.push_back({std::move(r.get_ref<std::string&>()), "", json::object()});
      continue;
    }
    if (!r.is_object()) bad(at, "a recipient must be {\"email\": ..., \"name\": ..., \"vars\": {...}} or an address");
    RecipientSpec spec{take_string(r, "email", at, true), take_string(r, "name", at), take_vars(r, "vars", at)};
    out.push_back(std::move(spec));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> take_headers(json& body) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = body.find("headers");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) bad("/headers", "'headers' must be an object of \"Name\": \"value\"");
  for (auto h = it->begin(); h != it->end(); ++h) {
    const std::string at = "/headers/" + http::pointer_token(h.key());
    if (!h->is_string()) bad(at, "a header value must be a string");
    const std::string why = mime::check_header(h.key(), h->get_ref<const std::string&>());
    if (!why.empty()) bad(at, why);
    out.emplace_back(h.key(), std::move(h->get_ref<std::string&>()));
  }
  return out;
}

std::vector<AttachmentSpec> take_attachments(json& body) {
  std::vector<AttachmentSpec> out;
  auto it = body.find("attachments");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) bad("/attachments", "'attachments' must be an array");
  for (std::size_t i = 0; i < it->size(); ++i) {
    json& a = (*it)[i];
    const std::string at = "/attachments/" + std::to_string(i);
    if (!a.is_object()) bad(at, "an attachment must be {\"filename\", \"content_type\", \"data_base64\"}");
    AttachmentSpec spec;
    spec.filename = take_string(a, "filename", at, true);
    spec.content_type = take_string(a, "content_type", at);
    if (spec.content_type.empty()) spec.content_type = mime::content_type_for(spec.filename);
    if (spec.content_type.find_first_of("\r\n;\"") != std::string::npos || spec.content_type.find('/') == std::string::npos) {
      bad(at + "/content_type", "a MIME type such as \"application/pdf\"");
    }
    if (spec.filename.find_first_of("\r\n") != std::string::npos) bad(at + "/filename", "a file name cannot hold a line break");
    const std::string data = take_string(a, "data_base64", at, true);
    auto decoded = smtp::decode_base64(data);
    if (!decoded) bad(at + "/data_base64", "not valid base64");
    spec.data = std::move(*decoded);
    out.push_back(std::move(spec));
  }
  return out;
}

std::optional<bool> take_bool(json& body, const char* name) {
  const json* v = member(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad(std::string("/") + name, std::string("'") + name + "' must be true or false");
  return v->get<bool>();
}

// Campaign and tenant names go into logs, the envelope and URLs.
std::string take_name(json& body, const char* name) {
  std::string value = take_string(body, name, "");
  if (value.size() > 64 || value.find_first_of(" \t\r\n\"\\/<>") != std::string::npos) {
    bad(std::string("/") + name, std::string("'") + name + "' must be at most 64 characters without spaces, quotes, slashes or <>");
  }
  return value;
}

constexpr const char* kKnown[] = {"envelope_sender", "from", "recipients", "subject", "text", "html", "headers",
                                  "attachments", "raw", "vars", "campaign", "tenant", "idempotency_key", "unsubscribe"};

InjectRequest read(json& body, const InjectLimits& limits) {
  if (!body.is_object()) bad("", "the body must be a JSON object");
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(std::begin(kKnown), std::end(kKnown), it.key()) == std::end(kKnown)) {
      bad("/" + http::pointer_token(it.key()), "unknown field '" + it.key() + "'");
    }
  }
  InjectRequest r;
  const std::string sender = take_string(body, "envelope_sender", "", true);
  if (const std::string why = check_email(sender, r.envelope_sender); !why.empty()) bad("/envelope_sender", why);
  r.recipients = take_recipients(body, limits);
  if (const json* raw = member(body, "raw")) {
    if (!raw->is_string() || raw->get_ref<const std::string&>().empty()) bad("/raw", "'raw' must be a non-empty message");
    for (const char* builder : {"from", "subject", "text", "html", "headers", "attachments"}) {
      if (member(body, builder)) bad(std::string("/") + builder, std::string("'") + builder + "' cannot go with 'raw'");
    }
    r.raw = take_string(body, "raw", "");
  } else {
    r.from = take_from(body);
    r.subject = take_string(body, "subject", "");
    r.text = take_string(body, "text", "");
    r.html = take_string(body, "html", "");
    if (r.text.empty() && r.html.empty()) bad("/text", "give 'text', 'html' or both (or a whole message as 'raw')");
    if (r.subject.find_first_of("\r\n") != std::string::npos) bad("/subject", "a subject cannot hold a line break");
    r.headers = take_headers(body);
    r.attachments = take_attachments(body);
  }
  r.vars = take_vars(body, "vars", "");
  r.campaign = take_name(body, "campaign");
  r.tenant = take_name(body, "tenant");
  r.idempotency_key = take_string(body, "idempotency_key", "");
  if (r.idempotency_key.size() > 200) bad("/idempotency_key", "at most 200 characters");
  r.unsubscribe = take_bool(body, "unsubscribe");
  return r;
}

}  // namespace

std::string check_email(std::string_view email, smtp::Address& out) {
  if (email.empty()) return "an address is required";
  if (email.find_first_of("<> \t\r\n") != std::string_view::npos) return "'" + std::string(email) + "' is not an address (local@domain, no <>)";
  const auto parsed = smtp::parse_path("<" + std::string(email) + ">", false, true);
  if (parsed.error != smtp::AddressError::none) {
    return "'" + std::string(email) + "' is not an address: " + std::string(smtp::describe(parsed.error));
  }
  if (parsed.consumed != email.size() + 2 || !parsed.path.mailbox || parsed.path.mailbox->domain.empty()) {
    return "'" + std::string(email) + "' is not an address (local@domain)";
  }
  out = *parsed.path.mailbox;
  return "";
}

std::variant<InjectRequest, Problem> parse_inject_request(std::string_view body, const InjectLimits& limits) {
  json document;
  try {
    const std::size_t max_depth = limits.max_depth;
    document = json::parse(body, [max_depth](int depth, json::parse_event_t, json&) {
      if (static_cast<std::size_t>(depth) > max_depth) bad("", "JSON nested deeper than " + std::to_string(max_depth));
      return true;
    });
  } catch (const BadField& e) {
    return e.problem;
  } catch (const json::parse_error& e) {
    return Problem{400, "Bad Request", "malformed JSON at byte " + std::to_string(e.byte)};
  } catch (const json::exception& e) {  // a number out of range (1e999) and the like
    return Problem{400, "Bad Request", std::string("unusable JSON: ") + e.what()};
  }
  try {
    return read(document, limits);
  } catch (const BadField& e) {
    return e.problem;
  }
}

}  // namespace petrel::api
