// [events] file: every event as one JSON line (docs/events.md). Lines are
// queued by the emitting thread and written by a thread of the log's own,
// many at a time, each batch in one write(2) of whole lines; a crash can
// only cut the last line short, and a torn tail is cut off when the log is
// opened. The file is rotated by size: FILE.1 is the newest old one, and
// `keep` old files are kept.
//
// Bounded: at most max_pending lines wait; beyond that (a disk that stalls)
// events are dropped from the log, counted and warned about, never held
// in memory without bound, and never blocking mail.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "events/event.hpp"

namespace petrel::events {

struct EventLogOptions {
  std::string file;                      // the log; its directory is made if missing
  std::uint64_t max_size = 100ull << 20;  // rotated when a write would take it past this
  unsigned keep = 10;                    // rotated files kept: FILE.1 ... FILE.keep
  std::size_t max_pending = 100000;      // lines waiting to be written
};

class EventLog {
 public:
  // Opens (creating) the file; throws std::runtime_error naming it.
  explicit EventLog(EventLogOptions options);
  ~EventLog();  // writes what is queued, then closes
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void record(const Event& event);
  void flush();  // returns once everything recorded so far is written (tests, shutdown)
  std::uint64_t dropped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Cuts a file's last line if it does not end in '\n' (a write cut short by
// a crash). Returns the octets cut.
std::uint64_t cut_torn_tail(const std::string& file);

}  // namespace petrel::events
