#include "sendmail/options.hpp"

#include <cstring>

namespace petrel::sendmail {
namespace {

// Postfix's sendmail getopt string: "B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx",
// except that -q takes no separate argument (only attached: -qRsite, -q30m).
constexpr std::string_view kWithArgument = "BCFLNORVXbefhopr";
constexpr std::string_view kIgnoredFlags = "GUcmnx";

struct Parser {
  Request request;
  std::optional<UsageError> error;

  void fail(std::string message) {
    if (!error) error = UsageError{std::move(message)};
  }

  void mode(std::string_view value) {
    if (value == "m") request.mode = Mode::deliver;
    else if (value == "s") request.mode = Mode::smtp_stdio;
    else if (value == "p") request.mode = Mode::list_queue;
    else if (value == "i") request.mode = Mode::no_op;
    else fail("-b" + std::string(value) + " is not supported (only -bm, -bs, -bp, -bi)");
  }

  // -o's argument: "i" (ignore dots), "FNAME"; the rest are sendmail.cf
  // options Postfix ignores too (-oem, -odi, -odb, -oQ..., -om...).
  void option(std::string_view value) {
    if (value == "i") request.ignore_dots = true;
    else if (!value.empty() && value[0] == 'F') request.full_name = std::string(value.substr(1));
  }

  void with_argument(char c, std::string_view value) {
    switch (c) {
      case 'b': mode(value); break;
      case 'C': request.config_file = std::string(value); break;
      case 'F': request.full_name = std::string(value); break;
      case 'f':
      case 'r': request.sender = std::string(value); break;
      case 'o': option(value); break;
      default: break;  // -B type, -N dsn, -O, -R, -V, -X, -L, -e, -h, -p: accepted, ignored
    }
  }

  // One "-xyz" word; may use the next word as an option's argument.
  void cluster(const std::vector<std::string>& args, std::size_t& i) {
    const std::string_view word = args[i];
    for (std::size_t k = 1; k < word.size(); ++k) {
      const char c = word[k];
      if (c == 'q') {
        const std::string_view rest = word.substr(k + 1);
        request.mode = Mode::flush_queue;
        if (!rest.empty() && rest[0] == 'R') request.flush_domain = std::string(rest.substr(1));
        return;
      }
      if (kWithArgument.find(c) != std::string_view::npos) {
        if (k + 1 < word.size()) {
          with_argument(c, word.substr(k + 1));
        } else if (i + 1 < args.size()) {
          with_argument(c, args[++i]);
        } else {
          fail(std::string("option -") + c + " needs an argument");
        }
        return;
      }
      if (c == 't') request.extract_recipients = true;
      else if (c == 'i') request.ignore_dots = true;
      else if (c == 'v') request.verbose = true;
      else if (c == 'I') request.mode = Mode::no_op;
      else if (kIgnoredFlags.find(c) == std::string_view::npos) fail(std::string("unknown option -") + c);
    }
  }
};

}  // namespace

std::variant<Request, UsageError> parse_options(std::string_view program, const std::vector<std::string>& args) {
  Parser p;
  if (program == "mailq") p.request.mode = Mode::list_queue;
  std::size_t i = 0;
  for (; i < args.size() && !p.error; ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word == "--config") {
      if (i + 1 == args.size()) p.fail("--config needs a file");
      else p.request.config_file = args[++i];
      continue;
    }
    if (word.rfind("--config=", 0) == 0) {
      p.request.config_file = word.substr(9);
      continue;
    }
    if (word.size() < 2 || word[0] != '-') break;  // the first recipient
    if (word[1] == '-') {
      p.fail("unknown option " + word);
      break;
    }
    p.cluster(args, i);
  }
  if (p.error) return *p.error;
  for (; i < args.size(); ++i) p.request.recipients.push_back(args[i]);
  if (p.request.extract_recipients == false && p.request.mode == Mode::deliver && p.request.recipients.empty()) {
    return UsageError{"no recipients specified (name them, or use -t to read them from the message)"};
  }
  return p.request;
}

}  // namespace petrel::sendmail
