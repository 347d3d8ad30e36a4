#include "cli/campaign_report.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/campaign_list.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<RecipientStatus, std::string_view>, 5> kStatusNames{{
    {RecipientStatus::accepted, "accepted"},
    {RecipientStatus::rejected, "rejected"},
    {RecipientStatus::suppressed, "suppressed"},
    {RecipientStatus::invalid, "invalid"},
    {RecipientStatus::deferred, "deferred"},
}};

}  // namespace

std::string_view to_string(RecipientStatus status) {
  for (const auto& entry : kStatusNames) {
    if (entry.first == status) return entry.second;
  }
  return "?";
}

std::optional<RecipientStatus> parse_status(std::string_view text) {
  for (const auto& entry : kStatusNames) {
    if (entry.second == text) return entry.first;
  }
  return std::nullopt;
}

json to_json(const RecipientResult& r) {
  json j = {{"row", r.row}, {"email", r.email}, {"status", to_string(r.status)}};
  if (!r.queue_id.empty()) j["queue_id"] = r.queue_id;
  if (!r.reason.empty()) j["reason"] = r.reason;
  return j;
}

std::optional<RecipientResult> result_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto row = j.find("row");
  const auto email = j.find("email");
  const auto status = j.find("status");
  if (row == j.end() || !row->is_number_unsigned() || email == j.end() || !email->is_string() ||
      status == j.end() || !status->is_string()) {
    return std::nullopt;
  }
  const auto parsed = parse_status(status->get<std::string>());
  if (!parsed) return std::nullopt;
  RecipientResult r{row->get<std::uint64_t>(), email->get<std::string>(), *parsed, "", ""};
  if (const auto q = j.find("queue_id"); q != j.end() && q->is_string()) r.queue_id = q->get<std::string>();
  if (const auto why = j.find("reason"); why != j.end() && why->is_string()) r.reason = why->get<std::string>();
  return r;
}

void Tally::add(RecipientStatus status) {
  switch (status) {
    case RecipientStatus::accepted: ++accepted; break;
    case RecipientStatus::rejected: ++rejected; break;
    case RecipientStatus::suppressed: ++suppressed; break;
    case RecipientStatus::invalid: ++invalid; break;
    case RecipientStatus::deferred: ++deferred; break;
  }
}

void Tally::add(const Tally& o) {
  accepted += o.accepted;
  rejected += o.rejected;
  suppressed += o.suppressed;
  invalid += o.invalid;
  deferred += o.deferred;
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

ReportWriter::Format ReportWriter::format_for(std::string_view path) {
  if (path.ends_with(".json")) return Format::json_array;
  if (path.ends_with(".jsonl") || path.ends_with(".ndjson")) return Format::json_lines;
  return Format::csv;
}

ReportWriter::ReportWriter(std::string path)
    : path_(std::move(path)), temporary_(path_ + ".tmp"), format_(format_for(path_)) {
  out_ = std::fopen(temporary_.c_str(), "w");
  if (out_ == nullptr) throw CampaignInputError("cannot write the report " + temporary_ + ": " + std::strerror(errno));
  if (format_ == Format::csv) std::fputs("email,status,queue_id,reason\n", out_);
  if (format_ == Format::json_array) std::fputs("[", out_);
}

ReportWriter::~ReportWriter() {
  if (out_ == nullptr) return;
  std::fclose(out_);
  ::unlink(temporary_.c_str());
}

void ReportWriter::add(const RecipientResult& r) {
  if (format_ == Format::csv) {
    const std::string line = csv_field(r.email) + "," + std::string(to_string(r.status)) + "," + csv_field(r.queue_id) +
                             "," + csv_field(r.reason) + "\n";
    std::fputs(line.c_str(), out_);
    return;
  }
  json j = {{"email", r.email}, {"status", to_string(r.status)}, {"queue_id", r.queue_id}, {"reason", r.reason}};
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (format_ == Format::json_array) std::fputs(first_ ? "\n  " : ",\n  ", out_);
  std::fputs(text.c_str(), out_);
  if (format_ == Format::json_lines) std::fputs("\n", out_);
  first_ = false;
}

void ReportWriter::commit() {
  if (format_ == Format::json_array) std::fputs(first_ ? "]\n" : "\n]\n", out_);
  const bool written = std::fflush(out_) == 0 && ::fsync(::fileno(out_)) == 0;
  const int error = errno;
  std::fclose(out_);
  out_ = nullptr;
  if (!written || std::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(written ? errno : error);
    ::unlink(temporary_.c_str());
    throw CampaignInputError("cannot write the report " + path_ + ": " + why);
  }
}

}  // namespace petrel::cli
