// The JSON of petrel catch's web API (docs/petrel-catch.md, HTTP): pure
// functions from what the store and the MIME view found.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "catch_web/caught.hpp"
#include "catch_web/mime_view.hpp"
#include "catch_web/store.hpp"

namespace petrel::catchweb {

// "/api/v1/caught/ID", the id percent-encoded but for A-Z a-z 0-9 . _ -.
std::string message_url(std::string_view id);

// One entry of GET /api/v1/caught.
nlohmann::json list_item(const CaughtFile& file, const Summary& summary, const std::optional<SessionLink>& session);

// GET /api/v1/caught/{id}. report: the session's report as written, or
// null; it comes back with "session" (its name), "message_index" and
// "card" added.
nlohmann::json message_json(const CaughtFile& file, const MessageView& view, bool truncated,
                            const std::optional<SessionLink>& session, nlohmann::json report);

// The report card of a report's findings[]: a row per graded rule (level
// "pass" when not found) in the catalogue's order, then the facts ("info").
// Each row: id, title, level, detail (the finding's text, or null), count.
nlohmann::json card_json(const nlohmann::json& findings);

}  // namespace petrel::catchweb
