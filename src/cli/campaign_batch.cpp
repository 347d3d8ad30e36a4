#include "cli/campaign_batch.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/campaign_list.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

// Outcomes of one reply, by address, each taken once: a list may name an
// address twice, and the reply then names it twice too, in order.
using ByEmail = std::map<std::string, std::deque<RecipientResult>>;

void take_messages(const json& reply, ByEmail& out) {
  const auto messages = reply.find("messages");
  if (messages == reply.end() || !messages->is_array()) return;
  for (const auto& m : *messages) {
    if (!m.is_object() || !m.contains("email") || !m["email"].is_string()) continue;
    RecipientResult r;
    r.email = m["email"].get<std::string>();
    r.status = RecipientStatus::accepted;
    if (m.contains("queue_id") && m["queue_id"].is_string()) r.queue_id = m["queue_id"].get<std::string>();
    out[r.email].push_back(std::move(r));
  }
}

void take_rejected(const json& reply, ByEmail& out) {
  const auto rejected = reply.find("rejected");
  if (rejected == reply.end() || !rejected->is_array()) return;
  for (const auto& m : *rejected) {
    if (!m.is_object() || !m.contains("email") || !m["email"].is_string()) continue;
    RecipientResult r;
    r.email = m["email"].get<std::string>();
    const bool suppressed = m.contains("suppressed") && m["suppressed"].is_string();
    r.status = suppressed ? RecipientStatus::suppressed : RecipientStatus::rejected;
    if (m.contains("reason") && m["reason"].is_string()) r.reason = m["reason"].get<std::string>();
    out[r.email].push_back(std::move(r));
  }
}

std::string advice(unsigned status) {
  switch (status) {
    case 401: return " (check the token in --token-file)";
    case 403: return " (the token may not do this: check --tenant)";
    case 413: return " (try a smaller --batch)";
    default: return "";
  }
}

std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::uint64_t number_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

// " (in msg.eml line 3, column 5)" for a raw message's template error,
// " (at /subject, line 1 column 9 of that field)" for a field's.
std::string where(const json& problem, const std::string& template_path, bool raw) {
  const std::string pointer = text_of(problem, "pointer");
  const std::uint64_t line = number_of(problem, "line");
  const std::string place = std::to_string(line) + ", column " + std::to_string(number_of(problem, "column"));
  if (line > 0 && raw && pointer == "/raw") return " (in " + template_path + " line " + place + ")";
  if (pointer.empty()) return "";
  return " (at " + pointer + (line > 0 ? ", line " + place + " of that field" : "") + ")";
}

}  // namespace

std::string describe_problem(unsigned status, const std::string& body, const std::string& template_path, bool raw) {
  const json problem = json::parse(body, nullptr, false);
  std::string text = "HTTP " + std::to_string(status);
  if (!problem.is_object()) {
    std::string shown = body.substr(0, 200);
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return text + (shown.empty() ? "" : ": " + shown) + advice(status);
  }
  const std::string title = text_of(problem, "title");
  const std::string detail = text_of(problem, "detail");
  if (!title.empty()) text += " " + title;
  if (!detail.empty()) text += ": " + detail;
  return text + where(problem, template_path, raw) + advice(status);
}

std::optional<Rate> parse_rate(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view number = text.substr(0, slash);
  double count = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (ec != std::errc() || end != number.data() + number.size() || !(count > 0) || !std::isfinite(count)) {
    return std::nullopt;
  }
  double seconds = 1;
  if (slash != std::string_view::npos) {
    const std::string_view unit = text.substr(slash + 1);
    if (unit == "s" || unit == "sec") {
      seconds = 1;
    } else if (unit == "m" || unit == "min") {
      seconds = 60;
    } else if (unit == "h" || unit == "hour") {
      seconds = 3600;
    } else {
      return std::nullopt;
    }
  }
  return Rate{count / seconds};
}

RatePacer::Clock::time_point RatePacer::reserve(std::size_t recipients, Clock::time_point now) {
  if (!rate_) return now;
  const Clock::time_point start = std::max(now, next_);
  const auto share = std::chrono::duration<double>(static_cast<double>(recipients) / rate_->per_second);
  next_ = start + std::chrono::duration_cast<Clock::duration>(share);
  return start;
}

std::size_t Batch::valid() const {
  return static_cast<std::size_t>(
      std::count_if(rows.begin(), rows.end(), [](const RecipientRow& r) { return r.invalid.empty(); }));
}

BatchSource::BatchSource(ListReader& list, std::size_t batch_size, std::function<bool(std::uint64_t)> done)
    : list_(list), batch_size_(batch_size), done_(std::move(done)) {}

std::optional<Batch> BatchSource::next() {
  while (!ended_) {
    Batch batch;
    batch.number = number_++;
    while (batch.rows.size() < batch_size_) {
      auto row = list_.next();
      if (!row) {
        ended_ = true;
        break;
      }
      batch.rows.push_back(std::move(*row));
    }
    if (batch.rows.empty()) break;
    const bool all_done = std::all_of(batch.rows.begin(), batch.rows.end(),
                                      [this](const RecipientRow& r) { return done_(r.index); });
    if (!all_done) return batch;
    ++skipped_;
  }
  return std::nullopt;
}

std::vector<RecipientResult> invalid_results(const Batch& batch) {
  std::vector<RecipientResult> out;
  for (const auto& row : batch.rows) {
    if (!row.invalid.empty()) out.push_back({row.index, row.email, RecipientStatus::invalid, "", row.invalid});
  }
  return out;
}

std::string batch_body(const json& request, const Batch& batch, const std::string& idempotency_key) {
  json body = request;
  json recipients = json::array();
  for (const auto& row : batch.rows) {
    if (!row.invalid.empty()) continue;
    json r = {{"email", row.email}};
    if (!row.name.empty()) r["name"] = row.name;
    if (!row.vars.empty()) {
      json vars = json::object();
      for (const auto& var : row.vars) vars[var.first] = var.second;
      r["vars"] = std::move(vars);
    }
    recipients.push_back(std::move(r));
  }
  body["recipients"] = std::move(recipients);
  body["idempotency_key"] = idempotency_key;
  return body.dump(-1, ' ', false, json::error_handler_t::strict);
}

std::vector<RecipientResult> batch_results(const Batch& batch, const json& reply) {
  ByEmail outcomes;
  if (reply.is_object()) {
    take_messages(reply, outcomes);
    take_rejected(reply, outcomes);
  }
  std::vector<RecipientResult> out;
  for (const auto& row : batch.rows) {
    if (!row.invalid.empty()) {
      out.push_back({row.index, row.email, RecipientStatus::invalid, "", row.invalid});
      continue;
    }
    auto it = outcomes.find(row.email);
    if (it == outcomes.end() || it->second.empty()) {
      out.push_back({row.index, row.email, RecipientStatus::rejected, "", "the server's reply does not mention it"});
      continue;
    }
    RecipientResult r = std::move(it->second.front());
    it->second.pop_front();
    r.row = row.index;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace petrel::cli
