#include "cli/catch_view.hpp"

#include <cctype>

#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

Colour colour_of(catcher::Level level) {
  switch (level) {
    case catcher::Level::info: return Colour::cyan;
    case catcher::Level::warn: return Colour::yellow;
    case catcher::Level::fail: return Colour::red;
  }
  return Colour::none;
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s.empty() ? "(none)" : s;
}

}  // namespace

void CatchView::begin(const std::string& client) {
  std::fprintf(out_, "%s\n", paint("Session " + std::to_string(session_) + " from " + client, Colour::bold, out_).c_str());
  std::fflush(out_);
}

void CatchView::show(const std::vector<catcher::TranscriptLine>& lines) {
  for (const auto& l : lines) line(l.direction, l.text, l.code);
  std::fflush(out_);
}

void CatchView::note(const std::string& text) {
  line('*', text, 0);
  std::fflush(out_);
}

void CatchView::line(char direction, const std::string& text, int code) {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  // As petrel send: "->" what the client sent, "<-" the reply; here the
  // client is the other side, so its lines come in and the replies go out.
  const char* mark = direction == '>' ? "<- " : direction == '<' ? " ->" : "===";
  Colour colour = direction == '>' ? Colour::cyan : Colour::dim;
  if (direction == '<') colour = code >= 400 ? Colour::red : Colour::none;
  std::fprintf(out_, "%9.1f ms  %s %s\n", ms, mark, paint(printable(text), colour, out_).c_str());
}

void CatchView::card(const catcher::Grader& grader, const catcher::SessionFacts& facts) {
  std::FILE* out = out_;
  std::fprintf(out, "\n%s\n",
               paint("petrel catch: session " + std::to_string(session_) + " from " + facts.client, Colour::bold, out)
                   .c_str());
  std::fprintf(out, "Greeting  %s %s\n", grader.greeting_verb().empty() ? "(none)" : grader.greeting_verb().c_str(),
               printable(grader.helo_name()).c_str());
  std::fprintf(out, "Offered   %s\n", joined(grader.offered()).c_str());
  std::fprintf(out, "Used      %s\n", joined(grader.used()).c_str());
  std::size_t file = 0;
  for (std::size_t i = 0; i < grader.messages().size(); ++i) {
    const auto& m = grader.messages()[i];
    std::string where = "not kept";
    if (m.reply_code >= 200 && m.reply_code < 300 && file < facts.files.size()) where = facts.files[file++];
    std::fprintf(out, "Message %zu %s -> %s, %llu octets, reply %d, %s\n", i + 1, printable(m.reverse_path).c_str(),
                 printable(joined(m.forward_paths)).c_str(), static_cast<unsigned long long>(m.size), m.reply_code,
                 where.c_str());
  }
  std::fprintf(out, "\n%s\n", paint("Findings", Colour::bold, out).c_str());
  int pass = 0;
  int counts[3] = {0, 0, 0};
  for (const auto id : catcher::graded_ids()) {
    const catcher::Finding* found = nullptr;
    for (const auto& f : grader.findings()) {
      if (f.id == id) found = &f;
    }
    if (!found) {
      ++pass;
      std::fprintf(out, "  %s  %s\n", paint("PASS", Colour::green, out).c_str(), std::string(catcher::title_of(id)).c_str());
      continue;
    }
    ++counts[static_cast<int>(found->level)];
    std::string label(catcher::level_name(found->level));
    for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::fprintf(out, "  %s  %s  [%s]\n", paint(label, colour_of(found->level), out).c_str(),
                 std::string(catcher::title_of(id)).c_str(), found->id.c_str());
    std::string detail = printable(found->text);
    if (found->count > 1) detail += " (" + std::to_string(found->count) + " times)";
    std::fprintf(out, "        %s\n", paint(detail, Colour::dim, out).c_str());
  }
  for (const auto& f : grader.findings()) {
    if (f.level != catcher::Level::info) continue;
    ++counts[0];
    std::fprintf(out, "  %s  %s\n", paint("INFO", Colour::cyan, out).c_str(), printable(f.text).c_str());
  }
  std::fprintf(out, "\nSummary: %d pass, %d warn, %d fail, %d info; exit status %d (%llu ms, %s)\n\n", pass,
               counts[1], counts[2], counts[0], catcher::exit_code(grader.findings()),
               static_cast<unsigned long long>(facts.duration_ms), facts.close_reason.c_str());
  std::fflush(out);
}

}  // namespace petrel::cli
