// What petrel catch shows on a terminal: each session's dialogue with
// timings and colours as petrel send shows its own, then the session's
// report card in the style of petrel probe.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "catch/caught_session.hpp"
#include "catch/report.hpp"

namespace petrel::cli {

class CatchView {
 public:
  CatchView(int session, std::FILE* out) : session_(session), out_(out) {}

  void begin(const std::string& client);
  void show(const std::vector<catcher::TranscriptLine>& lines);
  void note(const std::string& text);
  void card(const catcher::Grader& grader, const catcher::SessionFacts& facts);

 private:
  void line(char direction, const std::string& text, int code);

  int session_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace petrel::cli
