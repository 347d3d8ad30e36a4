// Every way a configuration file can be wrong, and the exact "FILE:LINE:
// message" the operator sees for it.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace petrel::config {
namespace {

// The error loading text gives; a test failure if it loads.
ConfigError error_of(std::string_view text) {
  try {
    load_config_text(text, "petreld.toml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded without error:\n" << text;
  return ConfigError("", 0, "");
}

// Asserts the line and the complete what() of the error.
#define EXPECT_CONFIG_ERROR(text, expected_line, expected_what) \
  do {                                                          \
    const ConfigError e_ = error_of(text);                      \
    EXPECT_EQ(e_.file(), "petreld.toml");                       \
    EXPECT_EQ(e_.line(), expected_line);                        \
    EXPECT_EQ(std::string(e_.what()), expected_what);           \
  } while (false)

// Only checks that it is rejected at that line.
void expect_rejected_at(std::string_view text, std::size_t line) {
  const ConfigError e = error_of(text);
  EXPECT_EQ(e.line(), line) << text << "\n -> " << e.what();
}

// ---- ConfigError itself ----

TEST(ConfigErrorFormat, FileLineMessage) {
  const ConfigError e("petreld.toml", 12, "unknown key 'lisen'");
  EXPECT_STREQ(e.what(), "petreld.toml:12: unknown key 'lisen'");
  EXPECT_EQ(e.file(), "petreld.toml");
  EXPECT_EQ(e.line(), 12u);
}

TEST(ConfigErrorFormat, LineZeroIsLeftOut) {
  EXPECT_STREQ(ConfigError("petreld.toml", 0, "oops").what(), "petreld.toml: oops");
}

// ---- Files ----

TEST(Files, MissingFileSaysWhy) {
  try {
    load_config_file("/nonexistent/petreld.toml");
    FAIL() << "loaded a missing file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(e.file(), "/nonexistent/petreld.toml");
    EXPECT_STREQ(e.what(),
                 "/nonexistent/petreld.toml: cannot read /nonexistent/petreld.toml: No such file or directory");
  }
}

TEST(Files, DirectoryIsNotAFile) {
  try {
    load_config_file("/tmp");
    FAIL() << "loaded a directory";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_STREQ(e.what(), "/tmp: cannot read /tmp: Is a directory");
  }
}

// ---- TOML syntax ----

TEST(Syntax, ParseErrorCarriesTheLine) {
  const ConfigError e = error_of("[server]\nmax_sessions = 10\nlisten = [\"a\"\n\n");
  EXPECT_GE(e.line(), 3u);
  EXPECT_EQ(std::string(e.what()).rfind("petreld.toml:" + std::to_string(e.line()) + ": ", 0), 0u) << e.what();
}

TEST(Syntax, GarbageLine) { expect_rejected_at("[server]\n\nthis is not toml\n", 3); }

TEST(Syntax, DuplicateKey) { expect_rejected_at("[server]\nthreads = 1\nthreads = 2\n", 3); }

TEST(Syntax, DuplicateTable) { expect_rejected_at("[server]\n[log]\n[server]\n", 3); }

// ---- Unknown tables and keys ----

TEST(Unknown, KeyWithSuggestion) {
  EXPECT_CONFIG_ERROR("[server]\nthreads = 1\nlisen = [\"0.0.0.0:25\"]\n", 3u,
                      "petreld.toml:3: unknown key 'lisen' in [server] (did you mean 'listen'?)");
}

TEST(Unknown, SwappedLettersStillSuggest) {
  EXPECT_CONFIG_ERROR("[log]\nlevle = \"info\"\n", 2u,
                      "petreld.toml:2: unknown key 'levle' in [log] (did you mean 'level'?)");
}

TEST(Unknown, HyphensAndCaseStillSuggest) {
  EXPECT_CONFIG_ERROR("[server]\nMax-Sessions-Per-IP = 3\n", 2u,
                      "petreld.toml:2: unknown key 'Max-Sessions-Per-IP' in [server] (did you mean "
                      "'max_sessions_per_ip'?)");
}

TEST(Unknown, KeyWithoutSuggestion) {
  EXPECT_CONFIG_ERROR("[limits]\n\nfoo = 1\n", 3u, "petreld.toml:3: unknown key 'foo' in [limits]");
}

TEST(Unknown, KeyInTheWrongSection) {
  EXPECT_CONFIG_ERROR("[server]\nmax_message_size = \"10M\"\n", 2u,
                      "petreld.toml:2: unknown key 'max_message_size' in [server] ('max_message_size' belongs in "
                      "[limits])");
}

TEST(Unknown, TableWithSuggestion) {
  EXPECT_CONFIG_ERROR("[server]\nthreads = 1\n\n[limit]\nmax_errors = 3\n", 4u,
                      "petreld.toml:4: unknown table [limit] (did you mean [limits]?)");
}

TEST(Unknown, TableWithoutSuggestion) {
  EXPECT_CONFIG_ERROR("[xyzzy]\nselector = \"x\"\n", 1u, "petreld.toml:1: unknown table [xyzzy]");
}

TEST(Unknown, DkimIsAnArrayOfTablesNotATable) {
  EXPECT_CONFIG_ERROR("[dkim]\nselector = \"x\"\n", 1u,
                      "petreld.toml:1: dkim must be an array of tables: [[dkim]] domain = ..., selector = ...");
}

TEST(Unknown, TopLevelKeyIsNotASetting) {
  EXPECT_CONFIG_ERROR("# comment\nhostname = \"mx.example.com\"\n", 2u,
                      "petreld.toml:2: unknown key 'hostname' (settings go in a section such as [server])");
}

TEST(Unknown, SubTable) {
  EXPECT_CONFIG_ERROR("[server]\nthreads = 1\n[server.tls]\n", 3u, "petreld.toml:3: unknown table [server.tls] ([tls] is a section of its own, not part of [server])");
}

TEST(Unknown, SectionThatIsNotATable) {
  EXPECT_CONFIG_ERROR("log = \"debug\"\n", 1u, "petreld.toml:1: 'log' must be a table ([log]), got \"debug\"");
}

TEST(Unknown, ArrayOfTables) { expect_rejected_at("[[server]]\nthreads = 1\n", 1); }

// ---- [server] values ----

TEST(ServerValues, HostnameMustBeAString) {
  EXPECT_CONFIG_ERROR("[server]\nhostname = 42\n", 2u,
                      "petreld.toml:2: [server] hostname must be a domain name such as \"mx.example.com\", got 42");
}

TEST(ServerValues, HostnameMustBeADomain) {
  expect_rejected_at("[server]\nhostname = \"\"\n", 2);
  expect_rejected_at("[server]\nhostname = \"mx example\"\n", 2);
  expect_rejected_at("[server]\nhostname = \"-mx.example.com\"\n", 2);
  expect_rejected_at("[server]\nhostname = \"mx..example.com\"\n", 2);
}

TEST(ServerValues, ListenMustBeAnArray) {
  EXPECT_CONFIG_ERROR("[server]\nlisten = \"0.0.0.0:25\"\n", 2u,
                      "petreld.toml:2: [server] listen must be an array of \"ADDR:PORT\" strings (\"0.0.0.0:25\", "
                      "\"[::1]:25\", \"localhost:2525\"), got \"0.0.0.0:25\"");
}

TEST(ServerValues, ListenMustNotBeEmpty) { expect_rejected_at("[server]\n\nlisten = []\n", 3); }

TEST(ServerValues, BadListenEntryIsReportedOnItsOwnLine) {
  EXPECT_CONFIG_ERROR("[server]\nlisten = [\n  \"0.0.0.0:25\",\n  \"0.0.0.0:0\",\n]\n", 4u,
                      "petreld.toml:4: [server] listen must be \"ADDR:PORT\" with an IPv4 address, [IPv6] address "
                      "or localhost and a port from 1 to 65535, got \"0.0.0.0:0\"");
}

TEST(ServerValues, BadListenEntries) {
  for (const char* bad : {"0.0.0.0", "0.0.0.0:", ":25", "0.0.0.0:65536", "0.0.0.0:99999999999999999999", "0.0.0.0:-1",
                          "0.0.0.0:+25", "0.0.0.0:2 5", "256.0.0.1:25", "1.2.3:25", "::1:25", "[::1:25", "[]:25",
                          "[1.2.3.4]:25", "[::g]:25", "example.com:25", "localhost:x", " 0.0.0.0:25", "0.0.0.0:25 "}) {
    expect_rejected_at(std::string("[server]\nlisten = [\"") + bad + "\"]\n", 2);
  }
}

TEST(ServerValues, ListenEntryTwice) {
  EXPECT_CONFIG_ERROR("[server]\nlisten = [\"0.0.0.0:25\",\n\"0.0.0.0:25\"]\n", 3u,
                      "petreld.toml:3: [server] listen must be free of duplicates, got \"0.0.0.0:25\"");
}

TEST(ServerValues, ListenEntryMustBeAString) { expect_rejected_at("[server]\nlisten = [\n25]\n", 3); }

TEST(ServerValues, MaxSessions) {
  EXPECT_CONFIG_ERROR("[server]\nmax_sessions = 0\n", 2u,
                      "petreld.toml:2: [server] max_sessions must be a whole number ≥ 1, got 0");
  expect_rejected_at("[server]\nmax_sessions = \"10\"\n", 2);
  expect_rejected_at("[server]\nmax_sessions = 1.5\n", 2);
  expect_rejected_at("[server]\nmax_sessions = true\n", 2);
}

TEST(ServerValues, MaxSessionsPerIp) {
  EXPECT_CONFIG_ERROR("[server]\nmax_sessions_per_ip = -1\n", 2u,
                      "petreld.toml:2: [server] max_sessions_per_ip must be a whole number ≥ 1, got -1");
}

TEST(ServerValues, Threads) {
  EXPECT_CONFIG_ERROR("[server]\nthreads = -2\n", 2u,
                      "petreld.toml:2: [server] threads must be a whole number from 0 to 4294967295, got -2");
  expect_rejected_at("[server]\nthreads = 4294967296\n", 2);
}

// ---- [limits] values ----

TEST(LimitsValues, MaxRecipientsNegative) {
  EXPECT_CONFIG_ERROR("# petreld\n\n[limits]\nmax_message_size = \"10M\"\n\n\nmax_recipients = -3\n", 7u,
                      "petreld.toml:7: [limits] max_recipients must be a whole number ≥ 1, got -3");
}

TEST(LimitsValues, MaxRecipientsWrongType) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_recipients = \"many\"\n", 2u,
                      "petreld.toml:2: [limits] max_recipients must be a whole number ≥ 1, got \"many\"");
}

TEST(LimitsValues, MaxMessageSizeTooSmall) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_message_size = 1023\n", 2u,
                      "petreld.toml:2: [limits] max_message_size must be a size ≥ 1024 bytes, in bytes or like "
                      "\"50M\" or \"1G\", got 1023");
}

TEST(LimitsValues, MaxMessageSizeBad) {
  for (const char* bad : {"\"50X\"", "\"-5M\"", "-5", "\"\"", "1.5", "[\"50M\"]", "\"1K\" # ok\nmax_errors = 0",
                          "\"99999999999999999999G\""}) {
    expect_rejected_at(std::string("[limits]\nmax_message_size = ") + bad + "\n",
                       std::string(bad).find('#') == std::string::npos ? 2 : 3);
  }
}

TEST(LimitsValues, MaxCommandLineBelowRfcMinimum) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_command_line = 511\n", 2u,
                      "petreld.toml:2: [limits] max_command_line must be a whole number ≥ 512, got 511");
}

TEST(LimitsValues, MaxTextLine) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_text_line = 999\n", 2u,
                      "petreld.toml:2: [limits] max_text_line must be 0 (no limit) or a whole number ≥ 1000, got 999");
  expect_rejected_at("[limits]\nmax_text_line = -1\n", 2);
  expect_rejected_at("[limits]\nmax_text_line = \"1000\"\n", 2);
}

TEST(LimitsValues, MaxErrors) {
  EXPECT_CONFIG_ERROR("[limits]\nmax_errors = 0\n", 2u,
                      "petreld.toml:2: [limits] max_errors must be a whole number ≥ 1, got 0");
}

// ---- [timeouts] values ----

TEST(TimeoutsValues, ZeroIsRejected) {
  EXPECT_CONFIG_ERROR("[timeouts]\ncommand = \"0s\"\n", 2u,
                      "petreld.toml:2: [timeouts] command must be a duration > 0 such as \"30s\", \"5m\", \"1h\" or "
                      "whole seconds, got \"0s\"");
  expect_rejected_at("[timeouts]\ncommand = 0\n", 2);
  expect_rejected_at("[timeouts]\ndata = \"0ms\"\n", 2);
}

TEST(TimeoutsValues, BadDurations) {
  for (const char* bad :
       {"\"5 minutes\"", "\"-5s\"", "-5", "1.5", "\"\"", "true", "\"9223372036854775807s\"", "9223372036854775807"}) {
    expect_rejected_at(std::string("[timeouts]\n\ndata = ") + bad + "\n", 3);
  }
}

// ---- [smtp] values ----

TEST(SmtpValues, BareLineEndings) {
  EXPECT_CONFIG_ERROR("[smtp]\nbare_line_endings = \"accept\"\n", 2u,
                      "petreld.toml:2: [smtp] bare_line_endings must be one of \"reject\", \"normalize\", got "
                      "\"accept\"");
  expect_rejected_at("[smtp]\nbare_line_endings = \"Reject\"\n", 2);
  expect_rejected_at("[smtp]\nbare_line_endings = true\n", 2);
}

TEST(SmtpValues, Expn) {
  EXPECT_CONFIG_ERROR("[smtp]\nexpn = \"allow\"\n", 2u,
                      "petreld.toml:2: [smtp] expn must be one of \"refuse\", \"252\", got \"allow\"");
  expect_rejected_at("[smtp]\nexpn = 250\n", 2);
}

// ---- [local] values ----

TEST(LocalValues, DomainsMustNotBeEmpty) {
  EXPECT_CONFIG_ERROR("[local]\ndomains = []\n", 2u,
                      "petreld.toml:2: [local] domains must be a non-empty array of domain names, got an array");
}

TEST(LocalValues, BadDomainOnItsOwnLine) {
  EXPECT_CONFIG_ERROR("[local]\ndomains = [\n  \"example.com\",\n  \"exa mple.org\",\n]\n", 4u,
                      "petreld.toml:4: [local] domains must be a domain name such as \"example.com\", got \"exa "
                      "mple.org\"");
}

TEST(LocalValues, BadDomains) {
  const std::string long_label(64, 'a');
  const std::string long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                                std::string(62, 'd');  // 254 characters
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string("example..com"), std::string(".example.com"),
        std::string("example.com.."), std::string("-a.com"), std::string("a-.com"), std::string("ex_ample.com"),
        std::string("user@example.com"), std::string("[192.0.2.1]"), std::string("bücher.example"), long_label + ".com",
        long_name}) {
    expect_rejected_at("[local]\ndomains = [\"" + bad + "\"]\n", 2);
  }
}

TEST(LocalValues, LongestDomainIsAccepted) {
  const std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                           std::string(61, 'd');  // 253 characters
  EXPECT_EQ(load_config_text("[local]\ndomains = [\"" + name + ".\"]\n", "t").local_domains,
            std::vector<std::string>{name});
}

TEST(LocalValues, DomainsMustBeStrings) { expect_rejected_at("[local]\ndomains = [\"a.com\",\n 1]\n", 3); }

TEST(LocalValues, Maildir) {
  EXPECT_CONFIG_ERROR("[local]\nmaildir = \"\"\n", 2u,
                      "petreld.toml:2: [local] maildir must be a non-empty path, got \"\"");
  expect_rejected_at("[local]\nmaildir = [\"/a\"]\n", 2);
}

TEST(LocalValues, Users) {
  expect_rejected_at("[local]\nusers = \"alice\"\n", 2);
  expect_rejected_at("[local]\nusers = [\"alice\",\n\"bob@example.com\"]\n", 3);
  expect_rejected_at("[local]\nusers = [\"a b\"]\n", 2);
  expect_rejected_at("[local]\nusers = [\"\"]\n", 2);
}

TEST(LocalValues, UnknownRecipient) {
  EXPECT_CONFIG_ERROR("[local]\nunknown_recipient = \"bounce\"\n", 2u,
                      "petreld.toml:2: [local] unknown_recipient must be one of \"accept\", \"reject\", got "
                      "\"bounce\"");
}

TEST(LocalValues, RecipientDelimiter) {
  EXPECT_CONFIG_ERROR("[local]\nrecipient_delimiter = \"+-\"\n", 2u,
                      "petreld.toml:2: [local] recipient_delimiter must be \"\" or one printable ASCII character "
                      "such as \"+\", got \"+-\"");
  expect_rejected_at("[local]\nrecipient_delimiter = \"@\"\n", 2);
  expect_rejected_at("[local]\nrecipient_delimiter = \" \"\n", 2);
  expect_rejected_at("[local]\nrecipient_delimiter = \"é\"\n", 2);
  expect_rejected_at("[local]\nrecipient_delimiter = 1\n", 2);
}

// ---- [spool], [delivery], [log] values ----

TEST(SpoolValues, Dir) { expect_rejected_at("[spool]\ndir = \"\"\n", 2); }

TEST(DeliveryValues, RetryIntervalsMustNotBeEmpty) {
  EXPECT_CONFIG_ERROR("[delivery]\nretry_intervals = []\n", 2u,
                      "petreld.toml:2: [delivery] retry_intervals must be a non-empty array of durations such as "
                      "\"30s\" or \"5m\", got an array");
}

TEST(DeliveryValues, BadIntervalOnItsOwnLine) {
  EXPECT_CONFIG_ERROR("[delivery]\nretry_intervals = [\n  \"30s\",\n  \"5 min\",\n]\n", 4u,
                      "petreld.toml:4: [delivery] retry_intervals must be a duration > 0 such as \"30s\", \"5m\", "
                      "\"1h\" or whole seconds, got \"5 min\"");
}

TEST(DeliveryValues, RetryIntervalsMustBeAnArray) { expect_rejected_at("[delivery]\nretry_intervals = \"5m\"\n", 2); }

TEST(LogValues, Level) {
  EXPECT_CONFIG_ERROR("[log]\nlevel = \"verbose\"\n", 2u,
                      "petreld.toml:2: [log] level must be one of \"trace\", \"debug\", \"info\", \"warn\", "
                      "\"error\", got \"verbose\"");
  expect_rejected_at("[log]\nlevel = \"INFO\"\n", 2);
}

// ---- The first error wins, at its own line ----

TEST(Reporting, ErrorDeepInAFileHasItsLine) {
  EXPECT_CONFIG_ERROR(R"([server]
hostname = "mx.example.com"
listen = ["0.0.0.0:25"]

[limits]
max_message_size = "50M"

[timeouts]
command = "5m"
data = "forever"
)",
                      10u,
                      "petreld.toml:10: [timeouts] data must be a duration > 0 such as \"30s\", \"5m\", \"1h\" or "
                      "whole seconds, got \"forever\"");
}

TEST(Reporting, LongValuesAreShortened) {
  const ConfigError e = error_of("[log]\nlevel = \"" + std::string(100, 'x') + "\"\n");
  EXPECT_NE(std::string(e.what()).find("\"" + std::string(57, 'x') + "...\""), std::string::npos) << e.what();
}

TEST(Reporting, NameIsUsedAsFile) {
  try {
    load_config_text("[log]\nlevel = 1\n", "/etc/petrel/petreld.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/etc/petrel/petreld.toml");
    EXPECT_EQ(std::string(e.what()).rfind("/etc/petrel/petreld.toml:2: ", 0), 0u);
  }
}

TEST(Security, TrustedNetworkMustBeCidr) {
  EXPECT_CONFIG_ERROR("[relay]\ntrusted_networks = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n", 2u,
                      "petreld.toml:2: [relay] trusted_networks must be a network such as \"192.0.2.0/24\", "
                      "\"2001:db8::/32\" or an address, got \"10.0.0.0/40\"");
}

TEST(Security, SenderLoginMatchIsAChoice) {
  EXPECT_CONFIG_ERROR("[submission]\nsender_login_match = \"user\"\n", 2u,
                      "petreld.toml:2: [submission] sender_login_match must be one of \"exact\", \"domain\", "
                      "\"any\", got \"user\"");
}

TEST(Security, SniEntriesAreCertKeyTables) {
  EXPECT_CONFIG_ERROR("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nsni = [{ cert = \"a.pem\" }]\n", 4u,
                      "petreld.toml:4: [tls] sni must be a table { cert = \"FILE\", key = \"FILE\" }, got a table");
}

TEST(Delivery, TransportRoutesAreChecked) {
  EXPECT_CONFIG_ERROR("[delivery]\ntransport = { \"example.org\" = \"uucp:host\" }\n", 2u,
                      "petreld.toml:2: [delivery] transport must be a route: local, smtp:[HOST]:PORT, smtp:HOST, "
                      "lmtp:unix:/PATH or lmtp:HOST:PORT, got \"uucp:host\"");
}

TEST(Delivery, AdminListensOnLoopbackOnly) {
  EXPECT_CONFIG_ERROR("[admin]\nlisten = \"0.0.0.0:8025\"\n", 2u,
                      "petreld.toml:2: [admin] listen must be \"unix:PATH\" or a loopback \"127.0.0.1:PORT\", got "
                      "\"0.0.0.0:8025\"");
}

}  // namespace
}  // namespace petrel::config

namespace petrel::config {
namespace {

TEST(Dns, TrustAnchorFileThatCannotBeReadIsAnErrorAtItsLine) {
  const ConfigError e = error_of("[dns]\nresolver = \"127.0.0.1:53\"\ntrust_anchor_file = \"/nonexistent/ta.ds\"\n");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_NE(std::string(e.what()).find("a readable file of DS or DNSKEY records"), std::string::npos) << e.what();
}

TEST(Dns, TrustAnchorFileAndDaneAreRead) {
  const Config c = load_config_text("[dns]\ntrust_anchor_file = \"/dev/null\"\n[delivery]\ndane = false\n", "petreld.toml");
  EXPECT_EQ(c.remote.trust_anchor_file, "/dev/null");
  EXPECT_FALSE(c.remote.dane);
  EXPECT_TRUE(load_config_text("", "petreld.toml").remote.dane);  // the default
}

}  // namespace
}  // namespace petrel::config
