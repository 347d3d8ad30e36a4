// Loading TOML over the defaults: every key read, every default kept.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "config/config.hpp"

namespace petrel::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

Config load(std::string_view text) { return load_config_text(text, "petreld.toml"); }

// ---- Defaults ----

TEST(Defaults, AreThoseOfTheHeaders) {
  const Config c = default_config();
  const Config plain{};
  const smtp::SessionOptions session{};
  EXPECT_EQ(c.listen, plain.listen);
  EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_EQ(c.max_sessions, 1000u);
  EXPECT_EQ(c.max_sessions_per_ip, 50u);
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.session.limits.max_command_line, 512u);
  EXPECT_EQ(c.session.limits.max_text_line, 1000u);
  EXPECT_EQ(c.session.limits.max_message_size, 50ull * 1024 * 1024);
  EXPECT_EQ(c.session.limits.max_recipients, 1000u);
  EXPECT_EQ(c.session.limits.max_errors, 20u);
  EXPECT_EQ(c.session.limits.command_timeout, 5min);
  EXPECT_EQ(c.session.limits.data_timeout, 3min);
  EXPECT_EQ(c.session.bare_line_endings, session.bare_line_endings);
  EXPECT_EQ(c.session.bare_line_endings, smtp::BareLineEndingPolicy::reject);
  EXPECT_EQ(c.session.expn, smtp::ExpnPolicy::refuse);
  EXPECT_EQ(c.local_domains, std::vector<std::string>{"localhost"});
  EXPECT_EQ(c.maildir, "./var/mail");
  EXPECT_TRUE(c.local_users.empty());
  EXPECT_EQ(c.unknown_local_recipient, UnknownLocalRecipient::accept);
  EXPECT_EQ(c.recipient_delimiter, "");
  EXPECT_EQ(c.spool_dir, "./var/spool");
  EXPECT_EQ(c.retry_intervals, plain.retry_intervals);
  EXPECT_EQ(c.retry_intervals.size(), 6u);
  EXPECT_EQ(c.log_level, "info");
}

TEST(Defaults, HostnameIsTheMachinesName) {
  char buf[256] = {};
  ASSERT_EQ(gethostname(buf, sizeof buf - 1), 0);
  const Config c = default_config();
  EXPECT_EQ(c.hostname, buf[0] ? std::string(buf) : std::string("localhost"));
  EXPECT_EQ(c.session.hostname, c.hostname);
}

TEST(Defaults, EmptyFileKeepsEveryDefault) {
  const Config c = load("");
  const Config d = default_config();
  EXPECT_EQ(c.hostname, d.hostname);
  EXPECT_EQ(c.listen, d.listen);
  EXPECT_EQ(c.local_domains, d.local_domains);
  EXPECT_EQ(c.retry_intervals, d.retry_intervals);
  EXPECT_EQ(c.session.limits.max_message_size, d.session.limits.max_message_size);
  EXPECT_NO_THROW(validate(c, "petreld.toml"));
}

TEST(Defaults, EmptySectionsKeepEveryDefault) {
  const Config c = load("[server]\n[limits]\n[timeouts]\n[smtp]\n[local]\n[spool]\n[delivery]\n[log]\n");
  EXPECT_EQ(c.max_sessions, 1000u);
  EXPECT_EQ(c.session.limits.data_timeout, 3min);
  EXPECT_EQ(c.log_level, "info");
}

TEST(Defaults, SettingOneKeyLeavesItsNeighbours) {
  const Config c = load("[limits]\nmax_recipients = 5\n");
  EXPECT_EQ(c.session.limits.max_recipients, 5u);
  EXPECT_EQ(c.session.limits.max_errors, 20u);
  EXPECT_EQ(c.session.limits.max_message_size, 50ull << 20);
}

// ---- [server] ----

TEST(Server, Hostname) {
  const Config c = load("[server]\nhostname = \"mx.example.com\"\n");
  EXPECT_EQ(c.hostname, "mx.example.com");
  EXPECT_EQ(c.session.hostname, "mx.example.com");
}

TEST(Server, ListenTakesIPv4IPv6AndLocalhost) {
  const Config c = load(R"([server]
listen = ["0.0.0.0:25", "[::1]:587", "localhost:2525", "[2001:db8::1]:65535", "192.0.2.1:1"]
)");
  EXPECT_EQ(c.listen, (std::vector<std::string>{"0.0.0.0:25", "[::1]:587", "localhost:2525", "[2001:db8::1]:65535",
                                                "192.0.2.1:1"}));
}

TEST(Server, SessionsAndThreads) {
  const Config c = load("[server]\nmax_sessions = 10\nmax_sessions_per_ip = 2\nthreads = 4\n");
  EXPECT_EQ(c.max_sessions, 10u);
  EXPECT_EQ(c.max_sessions_per_ip, 2u);
  EXPECT_EQ(c.threads, 4u);
}

TEST(Server, ZeroThreadsMeansOnePerCore) { EXPECT_EQ(load("[server]\nthreads = 0\n").threads, 0u); }

// ---- [limits] ----

TEST(Limits, MaxMessageSizeAsInteger) {
  EXPECT_EQ(load("[limits]\nmax_message_size = 10485760\n").session.limits.max_message_size, 10485760u);
}

TEST(Limits, MaxMessageSizeAsString) {
  EXPECT_EQ(load("[limits]\nmax_message_size = \"25M\"\n").session.limits.max_message_size, 25ull << 20);
  EXPECT_EQ(load("[limits]\nmax_message_size = \"1GiB\"\n").session.limits.max_message_size, 1ull << 30);
}

TEST(Limits, MaxMessageSizeSmallestIs1024) {
  EXPECT_EQ(load("[limits]\nmax_message_size = 1024\n").session.limits.max_message_size, 1024u);
  EXPECT_EQ(load("[limits]\nmax_message_size = \"1K\"\n").session.limits.max_message_size, 1024u);
}

TEST(Limits, OtherLimits) {
  const Config c = load(R"([limits]
max_recipients = 100
max_command_line = 4096
max_text_line = 2000
max_errors = 3
)");
  EXPECT_EQ(c.session.limits.max_recipients, 100u);
  EXPECT_EQ(c.session.limits.max_command_line, 4096u);
  EXPECT_EQ(c.session.limits.max_text_line, 2000u);
  EXPECT_EQ(c.session.limits.max_errors, 3u);
}

TEST(Limits, RfcMinimumsAreAccepted) {
  const Config c = load("[limits]\nmax_command_line = 512\nmax_text_line = 1000\n");
  EXPECT_EQ(c.session.limits.max_command_line, 512u);
  EXPECT_EQ(c.session.limits.max_text_line, 1000u);
}

TEST(Limits, TextLineZeroMeansUnlimited) {
  EXPECT_EQ(load("[limits]\nmax_text_line = 0\n").session.limits.max_text_line, 0u);
}

// ---- [timeouts] ----

TEST(Timeouts, DurationStrings) {
  const Config c = load("[timeouts]\ncommand = \"300s\"\ndata = \"10m\"\n");
  EXPECT_EQ(c.session.limits.command_timeout, 300s);
  EXPECT_EQ(c.session.limits.data_timeout, 10min);
}

TEST(Timeouts, MillisecondsAndHours) {
  const Config c = load("[timeouts]\ncommand = \"1500ms\"\ndata = \"1h\"\n");
  EXPECT_EQ(c.session.limits.command_timeout, 1500ms);
  EXPECT_EQ(c.session.limits.data_timeout, 1h);
}

TEST(Timeouts, IntegersAreSeconds) {
  const Config c = load("[timeouts]\ncommand = 60\ndata = 120\n");
  EXPECT_EQ(c.session.limits.command_timeout, 60s);
  EXPECT_EQ(c.session.limits.data_timeout, 120s);
}

TEST(Timeouts, BareNumberStringIsSeconds) {
  EXPECT_EQ(load("[timeouts]\ncommand = \"45\"\n").session.limits.command_timeout, 45s);
}

// ---- [smtp] ----

TEST(Smtp, BareLineEndings) {
  EXPECT_EQ(load("[smtp]\nbare_line_endings = \"normalize\"\n").session.bare_line_endings,
            smtp::BareLineEndingPolicy::normalize);
  EXPECT_EQ(load("[smtp]\nbare_line_endings = \"reject\"\n").session.bare_line_endings,
            smtp::BareLineEndingPolicy::reject);
}

TEST(Smtp, Expn) {
  EXPECT_EQ(load("[smtp]\nexpn = \"252\"\n").session.expn, smtp::ExpnPolicy::answer_252);
  EXPECT_EQ(load("[smtp]\nexpn = \"refuse\"\n").session.expn, smtp::ExpnPolicy::refuse);
}

TEST(Smtp, ExpnUnquoted252MeansTheSame) {
  EXPECT_EQ(load("[smtp]\nexpn = 252\n").session.expn, smtp::ExpnPolicy::answer_252);
}

// ---- [local] ----

TEST(Local, DomainsAreLowerCasedWithoutTrailingDot) {
  const Config c = load("[local]\ndomains = [\"Example.COM.\", \"mail.example.org\", \"xn--bcher-kva.example\"]\n");
  EXPECT_EQ(c.local_domains, (std::vector<std::string>{"example.com", "mail.example.org", "xn--bcher-kva.example"}));
}

TEST(Local, SingleLabelDomainIsFine) {
  EXPECT_EQ(load("[local]\ndomains = [\"localhost\"]\n").local_domains, std::vector<std::string>{"localhost"});
}

TEST(Local, MaildirUsersPolicyDelimiterWithUsersLowerCased) {
  const Config c = load(R"([local]
maildir = "/var/mail/petrel"
users = ["alice", "bob.smith", "Carol"]
unknown_recipient = "reject"
recipient_delimiter = "+"
)");
  EXPECT_EQ(c.maildir, "/var/mail/petrel");
  EXPECT_EQ(c.local_users, (std::vector<std::string>{"alice", "bob.smith", "carol"}));
  EXPECT_EQ(c.unknown_local_recipient, UnknownLocalRecipient::reject);
  EXPECT_EQ(c.recipient_delimiter, "+");
}

TEST(Local, UnknownRecipientAccept) {
  EXPECT_EQ(load("[local]\nunknown_recipient = \"accept\"\n").unknown_local_recipient, UnknownLocalRecipient::accept);
}

TEST(Local, EmptyUsersAndEmptyDelimiterAreAllowed) {
  const Config c = load("[local]\nusers = []\nrecipient_delimiter = \"\"\n");
  EXPECT_TRUE(c.local_users.empty());
  EXPECT_EQ(c.recipient_delimiter, "");
}

// ---- [spool], [delivery], [log] ----

TEST(Spool, Dir) { EXPECT_EQ(load("[spool]\ndir = \"/var/spool/petrel\"\n").spool_dir, "/var/spool/petrel"); }

TEST(Delivery, RetryIntervals) {
  const Config c = load("[delivery]\nretry_intervals = [\"1m\", 300, \"1h\", \"1d\"]\n");
  EXPECT_EQ(c.retry_intervals, (std::vector<milliseconds>{1min, 5min, 1h, 24h}));
}

TEST(Delivery, RoutingRetriesAndBounces) {
  const Config c = load(R"([delivery]
relayhost = "[smarthost.example.org]:587"
transport = { "example.net" = "smtp:[192.0.2.7]:2525", ".corp.example" = "lmtp:unix:/run/dovecot/lmtp" }
max_queue_lifetime = "2d"
delay_warning = "0s"
tls = "encrypt"
tls_policy = { "bank.example" = "encrypt", ".corp.example" = "none" }
destination_concurrency = 5

[dns]
resolver = "127.0.0.1:5353"

[admin]
listen = "127.0.0.1:8025"
)");
  EXPECT_EQ(c.remote.relayhost, "[smarthost.example.org]:587");
  ASSERT_EQ(c.remote.transports.size(), 2u);
  EXPECT_EQ(c.remote.max_queue_lifetime, 48h);
  EXPECT_EQ(c.remote.delay_warning, 0ms);
  EXPECT_EQ(c.remote.tls, "encrypt");
  ASSERT_EQ(c.remote.tls_policies.size(), 2u);
  EXPECT_EQ(c.remote.destination_concurrency, 5u);
  EXPECT_EQ(c.remote.resolver, "127.0.0.1:5353");
  EXPECT_EQ(c.remote.admin, "127.0.0.1:8025");
  EXPECT_NO_THROW(validate(c, "petreld.toml"));
}

TEST(Log, EachLevel) {
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    EXPECT_EQ(load(std::string("[log]\nlevel = \"") + level + "\"\n").log_level, level);
  }
}

// ---- Whole files ----

TEST(Files, DottedKeysAndInlineTablesWork) {
  const Config c = load("server.max_sessions = 7\nlimits = { max_errors = 4 }\n");
  EXPECT_EQ(c.max_sessions, 7u);
  EXPECT_EQ(c.session.limits.max_errors, 4u);
}

TEST(Files, TheDocumentedExampleLoadsAndValidates) {
  // Keep in step with the example in docs/config.md.
  const Config c = load(R"(# /etc/petrel/petreld.toml
[server]
hostname = "mx.example.com"
listen = ["0.0.0.0:25", "[::]:25"]
max_sessions = 1000
max_sessions_per_ip = 50
threads = 0
listen_submission = ["0.0.0.0:587", "[::]:587"]
listen_smtps = ["0.0.0.0:465"]
user = "petrel"

[limits]
max_message_size = "50MiB"
max_recipients = 1000
max_command_line = 512
max_text_line = 1000
max_errors = 20

[timeouts]
command = "5m"
data = "3m"

[smtp]
bare_line_endings = "reject"
expn = "refuse"

[local]
domains = ["example.com", "example.org"]
maildir = "/var/mail/petrel"
users = ["alice", "bob", "postmaster"]
unknown_recipient = "reject"
recipient_delimiter = "+"

[spool]
dir = "/var/spool/petrel"

[delivery]
retry_intervals = ["30s", "5m", "10m", "20m", "40m", "1h"]

[log]
level = "info"

[tls]
cert = "/etc/petrel/mx.example.com.pem"
key = "/etc/petrel/mx.example.com.key"
sni = [{ cert = "/etc/petrel/mail.example.org.pem", key = "/etc/petrel/mail.example.org.key" }]
handshake_timeout = "30s"

[auth]
passwd_file = "/etc/petrel/passwd"
mechanisms = ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
failure_delay = "1s"
max_failure_delay = "8s"
lockout_failures = 10
lockout_window = "10m"
lockout_duration = "10m"

[relay]
trusted_networks = ["192.0.2.0/24", "2001:db8::/48"]

[submission]
sender_login_match = "exact"
add_missing_headers = true

[rate]
connections_per_minute = 60
messages_per_hour = 200

[shaping.default]
connection_limit = 20
max_connection_rate = "0"
max_deliveries_per_connection = 100
max_message_rate = "0"

[shaping.domain."example.net"]
connection_limit = 5

[shaping.provider.yahoo]
mx_suffix = [".yahoodns.net"]
max_deliveries_per_connection = 20

[[egress.source]]
name = "outbound-1"
address = "192.0.2.10"
ehlo_name = "mta1.example.org"

[[egress.pool]]
name = "main"
sources = [{ name = "outbound-1", weight = 1 }]

[shaping.source."outbound-1"]
max_message_rate = "1,000/h"

[[shaping.rule]]
provider = "yahoo"
match = '\[(TSS04|TS04)\]'
action = "suspend"
duration = "2h"

[[shaping.rule]]
domain = "example.net"
match = 'rate limited'
action = "set"
set = { max_message_rate = "10/min", connection_limit = 1 }
trigger = "2/h"
duration = "30m"
)");
  EXPECT_NO_THROW(validate(c, "petreld.toml"));
  EXPECT_EQ(c.shaping.providers.size(), 1u);
  EXPECT_EQ(c.shaping.rules.size(), 2u);
  EXPECT_EQ(c.shaping.domains.at("example.net").connection_limit, 5u);
  EXPECT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.retry_intervals, default_config().retry_intervals);
  EXPECT_EQ(c.listen_submission.size(), 2u);
  EXPECT_EQ(c.tls.sni.size(), 1u);
  EXPECT_EQ(c.auth.lockout_failures, 10u);
  EXPECT_EQ(c.trusted_networks.size(), 2u);
  EXPECT_EQ(c.rate.messages_per_hour, 200u);
}

TEST(Files, LoadsFromDisk) {
  char path[] = "/tmp/petrel-config-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "[server]\nmax_sessions = 3\n";
  const Config c = load_config_file(path);
  EXPECT_EQ(c.max_sessions, 3u);
  std::remove(path);
}

}  // namespace
}  // namespace petrel::config
