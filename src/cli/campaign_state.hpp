// The state file of `petrel campaign send --state FILE`: what has been
// done, so that a run stopped by Ctrl-C, a crash or kill -9 resumes where
// it stopped without sending anyone a second message.
//
// JSON lines, append-only. The first line names the run's inputs (the
// list's size and SHA-256, the template's, the campaign, the batch size);
// a run with other inputs is refused the file. Each further line is one
// finished batch (API) or message (SMTP) with the result for each of its
// rows, written with one write() and, for the API, fdatasync()ed before
// the next batch is counted done. A line cut short by a crash is dropped.
// The report is rebuilt from these lines; docs/campaign.md has the rest.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/campaign_report.hpp"

namespace petrel::cli {

// What decides which recipients a campaign's batches hold and what they
// get: a resumed run must have the same.
struct RunIdentity {
  std::string mode;  // "api" or "smtp"
  std::string campaign;
  std::string tenant;
  std::string list_path;  // as given; informative (a moved list is the same list)
  std::uint64_t list_size = 0;
  std::string list_sha256;
  std::string template_path;
  std::string template_sha256;  // of the template as sent, flags applied
  std::uint64_t batch_size = 0;
  std::uint64_t rows = 0;

  nlohmann::json to_json() const;
  static std::optional<RunIdentity> from_json(const nlohmann::json& j);
  // What differs from `now`, in words; "" for the same run.
  std::string difference(const RunIdentity& now) const;
  // 12 hex digits of SHA-256 over what decides a batch's contents: the
  // list's and the template's hashes, the batch size and the tenant.
  std::string fingerprint() const;
};

// "<campaign>-<fingerprint>-<batch>": the same batch of the same run has
// the same key, so the API stores it once however often it is posted.
std::string idempotency_key(std::string_view campaign, std::string_view fingerprint, std::uint64_t batch);

class StateFile {
 public:
  // Opens or creates `path` and locks it (one run at a time). An existing
  // file must be of the same run. Throws CampaignInputError.
  static std::unique_ptr<StateFile> open(const std::string& path, const RunIdentity& identity);
  // An unnamed file under $TMPDIR, for a run without --state: the report
  // is still written from it.
  static std::unique_ptr<StateFile> temporary(const RunIdentity& identity);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  bool resumed() const { return resumed_; }
  bool done(std::uint64_t row) const { return row < done_.size() && done_[row]; }
  // What earlier runs recorded.
  const Tally& earlier() const { return earlier_; }
  std::uint64_t earlier_lines() const { return earlier_lines_; }

  // Appends one batch's (or message's) results; deferred ones are left
  // out (not done). With `sync`, also fdatasync(). "" or why it failed.
  std::string record(std::uint64_t batch, const std::vector<RecipientResult>& results, bool sync);
  std::string sync();
  // Every recorded result, in the order recorded. Throws CampaignInputError.
  void for_each(const std::function<void(const RecipientResult&)>& visit) const;
  const std::string& path() const { return path_; }

 private:
  StateFile(std::string path, int fd, std::uint64_t rows);
  void load(const RunIdentity& identity);
  void mark(const RecipientResult& r, std::size_t line);
  // Each complete line with the offset just past it; a last line without
  // its line break is not given.
  void read_lines(const std::function<void(std::string_view line, std::uint64_t end)>& visit) const;

  std::string path_;
  int fd_ = -1;
  bool resumed_ = false;
  std::vector<bool> done_;
  Tally earlier_;
  std::uint64_t earlier_lines_ = 0;
};

}  // namespace petrel::cli
