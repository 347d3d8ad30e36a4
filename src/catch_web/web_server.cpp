#include "catch_web/web_server.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "catch_web/routes.hpp"
#include "catch_web/store.hpp"
#include "http/listener.hpp"

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::catchweb {

struct WebServer::Impl {
  explicit Impl(const std::string& maildir) : store(maildir), routes(store) {}

  boost::asio::awaitable<http::Response> handle(http::Request& request) { co_return routes.handle(request); }

  Store store;
  Routes routes;
  std::unique_ptr<http::Listener> listener;  // last: stopped before the routes go
};

WebServer::WebServer(const std::string& listen, const std::string& maildir) : impl_(std::make_unique<Impl>(maildir)) {
  http::ListenerOptions options;
  options.listen = {listen};
  options.max_body = 0;  // GET only
  options.max_connections = 64;
  options.threads = 1;
  options.server_name = "petrel catch";
  Impl* impl = impl_.get();
  impl_->listener =
      std::make_unique<http::Listener>(std::move(options), [impl](http::Request& request) { return impl->handle(request); });
}

WebServer::~WebServer() = default;

std::vector<std::string> WebServer::endpoints() const { return impl_->listener->endpoints(); }

bool loopback(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace petrel::catchweb

#pragma GCC diagnostic pop
