#include "smtp/text_lines.hpp"

namespace petrel::smtp {

DotReader::Verdict check_text_lines(std::string& content, std::size_t max_line, BareLineEndingPolicy policy) {
  using Verdict = DotReader::Verdict;
  const bool normalize = policy == BareLineEndingPolicy::normalize;
  std::string normalized;  // built only when a bare line ending is rewritten
  Verdict verdict = Verdict::ok;
  std::size_t line_start = 0;
  std::size_t copied = 0;  // content[0, copied) is already in `normalized`
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c != '\r' && c != '\n') continue;
    std::size_t line_end = i;
    if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') {
      ++i;  // a proper CRLF
    } else if (normalize) {
      normalized.append(content, copied, line_end - copied);
      normalized += "\r\n";
      copied = i + 1;
    } else if (verdict == Verdict::ok) {
      verdict = Verdict::bare_line_ending;
    }
    if (max_line && line_end - line_start + 2 > max_line && verdict == Verdict::ok) verdict = Verdict::line_too_long;
    line_start = i + 1;
  }
  if (max_line && content.size() - line_start + 2 > max_line && verdict == Verdict::ok) {
    verdict = Verdict::line_too_long;
  }
  if (copied > 0) {
    normalized.append(content, copied, std::string::npos);
    content = std::move(normalized);
  }
  return verdict;
}

}  // namespace petrel::smtp
