// One message per recipient from an injection request: templates compiled
// once, rendered with the request's and the recipient's variables, then
// built as MIME (src/mime/) or taken as the raw message. Pure: the time and
// the random numbers come in.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/inject_request.hpp"
#include "http/message.hpp"

namespace petrel::api {

class Composer {
 public:
  // Compiles every template field; a 422 problem naming the field and the
  // line and column when one does not parse.
  static std::variant<Composer, http::Problem> make(const InjectRequest& request);

  Composer(Composer&&) noexcept;
  Composer& operator=(Composer&&) noexcept;
  ~Composer();

  // The message for one recipient, CRLF lines. `extra` header fields
  // (List-Unsubscribe, ...) go after the generated ones. Variables: the
  // request's vars, then the recipient's, then "email" and "name".
  std::string compose(const RecipientSpec& recipient, const std::vector<std::pair<std::string, std::string>>& extra,
                      std::time_t now, std::uint64_t random, std::string_view hostname,
                      std::string_view queue_id);

 private:
  struct Impl;
  explicit Composer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A rendered header value made safe: a variable cannot start a header of
// its own, so CR and LF become spaces.
std::string one_line(std::string value);

}  // namespace petrel::api
