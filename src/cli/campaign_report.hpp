// What became of each recipient of a campaign, and the report file that
// lists them: CSV (email,status,queue_id,reason), a JSON array (*.json)
// or JSON lines (*.jsonl, *.ndjson). The report is always written from
// the state file (campaign_state.hpp), so that a resumed campaign's report
// covers the runs before it too.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::cli {

enum class RecipientStatus {
  accepted,    // queued by the server (API) or answered 250 (SMTP)
  rejected,    // refused by the server
  suppressed,  // on the server's suppression list (API)
  invalid,     // not sent: the row or its address is bad
  deferred,    // SMTP only: a temporary failure; not recorded as done, so a rerun retries it
};
std::string_view to_string(RecipientStatus status);
std::optional<RecipientStatus> parse_status(std::string_view text);

struct RecipientResult {
  std::uint64_t row = 0;  // the data row, from 0
  std::string email;
  RecipientStatus status = RecipientStatus::rejected;
  std::string queue_id;
  std::string reason;
};
nlohmann::json to_json(const RecipientResult& r);
// From a state file line's member; nullopt when it is not one.
std::optional<RecipientResult> result_from_json(const nlohmann::json& j);

// Counts by status.
struct Tally {
  std::uint64_t accepted = 0, rejected = 0, suppressed = 0, invalid = 0, deferred = 0;
  void add(RecipientStatus status);
  void add(const Tally& other);
  std::uint64_t finished() const { return accepted + rejected + suppressed + invalid; }
};

// A field for a CSV line: quoted (RFC 4180) when it holds a comma, a
// quote or a line break, with its quotes doubled.
std::string csv_field(std::string_view text);

// Writes to PATH.tmp and renames it over PATH at commit(), so a report is
// either the old one or the whole new one.
class ReportWriter {
 public:
  enum class Format { csv, json_array, json_lines };
  static Format format_for(std::string_view path);

  explicit ReportWriter(std::string path);  // throws CampaignInputError
  ~ReportWriter();
  ReportWriter(const ReportWriter&) = delete;
  ReportWriter& operator=(const ReportWriter&) = delete;

  void add(const RecipientResult& r);
  void commit();  // throws CampaignInputError

 private:
  std::string path_;
  std::string temporary_;
  Format format_;
  std::FILE* out_ = nullptr;
  bool first_ = true;
};

}  // namespace petrel::cli
