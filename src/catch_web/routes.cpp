#include "catch_web/routes.hpp"

#include <charconv>

#include "catch_web/api_json.hpp"
#include "catch_web/assets.hpp"
#include "catch_web/mime_view.hpp"

namespace petrel::catchweb {
namespace {

using nlohmann::json;
using http::Problem;

constexpr std::string_view kApi = "/api/v1/caught";
constexpr std::string_view kStatic = "/static/";

// The page and the JSON: only this origin's files, no framing.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";
// A caught message's HTML or attachment: a sandbox, an origin of its own
// (no script runs, none reaches the page), nothing fetched from anywhere.
constexpr std::string_view kCaughtPolicy =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

http::Response problem(unsigned status, const char* title, std::string detail, std::string pointer = "") {
  return to_response(Problem{status, title, std::move(detail), std::move(pointer)});
}

http::Response not_found(const http::Request& request) {
  return problem(404, "Not Found", "no such path: " + request.path);
}

bool has_header(const http::Response& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.first == name) return true;
  }
  return false;
}

// The headers of every response; a handler's own Content-Security-Policy
// (a caught part's) stands.
void secure_headers(http::Response& r) {
  const bool caught = has_header(r, "Content-Security-Policy");
  if (!caught) r.headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", caught ? "SAMEORIGIN" : "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

// "attachment; filename=\"x.eml\"": the name is an id or a part's, reduced
// to characters that need no quoting.
std::string attachment(std::string_view name) {
  std::string safe;
  for (const char c : name.substr(0, 200)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-';
    safe += plain ? c : '_';
  }
  return "attachment; filename=\"" + (safe.empty() ? std::string("part") : safe) + "\"";
}

// A media type as a part declares it, if it is a plain type/subtype token.
std::string sane_media_type(const std::string& type) {
  const auto slash = type.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == type.size() || type.size() > 100) {
    return "application/octet-stream";
  }
  for (const char c : type) {
    const bool token = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '+' || c == '-';
    if (!token) return "application/octet-stream";
  }
  return type;
}

}  // namespace

http::Response Routes::handle(const http::Request& request) {
  http::Response r = route(request);
  secure_headers(r);
  return r;
}

http::Response Routes::route(const http::Request& request) {
  if (request.method != "GET") {
    auto r = problem(405, "Method Not Allowed", "the web view is read-only: GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (request.path == "/" || request.path.starts_with(kStatic)) {
    const Asset* asset = find_asset(request.path == "/" ? "index.html" : request.path.substr(kStatic.size()));
    if (asset == nullptr) return not_found(request);
    http::Response r;
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->body);
    return r;
  }
  if (request.path == kApi) return list(request);
  if (!request.path.starts_with(std::string(kApi) + "/")) return not_found(request);
  // /api/v1/caught/{id}[/raw | /parts/{n}]
  std::string_view rest = std::string_view(request.path).substr(kApi.size() + 1);
  const auto slash = rest.find('/');
  const auto id = http::percent_decode(rest.substr(0, slash));
  if (!id || !valid_id(*id)) return problem(404, "Not Found", "no caught message has that id", "/id");
  const auto file = store_.find(*id);
  if (!file) return problem(404, "Not Found", "no caught message has that id", "/id");
  const std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (tail.empty()) return message(*file);
  if (tail == "/raw") return raw(*file);
  if (tail.starts_with("/parts/")) return part(*file, tail.substr(7));
  return not_found(request);
}

http::Response Routes::list(const http::Request& request) {
  std::string field;
  const auto paging = parse_paging(request.query, field);
  if (!paging) {
    return problem(400, "Bad Request", field + " must be a number" + (field == "limit" ? " from 1 to 1000" : ""),
                   "/" + field);
  }
  const Listing listing = store_.list(paging->limit, paging->offset);
  store_.refresh();
  json items = json::array();
  for (const auto& file : listing.files) {
    items.push_back(list_item(file, summarize(store_.read_head(file)), store_.session_of(file.id)));
  }
  const json doc{{"total", listing.total},
                 {"offset", paging->offset},
                 {"limit", paging->limit},
                 {"truncated", listing.truncated},
                 {"messages", std::move(items)}};
  return http::json_response(200, doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

http::Response Routes::message(const CaughtFile& file) {
  bool truncated = false;
  const std::string bytes = store_.read(file, kMaxParsed, truncated);
  store_.refresh();
  const auto session = store_.session_of(file.id);
  json report = session ? store_.report(*session) : json(nullptr);
  const json doc = message_json(file, view_message(bytes, kMaxParsed), truncated, session, std::move(report));
  return http::json_response(200, doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

http::Response Routes::raw(const CaughtFile& file) {
  http::Response r;
  r.content_type = "message/rfc822";
  r.file = store_.path(file).string();  // streamed by the listener, whatever its size
  r.headers.emplace_back("Content-Disposition", attachment(file.id + ".eml"));
  r.headers.emplace_back("Content-Security-Policy", std::string(kCaughtPolicy));
  return r;
}

http::Response Routes::part(const CaughtFile& file, std::string_view index_text) {
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
  if (ec != std::errc() || end != index_text.data() + index_text.size()) {
    return problem(404, "Not Found", "no such part", "/part");
  }
  bool truncated = false;
  const std::string bytes = store_.read(file, kMaxParsed, truncated);
  MessageView view = view_message(bytes, kMaxParsed);
  if (index >= view.parts.size()) return problem(404, "Not Found", "the message has no part " + std::string(index_text), "/part");
  Part& p = view.parts[index];
  http::Response r;
  r.body = std::move(p.content);
  r.headers.emplace_back("Content-Security-Policy", std::string(kCaughtPolicy));
  if (p.content_type == "text/html") {
    r.content_type = "text/html; charset=utf-8";  // converted from its charset; shown in the page's sandboxed frame
  } else {
    r.content_type = p.text ? p.content_type + "; charset=utf-8" : sane_media_type(p.content_type);
    r.headers.emplace_back("Content-Disposition",
                           attachment(p.filename.empty() ? file.id + ".part" + std::to_string(index) : p.filename));
  }
  return r;
}

}  // namespace petrel::catchweb
