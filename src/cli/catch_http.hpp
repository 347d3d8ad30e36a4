// petrel catch --http ADDR:PORT: starts the web view of the caught
// messages (src/catch_web/) beside the SMTP server.
#pragma once

#include <memory>
#include <string>

namespace petrel::catchweb {
class WebServer;
}

namespace petrel::cli {

// Serves the Maildir's messages on `listen`, saying where on stderr (and
// warning when that is not loopback: the view has no authentication).
// Null, with the reason on stderr, when it cannot listen.
std::shared_ptr<catchweb::WebServer> start_catch_http(const std::string& listen, const std::string& maildir);

}  // namespace petrel::cli
