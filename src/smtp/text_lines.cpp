#include "smtp/text_lines.hpp"

namespace petrel::smtp {

using Verdict = DotReader::Verdict;

void TextLineChecker::count(std::size_t octets) {
  line_length_ += octets;
  if (max_line_ && line_length_ + 2 > max_line_ && verdict_ == Verdict::ok) verdict_ = Verdict::line_too_long;
}

void TextLineChecker::bare_line_ending(std::string& out) {
  if (policy_ != BareLineEndingPolicy::normalize) {
    if (verdict_ == Verdict::ok) verdict_ = Verdict::bare_line_ending;  // the first violation is the verdict
    return;  // the rest is appended as it comes: the message is refused, but its size still counts
  }
  out += "\r\n";
  line_length_ = 0;
}

void TextLineChecker::feed(std::string_view chunk, std::string& out) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (verdict_ != Verdict::ok && policy_ != BareLineEndingPolicy::normalize) {
      out.append(chunk.substr(i));  // refused anyway; only its size still counts
      return;
    }
    if (pending_cr_) {
      pending_cr_ = false;
      if (chunk[i] == '\n') {
        out += "\r\n";
        line_length_ = 0;
        ++i;
      } else {
        bare_line_ending(out);
      }
      continue;
    }
    const std::size_t next = chunk.find_first_of("\r\n", i);
    const std::size_t end = next == std::string_view::npos ? chunk.size() : next;
    count(end - i);
    out.append(chunk.substr(i, end - i));
    if (next == std::string_view::npos) return;
    i = next + 1;
    if (chunk[next] == '\r') {
      pending_cr_ = true;
    } else {
      bare_line_ending(out);
    }
  }
}

Verdict TextLineChecker::finish(std::string& out) {
  if (pending_cr_ && (verdict_ == Verdict::ok || policy_ == BareLineEndingPolicy::normalize)) {
    pending_cr_ = false;
    bare_line_ending(out);
  }
  return verdict_;
}

Verdict check_text_lines(std::string& content, std::size_t max_line, BareLineEndingPolicy policy) {
  TextLineChecker checker(max_line, policy);
  std::string checked;
  checked.reserve(content.size());
  checker.feed(content, checked);
  const Verdict verdict = checker.finish(checked);
  // Under the reject policy a refused content stays as it came.
  if (verdict == Verdict::ok || policy == BareLineEndingPolicy::normalize) content = std::move(checked);
  return verdict;
}

}  // namespace petrel::smtp
