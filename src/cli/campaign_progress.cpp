#include "cli/campaign_progress.hpp"

#include <algorithm>
#include <cmath>

#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

constexpr std::chrono::seconds kRateWindow{10};
constexpr std::size_t kBarWidth = 24;

std::uint64_t handled(const Tally& t) { return t.finished() + t.deferred; }

}  // namespace

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  }
  return text;
}

Progress::Progress(std::uint64_t total_rows, const Tally& earlier, Style style, std::FILE* out)
    : total_(total_rows), earlier_(earlier), style_(style), out_(out) {}

Tally Progress::all() const {
  Tally t = earlier_;
  t.add(run_);
  return t;
}

double Progress::rate(Clock::time_point now) {
  const std::uint64_t count = handled(run_);
  samples_.emplace_back(now, count);
  while (samples_.size() > 2 && now - samples_[1].first >= kRateWindow) samples_.pop_front();
  const double seconds = std::chrono::duration<double>(now - samples_.front().first).count();
  if (seconds >= 0.5) return static_cast<double>(count - samples_.front().second) / seconds;
  const double run = std::chrono::duration<double>(now - started_).count();  // a short run: its average
  return run > 0.05 ? static_cast<double>(count) / run : 0;
}

std::string Progress::describe(Clock::time_point now) {
  const Tally t = all();
  const std::uint64_t done = handled(t);
  const double per_second = rate(now);
  std::string text = std::to_string(done) + "/" + std::to_string(total_);
  if (total_ > 0) text += " (" + std::to_string(done * 100 / total_) + "%)";
  text += "  accepted " + std::to_string(t.accepted) + "  rejected " + std::to_string(t.rejected) + "  suppressed " +
          std::to_string(t.suppressed) + "  invalid " + std::to_string(t.invalid);
  if (t.deferred > 0) text += "  deferred " + std::to_string(t.deferred);
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "  %.0f/s", per_second);
  text += rate_text;
  if (per_second > 0 && done < total_) {
    text += "  ETA " + format_duration(static_cast<double>(total_ - done) / per_second);
  }
  text += "  elapsed " + format_duration(std::chrono::duration<double>(now - started_).count());
  return text;
}

std::string Progress::bar(double fraction) const {
  const auto filled = static_cast<std::size_t>(std::clamp(fraction, 0.0, 1.0) * kBarWidth);
  std::string cells(filled, '=');
  if (filled < kBarWidth) cells += '>';
  cells.resize(kBarWidth, ' ');
  return "[" + paint(cells, Colour::green, out_) + "] ";
}

void Progress::tick(Clock::time_point now) {
  if (style_ == Style::none) return;
  if (style_ == Style::lines) {
    if (now - last_line_ < kLineInterval) return;
    last_line_ = now;
    std::fprintf(out_, "petrel campaign send: %s\n", describe(now).c_str());
    std::fflush(out_);
    return;
  }
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(handled(all())) / static_cast<double>(total_);
  std::fprintf(out_, "\r\033[K%s%s", bar(fraction).c_str(), describe(now).c_str());
  std::fflush(out_);
}

void Progress::note(const std::string& text) {
  if (style_ == Style::bar) std::fputs("\r\033[K", out_);
  std::fprintf(out_, "petrel campaign send: %s\n", text.c_str());
  std::fflush(out_);
}

void Progress::finish(Clock::time_point now) {
  if (style_ == Style::bar) {
    tick(now);
    std::fputs("\n", out_);
  } else if (style_ == Style::lines) {
    last_line_ = now - kLineInterval;
    tick(now);
  }
  std::fflush(out_);
}

}  // namespace petrel::cli
