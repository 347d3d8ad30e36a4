// validate(): the checks that must hold whatever filled the Config (the
// file, command-line flags, or code), reported with line 0 and the key.
#include <gtest/gtest.h>

#include <functional>

#include "config/config.hpp"

namespace petrel::config {
namespace {

using namespace std::chrono_literals;

// The what() of validating the defaults after change; "" if valid.
std::string problem_after(const std::function<void(Config&)>& change) {
  Config c = default_config();
  c.hostname = "mx.example.com";
  change(c);
  try {
    validate(c, "petreld.toml");
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(e.file(), "petreld.toml");
    return e.what();
  }
  return "";
}

TEST(Validate, DefaultsAreValid) {
  EXPECT_EQ(problem_after([](Config&) {}), "");
}

TEST(Validate, ListenMustNotBeEmpty) {
  EXPECT_EQ(problem_after([](Config& c) { c.listen.clear(); }),
            "petreld.toml: [server] listen must name at least one \"ADDR:PORT\"");
}

TEST(Validate, ListenEntriesAreChecked) {
  EXPECT_EQ(problem_after([](Config& c) { c.listen.push_back("0.0.0.0:70000"); }),
            "petreld.toml: [server] listen entries must be \"ADDR:PORT\", got \"0.0.0.0:70000\"");
  EXPECT_EQ(problem_after([](Config& c) { c.listen = {"[::]:25", "localhost:587"}; }), "");
}

TEST(Validate, LocalDomainsMustNotBeEmpty) {
  EXPECT_EQ(problem_after([](Config& c) { c.local_domains.clear(); }),
            "petreld.toml: [local] domains must name at least one domain");
}

TEST(Validate, LocalDomainsAreChecked) {
  EXPECT_EQ(problem_after([](Config& c) { c.local_domains.push_back("bad domain"); }),
            "petreld.toml: [local] domains entries must be domain names, got \"bad domain\"");
}

TEST(Validate, Hostname) {
  EXPECT_EQ(problem_after([](Config& c) { c.hostname = ""; }),
            "petreld.toml: [server] hostname must be a domain name, got \"\"");
  EXPECT_NE(problem_after([](Config& c) { c.hostname = "a b"; }), "");
}

TEST(Validate, Sessions) {
  EXPECT_NE(problem_after([](Config& c) { c.max_sessions = 0; }), "");
  EXPECT_NE(problem_after([](Config& c) { c.max_sessions_per_ip = 0; }), "");
}

TEST(Validate, Limits) {
  EXPECT_EQ(problem_after([](Config& c) { c.session.limits.max_message_size = 1023; }),
            "petreld.toml: [limits] max_message_size must be ≥ 1024 bytes");
  EXPECT_NE(problem_after([](Config& c) { c.session.limits.max_recipients = 0; }), "");
  EXPECT_EQ(problem_after([](Config& c) { c.session.limits.max_command_line = 100; }),
            "petreld.toml: [limits] max_command_line must be ≥ 512 (RFC 5321 §4.5.3.1.4)");
  EXPECT_NE(problem_after([](Config& c) { c.session.limits.max_text_line = 999; }), "");
  EXPECT_EQ(problem_after([](Config& c) { c.session.limits.max_text_line = 0; }), "");
  EXPECT_NE(problem_after([](Config& c) { c.session.limits.max_errors = 0; }), "");
}

TEST(Validate, Timeouts) {
  EXPECT_EQ(problem_after([](Config& c) { c.session.limits.command_timeout = 0ms; }),
            "petreld.toml: [timeouts] command must be > 0");
  EXPECT_NE(problem_after([](Config& c) { c.session.limits.data_timeout = -1ms; }), "");
}

TEST(Validate, LocalDelivery) {
  EXPECT_NE(problem_after([](Config& c) { c.maildir.clear(); }), "");
  EXPECT_NE(problem_after([](Config& c) { c.local_users = {"a@b"}; }), "");
  EXPECT_NE(problem_after([](Config& c) { c.recipient_delimiter = "++"; }), "");
  EXPECT_EQ(problem_after([](Config& c) { c.recipient_delimiter = "-"; }), "");
}

TEST(Validate, SpoolRetriesAndLog) {
  EXPECT_NE(problem_after([](Config& c) { c.spool_dir.clear(); }), "");
  EXPECT_EQ(problem_after([](Config& c) { c.retry_intervals.clear(); }),
            "petreld.toml: [delivery] retry_intervals must not be empty");
  EXPECT_NE(problem_after([](Config& c) { c.retry_intervals = {0ms}; }), "");
  EXPECT_EQ(problem_after([](Config& c) { c.log_level = "loud"; }),
            "petreld.toml: [log] level must be one of trace, debug, info, warn, error, got \"loud\"");
}

}  // namespace
}  // namespace petrel::config
