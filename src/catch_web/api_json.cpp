#include "catch_web/api_json.hpp"

#include <stdexcept>

#include "catch/findings.hpp"

namespace petrel::catchweb {
namespace {

using nlohmann::json;

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

void common_fields(json& j, const CaughtFile& file, const Summary& summary) {
  j["id"] = file.id;
  j["folder"] = file.folder;
  j["received"] = rfc3339(file.mtime_ns / 1'000'000'000);
  j["size"] = file.size;
  j["subject"] = summary.subject;
  j["from"] = summary.from;
  j["to"] = summary.to;
  j["date"] = or_null(summary.date);
  j["url"] = message_url(file.id);
}

const json* finding(const json& findings, std::string_view id) {
  if (!findings.is_array()) return nullptr;
  for (const auto& f : findings) {
    if (f.is_object() && f.value("id", "") == id) return &f;
  }
  return nullptr;
}

json card_row(std::string_view id, std::string level, const json* found) {
  std::string title(id);
  try {
    title = std::string(catcher::title_of(id));
  } catch (const std::out_of_range&) {  // a finding this version does not know
  }
  return {{"id", id},
          {"title", title},
          {"level", std::move(level)},
          {"detail", found != nullptr && found->contains("text") ? (*found)["text"] : json(nullptr)},
          {"count", found != nullptr ? found->value("count", 1) : 0}};
}

json parts_json(const std::string& id, const MessageView& view) {
  json parts = json::array();
  for (std::size_t i = 0; i < view.parts.size(); ++i) {
    const Part& p = view.parts[i];
    json j{{"index", i},
           {"content_type", p.content_type},
           {"charset", or_null(p.charset)},
           {"disposition", or_null(p.disposition)},
           {"filename", or_null(p.filename)},
           {"size", p.size},
           {"url", message_url(id) + "/parts/" + std::to_string(i)}};
    // Text that is not an attachment is shown; the rest is downloaded.
    if (p.text && p.disposition != "attachment") {
      j["text"] = p.content;
      j["truncated"] = p.truncated;
    }
    parts.push_back(std::move(j));
  }
  return parts;
}

}  // namespace

std::string message_url(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "/api/v1/caught/";
  for (const char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

json list_item(const CaughtFile& file, const Summary& summary, const std::optional<SessionLink>& session) {
  json j;
  common_fields(j, file, summary);
  j["session"] = session ? json(session->report) : json(nullptr);
  j["verdict"] = session ? or_null(session->verdict) : json(nullptr);
  return j;
}

json card_json(const json& findings) {
  json card = json::array();
  for (const auto id : catcher::graded_ids()) {
    const json* found = finding(findings, id);
    card.push_back(card_row(id, found != nullptr ? found->value("level", "fail") : "pass", found));
  }
  if (findings.is_array()) {
    for (const auto& f : findings) {
      if (f.is_object() && f.value("level", "") == "info") card.push_back(card_row(f.value("id", ""), "info", &f));
    }
  }
  return card;
}

json message_json(const CaughtFile& file, const MessageView& view, bool truncated,
                  const std::optional<SessionLink>& session, json report) {
  json j;
  common_fields(j, file, view.summary);
  j["raw_url"] = message_url(file.id) + "/raw";
  j["truncated"] = truncated;
  json envelope = nullptr;
  if (session && report.is_object()) {
    const json& messages = report["messages"];
    if (messages.is_array() && session->message_index < messages.size()) envelope = messages[session->message_index];
    report["session"] = session->report;
    report["message_index"] = session->message_index;
    report["card"] = card_json(report["findings"]);
  } else {
    report = nullptr;
  }
  j["envelope"] = std::move(envelope);
  json headers = json::array();
  for (const auto& h : view.headers) headers.push_back({{"name", h.name}, {"value", h.value}});
  j["headers"] = std::move(headers);
  j["parts"] = parts_json(file.id, view);
  j["report"] = std::move(report);
  return j;
}

}  // namespace petrel::catchweb
