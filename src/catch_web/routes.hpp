// The routes of petrel catch's web view (docs/petrel-catch.md, HTTP): the
// page, its JSON API and the raw messages. Plain data in and out
// (http::Request, http::Response); the only I/O is the Store's reading.
#pragma once

#include <cstddef>

#include "catch_web/store.hpp"
#include "http/message.hpp"

namespace petrel::catchweb {

inline constexpr std::size_t kMaxParsed = 4 << 20;  // octets of a message parsed for the view; raw has no cap

class Routes {
 public:
  explicit Routes(Store& store) : store_(store) {}

  // Every response carries the security headers; only a part's HTML may be
  // framed, and only by the page, sandboxed.
  http::Response handle(const http::Request& request);

 private:
  http::Response route(const http::Request& request);
  http::Response list(const http::Request& request);
  http::Response message(const CaughtFile& file);
  http::Response raw(const CaughtFile& file);
  http::Response part(const CaughtFile& file, std::string_view index);

  Store& store_;
};

}  // namespace petrel::catchweb
