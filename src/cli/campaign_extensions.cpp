#include "cli/campaign_extensions.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "smtp/capabilities.hpp"

namespace petrel::cli {
namespace {

// The rows of the table, in the order a transaction meets them.
constexpr std::string_view kExtensions[] = {"STARTTLS", "AUTH", "PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8",
                                            "DSN", "CHUNKING", "ENHANCEDSTATUSCODES"};

bool has_word(std::string_view line, std::string_view word) {
  for (std::size_t at = line.find(word); at != std::string_view::npos; at = line.find(word, at + 1)) {
    if (at > 0 && line[at - 1] == ' ') return true;
  }
  return false;
}

}  // namespace

ExtensionWatch::ExtensionWatch() {
  for (const auto name : kExtensions) rows_.push_back({std::string(name), false, false});
}

ExtensionWatch::Row& ExtensionWatch::row(std::string_view extension) {
  return *std::find_if(rows_.begin(), rows_.end(), [extension](const Row& r) { return r.extension == extension; });
}

void ExtensionWatch::command(std::string_view line) {
  const bool pipelined = command_unanswered_;
  if (line.starts_with("EHLO ") || line.starts_with("LHLO ")) awaiting_ehlo_ = true;
  if (line == "STARTTLS") row("STARTTLS").used = true;
  if (line.starts_with("AUTH ")) row("AUTH").used = true;
  if (line.starts_with("BDAT ")) row("CHUNKING").used = true;
  if (line.starts_with("MAIL FROM:")) {
    recipients_ = 0;
    if (has_word(line, "SIZE=")) row("SIZE").used = true;
    if (has_word(line, "BODY=8BITMIME")) row("8BITMIME").used = true;
    if (has_word(line, "SMTPUTF8")) row("SMTPUTF8").used = true;
    if (has_word(line, "RET=") || has_word(line, "ENVID=")) row("DSN").used = true;
  }
  const bool rcpt = line.starts_with("RCPT TO:");
  if (rcpt) {
    max_recipients_ = std::max(max_recipients_, ++recipients_);
    if (has_word(line, "NOTIFY=") || has_word(line, "ORCPT=")) row("DSN").used = true;
  }
  const bool in_transaction = rcpt || line == "DATA" || line.starts_with("MAIL FROM:") || line == "RSET";
  if (in_transaction && pipelined) row("PIPELINING").used = true;
  if (in_transaction) command_unanswered_ = true;
}

void ExtensionWatch::see(char direction, std::string_view line, const smtp::ServerReply* reply) {
  if (direction == '>') {
    if (!line.starts_with("[")) command(line);  // "[303 octets of content]" is not a command
    return;
  }
  if (direction != '<' || reply == nullptr) return;
  command_unanswered_ = false;
  if (!reply->enhanced.empty() && row("ENHANCEDSTATUSCODES").offered) row("ENHANCEDSTATUSCODES").used = true;
  if (!awaiting_ehlo_) return;
  awaiting_ehlo_ = false;
  if (reply->code != 250) return;
  const smtp::Capabilities caps = smtp::parse_capabilities(*reply);
  const std::pair<const char*, bool> offered[] = {
      {"STARTTLS", caps.starttls}, {"AUTH", !caps.auth.empty()}, {"PIPELINING", caps.pipelining},
      {"SIZE", caps.size.has_value()}, {"8BITMIME", caps.eight_bit_mime}, {"SMTPUTF8", caps.smtputf8},
      {"DSN", caps.dsn}, {"CHUNKING", caps.chunking}, {"ENHANCEDSTATUSCODES", caps.enhanced_status_codes}};
  for (const auto& o : offered) {
    if (o.second) row(o.first).offered = true;
  }
}

void ExtensionWatch::merge(const ExtensionWatch& other) {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    rows_[i].offered = rows_[i].offered || other.rows_[i].offered;
    rows_[i].used = rows_[i].used || other.rows_[i].used;
  }
  max_recipients_ = std::max(max_recipients_, other.max_recipients_);
}

nlohmann::json ExtensionWatch::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rows_) rows.push_back({{"extension", r.extension}, {"offered", r.offered}, {"used", r.used}});
  return rows;
}

}  // namespace petrel::cli
