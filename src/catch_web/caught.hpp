// The caught messages as the web view of petrel catch names them: ids,
// paging, times. Pure functions, no I/O (tests/unit/catch_web).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::catchweb {

// A caught message is a file in the Maildir's new/ or cur/. Its id is the
// file name without the ":2,FLAGS" info a mail reader appends when it
// moves the file to cur/, so the id stays the same across that move.
struct CaughtFile {
  std::string id;      // "1796469956.P41877M1R0.localhost"
  std::string folder;  // "new" or "cur"
  std::string name;    // the file name in that folder (cur/: with its info)
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;  // when it arrived (the rename into new/)
};

// The id part of a Maildir file name: up to the first ':'.
std::string_view id_of_file(std::string_view file_name);

// An id as a request may name it: 1 to 255 characters of A-Z a-z 0-9 and
// . _ - , = + \ (the Maildir escapes \057 and \072), not starting with a
// '.'. Nothing that could leave the folder ("/", "..") or reach cur/'s
// info (":"). A valid id is then looked up by exact name in a listing.
bool valid_id(std::string_view id);

inline constexpr std::size_t kDefaultLimit = 100;
inline constexpr std::size_t kMaxLimit = 1000;

struct Paging {
  std::size_t limit = kDefaultLimit;
  std::size_t offset = 0;
};

// ?limit=N&offset=M: limit 1..1000 (more is taken as 1000), offset from
// 0. nullopt with `field` ("limit" or "offset") naming a value that is not
// a number, or a zero limit.
std::optional<Paging> parse_paging(std::string_view query, std::string& field);

// Seconds since the epoch as RFC 3339 UTC: "2026-12-07T11:25:56Z".
std::string rfc3339(std::int64_t unix_seconds);

}  // namespace petrel::catchweb
