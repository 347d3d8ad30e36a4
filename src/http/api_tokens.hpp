// API tokens: who may call the HTTP API. A file of "name:token" or
// "name:token:tenant" lines (# comments, blank lines), readable by its owner
// only. Tokens are kept as SHA-256 digests and compared in constant time.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::http {

struct Caller {
  std::string name;    // the token's name, for logs
  std::string tenant;  // "" : may act for any tenant
};

class ApiTokens {
 public:
  // Reads the file; throws std::runtime_error "FILE:LINE: what" on a bad
  // line, a duplicate name, a token shorter than 16 characters, or a
  // file that its group or others may read.
  static ApiTokens load(const std::string& path);
  // The same from text (tests); no mode check.
  static ApiTokens parse(std::string_view text, const std::string& name);

  // The caller whose token an "Authorization: Bearer TOKEN" header names,
  // or nullopt. Every token is compared, each in constant time.
  std::optional<Caller> authenticate(std::string_view authorization) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Caller caller;
    std::array<unsigned char, 32> digest{};
  };
  std::vector<Entry> entries_;
};

}  // namespace petrel::http
