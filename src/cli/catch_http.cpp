#include "cli/catch_http.hpp"

#include <cstdio>
#include <stdexcept>

#include "catch_web/web_server.hpp"

namespace petrel::cli {

std::shared_ptr<catchweb::WebServer> start_catch_http(const std::string& listen, const std::string& maildir) {
  std::shared_ptr<catchweb::WebServer> web;
  try {
    web = std::make_shared<catchweb::WebServer>(listen, maildir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel catch: --http %s: %s\n", listen.c_str(), e.what());
    return nullptr;
  }
  if (!catchweb::loopback(listen)) {
    std::fprintf(stderr,
                 "petrel catch: warning: --http %s is not a loopback address; the web view has no authentication "
                 "and shows every caught message to whoever can reach it\n",
                 listen.c_str());
  }
  for (const auto& endpoint : web->endpoints()) std::fprintf(stderr, "petrel catch: web view on http://%s/\n", endpoint.c_str());
  std::fflush(stderr);
  return web;
}

}  // namespace petrel::cli
