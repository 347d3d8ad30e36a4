// petrel-sendmail's command line, as sendmail(8) callers write it (cron,
// PHP's mail(), git send-email, mail(1)): argv in, a request or a usage
// error out. Pure: no I/O, unit-tested in tests/unit/sendmail/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace petrel::sendmail {

enum class Mode {
  deliver,      // -bm (the default): a message on stdin
  smtp_stdio,   // -bs: SMTP with the caller on stdin/stdout
  list_queue,   // -bp, or invoked as mailq
  flush_queue,  // -q
  no_op,        // -bi / -I (newaliases): petrel has no aliases database
};

struct Request {
  Mode mode = Mode::deliver;
  bool extract_recipients = false;    // -t
  bool ignore_dots = false;           // -i, -oi: a lone "." does not end the message
  std::optional<std::string> sender;  // -f / -r ADDR; "" or "<>": the null sender
  std::optional<std::string> full_name;  // -F NAME, -oFNAME
  std::string config_file;            // -C FILE, --config FILE
  std::string flush_domain;           // -qRdomain
  bool verbose = false;               // -v
  std::vector<std::string> recipients;
};

struct UsageError {
  std::string message;
};

// `program` is argv[0]'s last path component: "mailq" means -bp.
// `args` excludes argv[0].
std::variant<Request, UsageError> parse_options(std::string_view program, const std::vector<std::string>& args);

}  // namespace petrel::sendmail
