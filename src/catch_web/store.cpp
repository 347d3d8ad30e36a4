#include "catch_web/store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>

namespace petrel::catchweb {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFolders[] = {"new", "cur"};

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Calls `f(folder, name)` for each entry of new/ and cur/ that may be a
// message (no dot files), at most `max` of them; false when it stopped early.
template <typename F>
bool each_file(const fs::path& maildir, std::size_t max, F f) {
  std::size_t seen = 0;
  for (const std::string_view folder : kFolders) {
    std::error_code ec;
    for (fs::directory_iterator it(maildir / folder, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name.front() == '.') continue;
      if (++seen > max) return false;
      f(folder, name);
    }
  }
  return true;
}

std::optional<CaughtFile> stat_file(const fs::path& maildir, std::string_view folder, const std::string& name) {
  struct stat st {};
  if (::stat((maildir / folder / name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return CaughtFile{std::string(id_of_file(name)), std::string(folder), name, static_cast<std::uint64_t>(st.st_size),
                    mtime_ns(st)};
}

bool newer(const CaughtFile& a, const CaughtFile& b) {
  return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns : a.name > b.name;
}

}  // namespace

Store::Store(fs::path maildir, StoreLimits limits) : maildir_(std::move(maildir)), limits_(limits) {}

fs::path Store::path(const CaughtFile& file) const { return maildir_ / file.folder / file.name; }

Listing Store::list(std::size_t limit, std::size_t offset) const {
  Listing out;
  std::vector<CaughtFile> all;
  out.truncated = !each_file(maildir_, limits_.max_files, [&](std::string_view folder, const std::string& name) {
    if (auto file = stat_file(maildir_, folder, name)) all.push_back(std::move(*file));
  });
  out.total = all.size();
  if (offset >= all.size()) return out;
  const std::size_t end = std::min(all.size(), offset + limit);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(end), all.end(), newer);
  out.files.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(offset)),
                   std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
  return out;
}

std::optional<CaughtFile> Store::find(std::string_view id) const {
  if (!valid_id(id)) return std::nullopt;
  std::optional<CaughtFile> found;
  each_file(maildir_, limits_.max_files, [&](std::string_view folder, const std::string& name) {
    if (!found && id_of_file(name) == id) found = stat_file(maildir_, folder, name);
  });
  return found;
}

std::string Store::read_head(const CaughtFile& file) const {
  std::ifstream in(path(file), std::ios::binary);
  std::string head;
  char chunk[4096];
  while (in && head.size() < limits_.max_head) {
    in.read(chunk, static_cast<std::streamsize>(std::min(sizeof chunk, limits_.max_head - head.size())));
    const std::size_t from = head.size() < 3 ? 0 : head.size() - 3;  // an empty line across two chunks
    head.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (head.find("\n\r\n", from) != std::string::npos || head.find("\n\n", from) != std::string::npos) break;
  }
  return head;
}

std::string Store::read(const CaughtFile& file, std::size_t max, bool& truncated) const {
  std::ifstream in(path(file), std::ios::binary);
  std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(file.size, max)), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  truncated = file.size > max;
  return out;
}

void Store::refresh() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::uintmax_t>> present;  // name, size
  std::error_code ec;
  for (fs::directory_iterator it(maildir_ / "reports", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() <= 5 || !file.ends_with(".json") || file.front() == '.') continue;
    std::error_code size_ec;
    const auto size = it->file_size(size_ec);
    if (!size_ec) present.emplace_back(file.substr(0, file.size() - 5), size);
  }
  // Names begin with the session's start time: the newest sort last.
  std::sort(present.begin(), present.end(), std::greater<>());
  if (present.size() > limits_.max_reports) present.resize(limits_.max_reports);
  std::map<std::string, Indexed> next;
  for (const auto& [name, size] : present) {
    const auto known = reports_.find(name);
    if (known != reports_.end() && known->second.size == size) {
      next.emplace(name, std::move(known->second));
      continue;
    }
    // A report being written does not parse yet; it is read on a later call.
    const auto doc = nlohmann::json::parse(std::ifstream(maildir_ / "reports" / (name + ".json")), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) continue;
    Indexed entry{size, doc.value("verdict", ""), {}};
    if (doc.contains("messages") && doc["messages"].is_array()) {
      for (const auto& m : doc["messages"]) {
        const auto f = m.is_object() ? m.find("file") : m.end();
        const bool named = f != m.end() && f->is_string();
        entry.ids.push_back(named ? std::string(id_of_file(fs::path(f->get<std::string>()).filename().string())) : "");
      }
    }
    next.emplace(name, std::move(entry));
  }
  reports_ = std::move(next);
  by_id_.clear();
  for (const auto& [name, entry] : reports_) {
    for (std::size_t i = 0; i < entry.ids.size(); ++i) {
      if (!entry.ids[i].empty()) by_id_[entry.ids[i]] = SessionLink{name, i, entry.verdict};
    }
  }
}

std::optional<SessionLink> Store::session_of(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

nlohmann::json Store::report(const SessionLink& link) const {
  const auto doc = nlohmann::json::parse(std::ifstream(maildir_ / "reports" / (link.report + ".json")), nullptr, false);
  return doc.is_discarded() || !doc.is_object() ? nlohmann::json(nullptr) : doc;
}

}  // namespace petrel::catchweb
