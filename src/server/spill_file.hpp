// Where a session writes a big message past its head while it arrives
// (smtp::ServerSession::Need::spill): a file in the spool's incoming
// directory, handed to the spool with the message, which renames it into
// place. Internal to src/server/.
#pragma once

#include <string>
#include <utility>
#include <string_view>
#include <system_error>

namespace petrel::server {

class SpillFile {
 public:
  explicit SpillFile(std::string directory) : directory_(std::move(directory)) {}
  ~SpillFile();  // deletes a file that was not handed over
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends `bytes` (blocking writes to the page cache; the sync comes with
  // the spool's commit). `fresh`: the first piece of a new message, so the
  // file starts over.
  std::error_code append(std::string_view bytes, bool fresh);
  // The file's path, for the spool: it is the spool's (or the caller's to
  // delete) from now on, and the next message gets a new file.
  std::string release();

 private:
  std::error_code open();
  void close_and_delete();

  std::string directory_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace petrel::server
