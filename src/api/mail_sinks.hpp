// Mail petreld consumes itself rather than queueing (docs/suppression.md):
//   unsubscribe+TOKEN@<mailto domain>   the mailto: unsubscribe link (RFC 2369)
//   the [bounces] complaints_address    ARF feedback reports (RFC 5965)
// Each adds the person to the suppression list. Mail that names no one
// (a forged token, a report without a recipient) is logged and dropped:
// a bounce would only go to whoever forged it.
#pragma once

#include <functional>
#include <string>
#include <system_error>

namespace petrel::config {
struct Config;
}
namespace petrel::smtp {
struct Address;
}
namespace petrel::suppress {
class SuppressionList;
}

namespace petrel::api {

class Unsubscriber;

class MailSinks {
 public:
  MailSinks(const config::Config& config, Unsubscriber& unsubscriber, suppress::SuppressionList& list);

  bool accepts(const smtp::Address& rcpt) const;
  void consume(const smtp::Address& rcpt, const std::string& content, std::function<void(std::error_code)> done);

 private:
  void complaint(const std::string& content, std::function<void(std::error_code)> done);

  std::string mailto_domain_;       // "" : no mailto link
  std::string complaints_address_;  // lower case; "" : none
  Unsubscriber& unsubscriber_;
  suppress::SuppressionList& list_;
};

// The unsubscribe token in a List-Unsubscribe value ("<https://h/u/T>,
// <mailto:unsubscribe+T@h>"), or "".
std::string token_in(std::string_view list_unsubscribe);

}  // namespace petrel::api
