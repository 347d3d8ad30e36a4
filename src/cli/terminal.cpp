#include "cli/terminal.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace petrel::cli {

bool colour_enabled(std::FILE* stream) {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && *no_colour != '\0') return false;
  return ::isatty(::fileno(stream)) != 0;
}

std::string paint(std::string_view text, Colour colour, std::FILE* stream) {
  const char* code = nullptr;
  switch (colour) {
    case Colour::none: return std::string(text);
    case Colour::bold: code = "1"; break;
    case Colour::dim: code = "2"; break;
    case Colour::red: code = "31"; break;
    case Colour::green: code = "32"; break;
    case Colour::yellow: code = "33"; break;
    case Colour::blue: code = "34"; break;
    case Colour::cyan: code = "36"; break;
  }
  if (!colour_enabled(stream)) return std::string(text);
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

std::string printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {  // CSI ... final byte in 0x40-0x7e
      ++i;
      if (i < text.size() && text[i] == '[') {
        while (i + 1 < text.size() && !(text[i + 1] >= 0x40 && text[i + 1] <= 0x7e)) ++i;
        ++i;
      }
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
  }
  return width;
}

std::string utc_time(std::int64_t unix_time, const char* format) {
  const auto t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, format, &tm);
  return std::string(text, n);
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

void Table::print(std::FILE* stream) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  auto print_row = [&](const std::vector<std::string>& row, bool heading) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      line += heading ? paint(row[i], Colour::bold, stream) : row[i];
      if (!last) line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    std::fprintf(stream, "%s\n", line.c_str());
  };
  if (!header_.empty()) print_row(header_, true);
  for (const auto& row : rows_) print_row(row, false);
}

Colour reply_colour(int code) {
  if (code >= 500) return Colour::red;
  if (code >= 400) return Colour::yellow;
  if (code >= 300) return Colour::cyan;
  return Colour::green;
}

}  // namespace petrel::cli
