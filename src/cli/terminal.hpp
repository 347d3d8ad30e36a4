// Terminal output shared by petrel's subcommands: colour only on a terminal
// and never with NO_COLOR (https://no-color.org), and plain column tables
// that line up whatever the colour codes add.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::cli {

// Whether `stream` (stdout or stderr) gets ANSI colour.
bool colour_enabled(std::FILE* stream = stdout);

enum class Colour { none, bold, dim, red, green, yellow, blue, cyan };

// The colour of an SMTP reply code: 2xx green, 3xx cyan, 4xx yellow, 5xx red.
Colour reply_colour(int code);

// `text` wrapped in the colour's escape codes when colour_enabled(stream).
std::string paint(std::string_view text, Colour colour, std::FILE* stream = stdout);

// Rows of cells printed in columns as wide as their widest cell. Cells may
// be painted: widths are measured without escape codes.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void print(std::FILE* stream = stdout) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// `unix_time` in UTC with a strftime format: "%Y-%m-%d".
std::string utc_time(std::int64_t unix_time, const char* format);

// Text from the network (a server's reply, a DNS record) made safe to
// print: an ESC in it could drive the terminal, so every control octet
// becomes '?', as smtp::ReplyReader does for parsed reply lines.
std::string printable(std::string text);

// Printable width of `text`: UTF-8 code points, escape sequences left out.
std::size_t display_width(std::string_view text);

}  // namespace petrel::cli
