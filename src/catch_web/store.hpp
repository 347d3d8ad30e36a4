// The caught messages on disk: the Maildir's new/ and cur/, and the
// session reports in reports/ that name each message's file. Nothing is
// kept in memory but a small index of the reports (which session, which
// verdict, for which file); messages are read when asked for, within caps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch_web/caught.hpp"

namespace petrel::catchweb {

struct StoreLimits {
  std::size_t max_files = 50'000;    // files of new/ and cur/ looked at per listing
  std::size_t max_reports = 10'000;  // newest reports indexed
  std::size_t max_head = 64 << 10;   // octets read for a list entry's header fields
};

// Where a message's session report is, and what it said.
struct SessionLink {
  std::string report;         // its file name in reports/, without ".json"
  std::size_t message_index;  // in the report's messages[]
  std::string verdict;        // "pass", "warn", "fail"
};

struct Listing {
  std::vector<CaughtFile> files;  // newest first, the page asked for
  std::size_t total = 0;          // files seen
  bool truncated = false;         // more than max_files: some were not looked at
};

class Store {
 public:
  explicit Store(std::filesystem::path maildir, StoreLimits limits = {});

  Listing list(std::size_t limit, std::size_t offset) const;
  // The file of a valid id, by exact name in a listing of new/ and cur/.
  std::optional<CaughtFile> find(std::string_view id) const;
  std::filesystem::path path(const CaughtFile& file) const;

  // The start of the file, up to the end of its header section or
  // max_head octets.
  std::string read_head(const CaughtFile& file) const;
  // At most max octets of the file; truncated says whether there was more.
  std::string read(const CaughtFile& file, std::size_t max, bool& truncated) const;

  // Rescans reports/, reading only reports it has not indexed yet (or
  // that changed size): once per request, before session_of.
  void refresh();
  // The session that brought the message, when its report is written
  // (a session still going has none yet), as of the last refresh().
  std::optional<SessionLink> session_of(std::string_view id) const;
  // That session's report as written, or null when unreadable.
  nlohmann::json report(const SessionLink& link) const;

 private:
  struct Indexed {
    std::uintmax_t size = 0;
    std::string verdict;
    std::vector<std::string> ids;  // of its messages[].file, "" for refused ones
  };

  std::filesystem::path maildir_;
  StoreLimits limits_;
  mutable std::mutex mutex_;  // the HTTP listener may run handlers on several threads
  std::map<std::string, Indexed> reports_;  // by report name
  std::map<std::string, SessionLink, std::less<>> by_id_;
};

}  // namespace petrel::catchweb
