#include "api/compose.hpp"

#include "mime/message.hpp"
#include "smtp/submission_headers.hpp"
#include "template/template.hpp"

namespace petrel::api {
namespace {

using nlohmann::json;

struct Field {
  std::string pointer;
  std::optional<tmpl::Template> compiled;  // nullopt: empty or no tags
  std::string text;                         // when it has no tags
};

// Compiles one template field; a problem for the caller when it fails.
std::optional<http::Problem> compile(Field& field, const std::string& pointer, const std::string& text,
                                     tmpl::Escape escape) {
  field.pointer = pointer;
  field.text = text;
  if (text.find("{{") == std::string::npos) return std::nullopt;
  tmpl::Error error;
  field.compiled = tmpl::Template::compile(text, escape, error);
  if (field.compiled) return std::nullopt;
  http::Problem p{422, "Unprocessable Content", "template error in " + pointer + ": " + error.message, pointer};
  p.line = error.line;
  p.column = error.column;
  return p;
}

std::string render(Field& field, const json& vars) {
  return field.compiled ? field.compiled->render(vars) : field.text;
}

std::string mailbox(std::string_view name, std::string_view email) {
  if (name.empty()) return std::string(email);
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + std::string(email) + ">";
}

std::string domain_of(std::string_view email) {
  const auto at = email.rfind('@');
  return at == std::string_view::npos ? "" : std::string(email.substr(at + 1));
}

// Bare LF or CR in a raw message become CRLF, and a header section
// without an end gets its empty line.
std::string crlf_message(std::string_view text) {
  std::string out = mime::crlf_lines(text);
  if (out.find("\r\n\r\n") == std::string::npos) out += "\r\n";
  return out;
}

// Fields go before the raw message's first line (its header section).
std::string with_fields(const std::string& message, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string front;
  for (const auto& [name, value] : fields) front += mime::fold_header(name, value);
  front += message;
  return front;
}

}  // namespace

std::string one_line(std::string value) {
  for (char& c : value) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return value;
}

struct Composer::Impl {
  const InjectRequest* request = nullptr;
  Field subject, text, html, raw;
  std::vector<Field> headers;
};

Composer::Composer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Composer::Composer(Composer&&) noexcept = default;
Composer& Composer::operator=(Composer&&) noexcept = default;
Composer::~Composer() = default;

std::variant<Composer, http::Problem> Composer::make(const InjectRequest& request) {
  auto impl = std::make_unique<Impl>();
  impl->request = &request;
  if (request.raw) {
    if (auto p = compile(impl->raw, "/raw", *request.raw, tmpl::Escape::none)) return *p;
    return Composer(std::move(impl));
  }
  if (auto p = compile(impl->subject, "/subject", request.subject, tmpl::Escape::none)) return *p;
  if (auto p = compile(impl->text, "/text", request.text, tmpl::Escape::none)) return *p;
  if (auto p = compile(impl->html, "/html", request.html, tmpl::Escape::html)) return *p;
  impl->headers.resize(request.headers.size());
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    if (auto p = compile(impl->headers[i], "/headers/" + http::pointer_token(name), value, tmpl::Escape::none)) return *p;
  }
  return Composer(std::move(impl));
}

std::string Composer::compose(const RecipientSpec& recipient,
                              const std::vector<std::pair<std::string, std::string>>& extra, std::time_t now,
                              std::uint64_t random, std::string_view hostname, std::string_view queue_id) {
  const InjectRequest& request = *impl_->request;
  json vars = request.vars;
  for (auto it = recipient.vars.begin(); it != recipient.vars.end(); ++it) vars[it.key()] = it.value();
  vars["email"] = recipient.email;
  vars["name"] = recipient.name;

  if (request.raw) {
    std::string message = crlf_message(render(impl_->raw, vars));
    const std::string missing = smtp::missing_submission_headers(message, hostname, queue_id, now);
    return with_fields(missing + message, extra);
  }
  mime::MessageSpec spec;
  spec.from = mailbox(request.from->name, request.from->email);
  spec.to = {mailbox(one_line(recipient.name), one_line(recipient.email))};
  spec.subject = one_line(render(impl_->subject, vars));
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    spec.headers.emplace_back(request.headers[i].first, one_line(render(impl_->headers[i], vars)));
  }
  for (const auto& h : extra) spec.headers.push_back(h);
  spec.body = render(impl_->text, vars);
  spec.html = render(impl_->html, vars);
  for (const auto& a : request.attachments) spec.attachments.push_back({a.filename, a.content_type, a.data});
  spec.date = mime::rfc5322_date(now);
  spec.message_id = mime::make_message_id(now, random, domain_of(request.from->email));
  spec.boundary = mime::make_boundary(random ^ 0x9e3779b97f4a7c15ULL);
  return mime::build_message(spec);
}

}  // namespace petrel::api
