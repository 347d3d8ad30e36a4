// Users and their stored passwords from a file in Dovecot's passwd-file
// format, so one file can serve Dovecot (IMAP) and Petrel (SMTP AUTH):
//
//   # comment
//   alice@example.org:{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$...$...
//   bob:{SCRAM-SHA-256}4096,c2FsdA==,...,...::::::
//
// Fields after the password (uid:gid:gecos:home:shell:extra) are accepted
// and ignored.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace petrel::auth {

// "FILE:LINE: message". The message never contains a password or hash.
class PasswdFileError : public std::runtime_error {
 public:
  PasswdFileError(std::string file, std::size_t line, const std::string& message);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }  // 0 when not about one line (e.g. unreadable file)

 private:
  std::string file_;
  std::size_t line_;
};

class PasswdFile {
 public:
  // Throws PasswdFileError for an unreadable file or a bad line: a line
  // without a password field, an unknown or malformed {SCHEME}, or a user
  // listed twice.
  static PasswdFile load(const std::filesystem::path& path);
  // The same for text already in memory; `file_name` is only for errors.
  static PasswdFile parse(std::string_view text, const std::string& file_name);

  // The stored "{SCHEME}data" for exactly this user name (case matters, as
  // in Dovecot's passwd-file), or nullptr.
  const std::string* find(std::string_view user) const;
  std::size_t size() const { return users_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> users_;
};

}  // namespace petrel::auth
