// How far a campaign has got, on stderr: a bar redrawn in place when
// stderr is a terminal, a plain line every few seconds when it is not (a
// log file, a pipe, CI), and nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>

#include "cli/campaign_report.hpp"

namespace petrel::cli {

// "12s", "3:05", "1:02:03".
std::string format_duration(double seconds);

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Style { bar, lines, none };
  static constexpr std::chrono::seconds kLineInterval{5};

  // `earlier`: what runs before this one did (resumed from a state file).
  Progress(std::uint64_t total_rows, const Tally& earlier, Style style, std::FILE* out = stderr);

  void add(RecipientStatus status) { run_.add(status); }
  // Redraws the bar, or prints a line when kLineInterval has passed.
  void tick(Clock::time_point now);
  // A message for the user (a retry, a warning), on a line of its own
  // above the bar; shown even with --quiet.
  void note(const std::string& text);
  // The last state, and the bar's line ended.
  void finish(Clock::time_point now);

  const Tally& this_run() const { return run_; }
  Tally all() const;
  // Recipients per second over the last seconds of this run.
  double rate(Clock::time_point now);
  // The text of one update, without colour: for the bar and the lines.
  std::string describe(Clock::time_point now);

 private:
  std::string bar(double fraction) const;

  std::uint64_t total_;
  Tally earlier_;
  Tally run_;
  Style style_;
  std::FILE* out_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_line_ = Clock::now();
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;  // (when, rows finished this run)
};

}  // namespace petrel::cli
