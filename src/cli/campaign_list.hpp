// The recipient list as a stream of rows: a file read a chunk at a time
// through CsvParser, so that a list of a million rows never sits in memory.
// The same pass hashes the file, which is how a state file recognises it.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli/campaign_csv.hpp"

namespace petrel::cli {

// Input that cannot be used: a file that cannot be read, a list that is
// not CSV, a template that is not JSON. The message names the file and,
// where there is one, the line. `petrel campaign send` exits 2.
struct CampaignInputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// SHA-256 over data given in pieces (OpenSSL, kept in the .cpp).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  std::string hex();  // once, at the end
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
std::string sha256_hex(std::string_view data);

class ListReader {
 public:
  // Opens the list and reads its header row.
  explicit ListReader(std::string path);
  // The next data row (blank lines skipped), nullopt at the end.
  std::optional<RecipientRow> next();
  // The whole file's hash and size, once next() has returned nullopt.
  std::string sha256() { return hash_.hex(); }
  std::uint64_t size() const { return size_; }
  const std::vector<std::string>& columns() const { return columns_->names(); }

 private:
  std::optional<CsvRecord> next_record();
  bool read_chunk();
  [[noreturn]] void fail(const CsvError& e) const;

  std::string path_;
  std::ifstream in_;
  CsvParser parser_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  std::vector<CsvRecord> records_;
  std::size_t taken_ = 0;  // records_ handed out
  bool at_end_ = false;
  std::optional<RecipientColumns> columns_;
  std::uint64_t next_index_ = 0;
};

// What one whole pass over the list finds, before anything is sent: its
// identity, how many rows, how many of them invalid. A list that is not
// valid CSV fails here, not half-way through a campaign.
struct ListInfo {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t rows = 0;
  std::uint64_t invalid = 0;
};
ListInfo scan_list(const std::string& path);

}  // namespace petrel::cli
