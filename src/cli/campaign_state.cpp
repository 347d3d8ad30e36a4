#include "cli/campaign_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/campaign_list.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

constexpr int kStateVersion = 1;

std::string short_hash(const std::string& hex) { return hex.substr(0, 12); }

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The directory entry of a new file is durable only once its directory is.
void sync_directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

json RunIdentity::to_json() const {
  return {{"petrel_campaign_state", kStateVersion},
          {"mode", mode},
          {"campaign", campaign},
          {"tenant", tenant},
          {"list", list_path},
          {"list_size", list_size},
          {"list_sha256", list_sha256},
          {"template", template_path},
          {"template_sha256", template_sha256},
          {"batch", batch_size},
          {"rows", rows}};
}

std::optional<RunIdentity> RunIdentity::from_json(const json& j) {
  if (!j.is_object() || j.value("petrel_campaign_state", 0) != kStateVersion) return std::nullopt;
  try {
    RunIdentity r;
    r.mode = j.at("mode").get<std::string>();
    r.campaign = j.at("campaign").get<std::string>();
    r.tenant = j.at("tenant").get<std::string>();
    r.list_path = j.at("list").get<std::string>();
    r.list_size = j.at("list_size").get<std::uint64_t>();
    r.list_sha256 = j.at("list_sha256").get<std::string>();
    r.template_path = j.at("template").get<std::string>();
    r.template_sha256 = j.at("template_sha256").get<std::string>();
    r.batch_size = j.at("batch").get<std::uint64_t>();
    r.rows = j.at("rows").get<std::uint64_t>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string RunIdentity::difference(const RunIdentity& now) const {
  if (mode != now.mode) return "it was written by a run over " + mode + ", not " + now.mode;
  if (campaign != now.campaign) return "it is for campaign '" + campaign + "', not '" + now.campaign + "'";
  if (tenant != now.tenant) return "it is for tenant '" + tenant + "', not '" + now.tenant + "'";
  if (list_size != now.list_size || list_sha256 != now.list_sha256) {
    return "the recipient list is not the same (" + list_path + ": " + std::to_string(list_size) + " octets, sha256 " +
           short_hash(list_sha256) + "...; now " + now.list_path + ": " + std::to_string(now.list_size) +
           " octets, sha256 " + short_hash(now.list_sha256) + "...)";
  }
  if (template_sha256 != now.template_sha256) {
    return "the template is not the same (" + template_path + ", sha256 " + short_hash(template_sha256) + "...; now " +
           now.template_path + ", sha256 " + short_hash(now.template_sha256) + "...)";
  }
  if (batch_size != now.batch_size) {
    return "it was written with --batch " + std::to_string(batch_size) + ", not " + std::to_string(now.batch_size);
  }
  return "";
}

std::string RunIdentity::fingerprint() const {
  const std::string parts = "petrel campaign\n" + list_sha256 + "\n" + template_sha256 + "\n" +
                            std::to_string(batch_size) + "\n" + tenant + "\n";
  return short_hash(sha256_hex(parts));
}

std::string idempotency_key(std::string_view campaign, std::string_view fingerprint, std::uint64_t batch) {
  return std::string(campaign) + "-" + std::string(fingerprint) + "-" + std::to_string(batch);
}

StateFile::StateFile(std::string path, int fd, std::uint64_t rows) : path_(std::move(path)), fd_(fd), done_(rows, false) {}

StateFile::~StateFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<StateFile> StateFile::open(const std::string& path, const RunIdentity& identity) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw CampaignInputError("cannot open the state file " + path + ": " + std::strerror(errno));
  std::unique_ptr<StateFile> state(new StateFile(path, fd, identity.rows));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    throw CampaignInputError("the state file " + path + " is in use by another petrel campaign send");
  }
  state->load(identity);
  return state;
}

std::unique_ptr<StateFile> StateFile::temporary(const RunIdentity& identity) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw CampaignInputError("cannot make a temporary file in " + dir + ": " + std::strerror(errno));
  std::unique_ptr<StateFile> state(new StateFile("(temporary)", fd, identity.rows));
  state->load(identity);
  return state;
}

void StateFile::read_lines(const std::function<void(std::string_view, std::uint64_t)>& visit) const {
  std::string pending;
  std::vector<char> buffer(64 * 1024);
  std::uint64_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CampaignInputError("cannot read the state file " + path_ + ": " + std::strerror(errno));
    if (n == 0) return;
    const std::uint64_t chunk_start = offset;
    offset += static_cast<std::uint64_t>(n);
    std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    for (std::size_t newline; (newline = chunk.find('\n')) != std::string_view::npos;) {
      pending.append(chunk.substr(0, newline));
      visit(pending, chunk_start + static_cast<std::uint64_t>(chunk.data() - buffer.data()) + newline + 1);
      pending.clear();
      chunk.remove_prefix(newline + 1);
    }
    pending.append(chunk);
  }
}

void StateFile::mark(const RecipientResult& r, std::size_t line) {
  if (r.row >= done_.size()) {
    throw CampaignInputError("the state file " + path_ + " line " + std::to_string(line) + ": row " +
                             std::to_string(r.row) + " is beyond the list");
  }
  done_[r.row] = true;
}

// Reads what earlier runs recorded, drops a line a crash cut short, and
// writes the identity into a new file.
void StateFile::load(const RunIdentity& identity) {
  std::uint64_t good_end = 0;
  std::size_t line_number = 0;
  read_lines([&](std::string_view line, std::uint64_t end) {
    ++line_number;
    const std::string at = "the state file " + path_ + " line " + std::to_string(line_number);
    const json j = json::parse(line, nullptr, false);
    if (line_number == 1) {
      const auto stored = RunIdentity::from_json(j);
      if (!stored) throw CampaignInputError(path_ + " is not a petrel campaign state file");
      if (const std::string why = stored->difference(identity); !why.empty()) {
        throw CampaignInputError("will not resume from the state file " + path_ + ": " + why +
                                 " (use another --state file for a new run)");
      }
    } else {
      if (j.is_discarded() || !j.contains("results") || !j["results"].is_array()) throw CampaignInputError(at + " is damaged");
      for (const auto& item : j["results"]) {
        const auto r = result_from_json(item);
        if (!r) throw CampaignInputError(at + " is damaged");
        mark(*r, line_number);
        earlier_.add(r->status);
      }
      ++earlier_lines_;
    }
    good_end = end;
  });
  resumed_ = line_number > 0;
  if (::ftruncate(fd_, static_cast<off_t>(good_end)) != 0) {
    throw CampaignInputError("cannot truncate the state file " + path_ + ": " + std::strerror(errno));
  }
  if (line_number > 0) return;
  const std::string header = identity.to_json().dump() + "\n";
  if (!write_all(fd_, header) || ::fsync(fd_) != 0) {
    throw CampaignInputError("cannot write the state file " + path_ + ": " + std::strerror(errno));
  }
  sync_directory_of(path_);
}

std::string StateFile::record(std::uint64_t batch, const std::vector<RecipientResult>& results, bool sync_now) {
  json items = json::array();
  for (const auto& r : results) {
    if (r.status == RecipientStatus::deferred) continue;
    items.push_back(to_json(r));
  }
  if (items.empty()) return "";
  const std::string line = json{{"batch", batch}, {"results", std::move(items)}}.dump(-1, ' ', false,
                                                                                    json::error_handler_t::replace) + "\n";
  if (!write_all(fd_, line)) return "cannot write the state file " + path_ + ": " + std::strerror(errno);
  for (const auto& r : results) {
    if (r.status != RecipientStatus::deferred && r.row < done_.size()) done_[r.row] = true;
  }
  return sync_now ? sync() : "";
}

std::string StateFile::sync() {
  if (::fdatasync(fd_) != 0) return "cannot sync the state file " + path_ + ": " + std::strerror(errno);
  return "";
}

void StateFile::for_each(const std::function<void(const RecipientResult&)>& visit) const {
  std::size_t line_number = 0;
  read_lines([&](std::string_view line, std::uint64_t) {
    if (++line_number == 1) return;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("results")) return;
    for (const auto& item : j["results"]) {
      if (const auto r = result_from_json(item)) visit(*r);
    }
  });
}

}  // namespace petrel::cli
