// Batches of a campaign and the pace they go at: the list cut into
// batches of --batch rows (batch N is always the same rows, so that a
// resumed run and the server's idempotency records agree on it), --rate
// as recipients per second, and, for the API, a batch's request body and
// what its reply says of each row. Pure, but for the list it reads.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/campaign_csv.hpp"
#include "cli/campaign_report.hpp"

namespace petrel::cli {

class ListReader;

// --rate: "200/s", "1000/m", "50000/h", or a bare number per second.
struct Rate {
  double per_second = 0;
};
std::optional<Rate> parse_rate(std::string_view text);

// Spaces recipients out to the rate: each reservation starts when the
// previous one's share of time has passed (so the first goes at once).
class RatePacer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RatePacer(std::optional<Rate> rate) : rate_(rate) {}
  // When `recipients` more may go; the time is theirs (later callers
  // get later times).
  Clock::time_point reserve(std::size_t recipients, Clock::time_point now);

 private:
  std::optional<Rate> rate_;
  Clock::time_point next_{};
};

struct Batch {
  std::uint64_t number = 0;  // from 0: rows [number * size, (number + 1) * size)
  std::vector<RecipientRow> rows;
  std::size_t valid() const;
};

// Rows to batches; batches whose rows are all done already (a resumed
// run) are read past, not returned.
class BatchSource {
 public:
  BatchSource(ListReader& list, std::size_t batch_size, std::function<bool(std::uint64_t row)> done);
  std::optional<Batch> next();
  std::uint64_t skipped() const { return skipped_; }

 private:
  ListReader& list_;
  std::size_t batch_size_;
  std::function<bool(std::uint64_t)> done_;
  std::uint64_t number_ = 0;
  std::uint64_t skipped_ = 0;
  bool ended_ = false;
};

// The invalid rows of a batch as results.
std::vector<RecipientResult> invalid_results(const Batch& batch);

// POST /api/v1/messages for a batch: the template (an object without
// recipients) with the batch's valid rows and the idempotency key.
std::string batch_body(const nlohmann::json& request, const Batch& batch, const std::string& idempotency_key);

// Each row's result from the 200 reply ({"messages": [...], "rejected":
// [...]}), in row order, invalid rows included. A valid row the reply
// does not mention is rejected with a reason that says so.
std::vector<RecipientResult> batch_results(const Batch& batch, const nlohmann::json& reply);

// Words for a reply that fails a batch for good (400, 401, 403, 413, 415,
// 422, ...): the RFC 9457 problem's title, detail and the field it points
// at; for a template error (422 with a line and column) the place in the
// template file when that is where the line counts from (a raw message).
std::string describe_problem(unsigned status, const std::string& body, const std::string& template_path, bool raw);

}  // namespace petrel::cli
