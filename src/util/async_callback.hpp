// A callback-style operation ("start it, it calls done(result) on some
// thread") as an Asio asynchronous operation that completes on the
// caller's executor: co_await async_callback<R>(start, use_awaitable).
// Include only from files that use Asio already.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <memory>

namespace petrel::util {

// `start(done)` starts the operation; `done` (copyable, callable once, from
// any thread) completes it. The result is posted to the caller's executor,
// so the caller never resumes inside `start` nor on a foreign thread.
template <class Result, class Start, class Token>
auto async_callback(Start start, Token&& token) {
  return boost::asio::async_initiate<Token, void(Result)>(
      [](auto handler, Start start) {
        auto executor = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        std::function<void(Result)> done = [shared, executor](Result result) {
          boost::asio::post(executor, [shared, result = std::move(result)]() mutable { (*shared)(std::move(result)); });
        };
        start(std::move(done));
      },
      token, std::move(start));
}

}  // namespace petrel::util
