#include "smtp/dot_reader.hpp"

#include <algorithm>

namespace petrel::smtp {

void DotReader::violate(Verdict v) {
  if (verdict_ == Verdict::ok) verdict_ = v;
}

void DotReader::emit(std::string_view bytes, std::string& out) {
  size_ += bytes.size();
  if (limits_.max_size && size_ > limits_.max_size) violate(Verdict::too_big);
  if (verdict_ == Verdict::ok) out.append(bytes);
}

void DotReader::end_line(std::string& out) {
  if (limits_.max_line && line_length_ + 2 > limits_.max_line) violate(Verdict::line_too_long);
  emit("\r\n", out);
  line_length_ = 0;
  synthetic_line_start_ = false;
  state_ = State::line_start;
}

// Under "normalize" a bare CR or LF becomes a line break that cannot end the
// message; under "reject" the message is refused once it has been read.
void DotReader::bare_line_ending(char c, std::string& out) {
  if (limits_.bare_line_endings == BareLineEndingPolicy::reject) {
    violate(Verdict::bare_line_ending);
    emit(std::string_view(&c, 1), out);
    ++line_length_;
    state_ = State::in_line;
    return;
  }
  end_line(out);
  synthetic_line_start_ = true;
}

// Fast path inside a line: copy the run up to the next CR or LF at once.
// It stops at the octet that makes the line too long, so that when both
// limits are exceeded the verdict names the one exceeded first, however the
// input was split into reads.
std::size_t DotReader::scan_line(std::string_view in, std::size_t pos, std::string& out) {
  std::size_t stop = in.size();
  if (limits_.max_line && verdict_ == Verdict::ok) {
    const std::size_t longest = limits_.max_line >= 2 ? limits_.max_line - 2 : 0;  // without CRLF
    if (line_length_ <= longest) stop = std::min(stop, pos + (longest - line_length_) + 1);
  }
  std::size_t end = pos;
  while (end < stop && in[end] != '\r' && in[end] != '\n') ++end;
  emit(in.substr(pos, end - pos), out);
  line_length_ += end - pos;
  return end;
}

std::size_t DotReader::feed(std::string_view in, std::string& out) {
  std::size_t pos = 0;
  while (pos < in.size() && state_ != State::done) {
    const char c = in[pos];
    switch (state_) {
      case State::line_start:
        ++pos;
        if (c == '.') {
          state_ = State::line_start_dot;
        } else if (c == '\r') {
          state_ = State::in_line_cr;
        } else if (c == '\n') {
          bare_line_ending('\n', out);
        } else {
          emit(std::string_view(&c, 1), out);
          line_length_ = 1;
          state_ = State::in_line;
        }
        break;
      case State::line_start_dot:
        ++pos;
        line_length_ = 1;
        if (c == '\r') {
          state_ = State::line_start_dot_cr;
        } else if (c == '\n') {
          emit(".", out);  // a lone dot is content, not stuffing
          bare_line_ending('\n', out);
        } else {
          // The leading dot was stuffing and does not count towards the line
          // limit (RFC 5321 §4.5.3.1.6): the line so far is c alone.
          emit(std::string_view(&c, 1), out);
          state_ = State::in_line;
        }
        break;
      case State::line_start_dot_cr:
        if (c == '\n') {
          ++pos;
          if (!synthetic_line_start_) {
            state_ = State::done;  // <CRLF>.<CRLF>
          } else {
            emit(".", out);
            end_line(out);
          }
        } else {
          // ".\r" then something else: the CR was bare; look at c again.
          emit(".", out);
          bare_line_ending('\r', out);
        }
        break;
      case State::in_line:
        if (c == '\r') {
          ++pos;
          state_ = State::in_line_cr;
        } else if (c == '\n') {
          ++pos;
          bare_line_ending('\n', out);
        } else {
          pos = scan_line(in, pos, out);
        }
        break;
      case State::in_line_cr:
        if (c == '\n') {
          ++pos;
          end_line(out);
        } else {
          bare_line_ending('\r', out);  // look at c again in the new state
        }
        break;
      case State::done:
        break;
    }
    if (limits_.max_line && line_length_ + 2 > limits_.max_line) violate(Verdict::line_too_long);
  }
  return pos;
}

}  // namespace petrel::smtp
