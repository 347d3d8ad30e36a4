// Login sessions (sessions.hpp) and the request checks (guard.hpp): random
// IDs, expiry, the bound on their number, cookies with the right
// attributes, and which origins may post.
#include <gtest/gtest.h>

#include <set>

#include "dashboard/guard.hpp"
#include "dashboard/sessions.hpp"

namespace petrel::dashboard {
namespace {

using namespace std::chrono_literals;

TEST(Sessions, AnOpenSessionIsFoundByItsIdUntilItExpires) {
  Sessions sessions(1h, 10);
  const Session s = sessions.open("ops", 1000);
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_EQ(s.csrf.size(), 64u);
  EXPECT_NE(s.id, s.csrf);
  ASSERT_TRUE(sessions.find(s.id, 2000));
  EXPECT_EQ(sessions.find(s.id, 2000)->caller, "ops");
  EXPECT_FALSE(sessions.find(s.id, 1000 + 3'600'000));  // expired
  EXPECT_EQ(sessions.size(), 0u);                       // and forgotten
}

TEST(Sessions, WrongOrClosedIdsFindNothing) {
  Sessions sessions(1h, 10);
  const Session s = sessions.open("ops", 0);
  std::string wrong = s.id;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(sessions.find(wrong, 1));
  EXPECT_FALSE(sessions.find("", 1));
  EXPECT_FALSE(sessions.find(s.id.substr(1), 1));
  sessions.close(s.id);
  EXPECT_FALSE(sessions.find(s.id, 1));
}

TEST(Sessions, AtTheBoundTheOneExpiringFirstMakesRoom) {
  Sessions sessions(1h, 2);
  const Session a = sessions.open("a", 0);
  const Session b = sessions.open("b", 10);
  const Session c = sessions.open("c", 20);
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_FALSE(sessions.find(a.id, 30));
  EXPECT_TRUE(sessions.find(b.id, 30));
  EXPECT_TRUE(sessions.find(c.id, 30));
}

TEST(Sessions, IdsDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_hex(32));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Guard, FindsTheSessionCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; petrel_session=abc; b=2", "petrel_session"), "abc");
  EXPECT_EQ(cookie_value("petrel_session=\"q\"", "petrel_session"), "q");
  EXPECT_EQ(cookie_value("xpetrel_session=abc", "petrel_session"), std::nullopt);
  EXPECT_EQ(cookie_value("", "petrel_session"), std::nullopt);
}

TEST(Guard, CookiesAreHttpOnlySameSiteStrictAndSecureOnTls) {
  const std::string plain = session_cookie("abc", false, 3600s);
  EXPECT_EQ(plain, "petrel_session=abc; Max-Age=3600; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_TRUE(session_cookie("abc", true, 3600s).ends_with("; Secure"));
  EXPECT_EQ(cleared_cookie(false), "petrel_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
}

http::Request from(std::string origin, std::string referer, bool tls = false) {
  http::Request r;
  r.host = "mail.example.org:8025";
  r.origin = std::move(origin);
  r.referer = std::move(referer);
  r.tls = tls;
  return r;
}

TEST(Guard, OnlyTheListenersOwnOriginMayPost) {
  EXPECT_TRUE(same_origin(from("http://mail.example.org:8025", "")));
  EXPECT_TRUE(same_origin(from("HTTP://Mail.Example.org:8025", "")));
  EXPECT_TRUE(same_origin(from("", "")));  // neither header: SameSite and the CSRF token decide
  EXPECT_TRUE(same_origin(from("", "http://mail.example.org:8025/#queue")));
  EXPECT_FALSE(same_origin(from("https://evil.example", "")));
  EXPECT_FALSE(same_origin(from("null", "")));
  EXPECT_FALSE(same_origin(from("https://mail.example.org:8025", "")));  // wrong scheme
  EXPECT_TRUE(same_origin(from("https://mail.example.org:8025", "", true)));
  EXPECT_FALSE(same_origin(from("", "http://mail.example.org:8025.evil.example/")));
  EXPECT_TRUE(same_origin(from("http://mail.example.org:8025", "https://evil.example/")));  // Origin decides
}

}  // namespace
}  // namespace petrel::dashboard
