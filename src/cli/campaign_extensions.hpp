// Which SMTP service extensions a server offered and which the client
// used, read from the dialogue as the client session logs it (the
// TranscriptWatch lines): for the table `petrel campaign send --server`
// prints at the end. Pure.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply_reader.hpp"

namespace petrel::cli {

class ExtensionWatch {
 public:
  struct Row {
    std::string extension;  // "PIPELINING", "SIZE", ...
    bool offered = false;   // in an EHLO reply (on any connection)
    bool used = false;      // the client made use of it
  };

  ExtensionWatch();
  // One transcript line: '>' a command, '<' a whole reply, '*' a note.
  void see(char direction, std::string_view line, const smtp::ServerReply* reply);

  // Another connection's findings added to these.
  void merge(const ExtensionWatch& other);

  const std::vector<Row>& rows() const { return rows_; }
  // The most recipients one transaction had.
  std::size_t max_recipients() const { return max_recipients_; }
  nlohmann::json to_json() const;

 private:
  Row& row(std::string_view extension);
  void command(std::string_view line);

  std::vector<Row> rows_;
  bool awaiting_ehlo_ = false;
  bool command_unanswered_ = false;  // a MAIL, RCPT or DATA went out and no reply came since
  std::size_t recipients_ = 0;       // RCPTs in the transaction being sent
  std::size_t max_recipients_ = 0;
};

}  // namespace petrel::cli
