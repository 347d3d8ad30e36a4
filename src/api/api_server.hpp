// petreld's HTTP side: the listener of [http] and its routes, the
// injection API (docs/api.md). Nothing of Asio or Beast shows here.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace petrel::config {
struct Config;
}
namespace petrel::spool {
class Spool;
}
namespace petrel::queue {
class QueueManager;
}
namespace petrel::dkim {
struct DomainKey;
}
namespace petrel::suppress {
class SuppressionList;
class UnsubscribeTokens;
}

namespace petrel::api {

class ApiServer {
 public:
  // Reads the tokens file and binds every [http] listen address; throws
  // std::runtime_error naming what failed. Serves until destroyed.
  ApiServer(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue,
            suppress::SuppressionList& suppressions, const suppress::UnsubscribeTokens& tokens,
            const std::vector<dkim::DomainKey>& dkim_keys);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  std::vector<std::string> endpoints() const;

  // Stops serving (before the spool closes); destroy after the spool, whose
  // last callbacks post into this server's io_context.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The base of unsubscribe links: [http] public_url, else https:// + hostname.
std::string public_url(const config::Config& config);

// Loads [http] api_tokens_file as the server will (for --check-config);
// throws std::runtime_error naming the file and line.
void check_api_tokens(const config::Config& config);

}  // namespace petrel::api
