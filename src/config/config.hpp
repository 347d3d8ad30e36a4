// petreld's configuration: one struct with every setting and its default,
// loaded from TOML. docs/config.md documents every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "smtp/session_options.hpp"

namespace petrel::config {

enum class UnknownLocalRecipient { accept, reject };

struct Config {
  // [server]
  std::string hostname;                               // default: the machine's host name
  std::vector<std::string> listen{"127.0.0.1:2525"};  // "ADDR:PORT", "[v6]:PORT"
  std::size_t max_sessions = 1000;
  std::size_t max_sessions_per_ip = 50;
  unsigned threads = 0;  // 0: one per core but one (see Server)

  // [limits] and [timeouts] and [smtp] feed this directly.
  smtp::SessionOptions session;

  // [local]
  std::vector<std::string> local_domains{"localhost"};
  std::string maildir = "./var/mail";
  std::vector<std::string> local_users;  // used when unknown_local_recipient = reject
  UnknownLocalRecipient unknown_local_recipient = UnknownLocalRecipient::accept;
  std::string recipient_delimiter;

  // [spool]
  std::string spool_dir = "./var/spool";
  // Below this much free space new messages get 452 4.3.1 (Postfix's
  // queue_minfree); RocksDB needs about two memtables' worth to recover.
  std::uint64_t spool_min_free = 128ull << 20;

  // [delivery]
  std::vector<std::chrono::milliseconds> retry_intervals{
      std::chrono::seconds(30), std::chrono::minutes(5), std::chrono::minutes(10),
      std::chrono::minutes(20), std::chrono::minutes(40), std::chrono::hours(1)};

  // [log]
  std::string log_level = "info";  // trace, debug, info, warn, error
};

// A configuration error, with where it is: "petreld.toml:12: unknown key 'lisen'".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::size_t line, const std::string& message);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }

 private:
  std::string file_;
  std::size_t line_;
};

// Defaults for everything (the embedded default configuration).
Config default_config();

// Loads a TOML file over the defaults. Throws ConfigError for a missing
// file, bad TOML, an unknown key or a bad value.
Config load_config_file(const std::string& path);
// The same from text (name is used in error messages).
Config load_config_text(std::string_view toml, const std::string& name);

// Parses "30s", "5m", "2h", "1500ms" (a bare number is seconds).
bool parse_duration(std::string_view text, std::chrono::milliseconds& out);
// Parses "52428800", "50M", "50MiB", "1G" into bytes.
bool parse_size(std::string_view text, std::uint64_t& out);

// Checks cross-key constraints (e.g. listen not empty); throws ConfigError
// with line 0 naming the key.
void validate(const Config& c, const std::string& name);

}  // namespace petrel::config
