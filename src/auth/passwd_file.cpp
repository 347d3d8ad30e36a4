#include "auth/passwd_file.hpp"

#include <fstream>
#include <sstream>

#include "auth/password_hash.hpp"

namespace petrel::auth {
namespace {

std::string format_error(const std::string& file, std::size_t line, const std::string& message) {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

struct UserLine {
  std::string_view user;
  std::string_view password;
};

// Splits and checks one non-comment line, or throws naming it. Messages may
// quote the user name but never the password field.
UserLine parse_line(std::string_view line, const std::string& file, std::size_t number) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    throw PasswdFileError(file, number, "no password field (expected user:{SCHEME}hash)");
  }
  const std::string_view user = line.substr(0, colon);
  if (user.empty()) throw PasswdFileError(file, number, "empty user name");
  std::string_view password = line.substr(colon + 1);
  password = password.substr(0, password.find(':'));  // the rest is uid:gid:gecos:home:shell:extra
  if (password.empty()) throw PasswdFileError(file, number, "user '" + std::string(user) + "' has no password");
  if (const auto problem = stored_password_problem(password)) {
    throw PasswdFileError(file, number, "user '" + std::string(user) + "': " + *problem);
  }
  return {user, password};
}

}  // namespace

PasswdFileError::PasswdFileError(std::string file, std::size_t line, const std::string& message)
    : std::runtime_error(format_error(file, line, message)), file_(std::move(file)), line_(line) {}

PasswdFile PasswdFile::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PasswdFileError(path.string(), 0, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw PasswdFileError(path.string(), 0, "read error");
  return parse(text.str(), path.string());
}

PasswdFile PasswdFile::parse(std::string_view text, const std::string& file_name) {
  PasswdFile result;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);  // a file edited on Windows
    if (blank(line) || line.front() == '#') continue;
    const UserLine entry = parse_line(line, file_name, number);
    // Dovecot would silently use the first; a duplicate is more likely a
    // mistake than intended, so say so.
    if (!result.users_.emplace(entry.user, entry.password).second) {
      throw PasswdFileError(file_name, number, "user '" + std::string(entry.user) + "' is listed twice");
    }
  }
  return result;
}

const std::string* PasswdFile::find(std::string_view user) const {
  const auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

}  // namespace petrel::auth
