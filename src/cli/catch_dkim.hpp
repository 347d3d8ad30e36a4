// petrel catch's DKIM check of the messages it caught: each signature is
// verified against its key in the DNS (src/dkim/ judges, libunbound
// looks up), after the session, so that the lookups never delay a reply.
// Included only by files that use Asio.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include "catch/grader.hpp"

namespace boost::asio {
class io_context;
}

namespace petrel::cli {

class CatchDkim {
 public:
  // `resolver`: "ADDR[:PORT]" of a DNS server to ask, or "" for those of
  // /etc/resolv.conf.
  CatchDkim(boost::asio::io_context& io, std::string resolver, std::chrono::milliseconds timeout);
  ~CatchDkim();

  // Whether the content holds a DKIM-Signature field worth checking.
  static bool is_signed(std::string_view content);
  // One result per DKIM-Signature, top first.
  boost::asio::awaitable<std::vector<catcher::DkimCheck>> check(const std::string& content);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::cli
