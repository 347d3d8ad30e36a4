// The dashboard's request checks, as pure functions of an http::Request:
// its session cookie, whether it comes from the dashboard's own origin
// (CSRF), and the cookies the dashboard sets.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace petrel::dashboard {

inline constexpr std::string_view kSessionCookie = "petrel_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// False when the request names an origin that is not this listener's own:
// an Origin header other than SCHEME://HOST, or, without Origin, a Referer
// outside it. A request with neither passes (SameSite=Strict and the CSRF
// token still stand in the way).
bool same_origin(const http::Request& request);

// Set-Cookie values: the session (HttpOnly, SameSite=Strict, Path=/,
// Secure on TLS), and its removal at logout.
std::string session_cookie(std::string_view id, bool secure, std::chrono::seconds max_age);
std::string cleared_cookie(bool secure);

}  // namespace petrel::dashboard
