#include "smtp/reply.hpp"

#include <string>

namespace petrel::smtp {

void Reply::append_wire(std::string& out, bool enhanced) const {
  const std::string code_text = std::to_string(status.code);
  const bool with_enhanced = enhanced && !status.enhanced.empty();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += (i + 1 < lines.size()) ? '-' : ' ';
    if (with_enhanced) {
      out += status.enhanced;
      if (!lines[i].empty()) out += ' ';
    }
    out += lines[i];
    out += "\r\n";
  }
}

std::string Reply::wire(bool enhanced) const {
  std::string out;
  append_wire(out, enhanced);
  return out;
}

}  // namespace petrel::smtp
