// petreld's configuration: one struct with every setting and its default,
// loaded from TOML. docs/config.md documents every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "shaping/shaping.hpp"
#include "smtp/session_options.hpp"

namespace petrel::config {

enum class UnknownLocalRecipient { accept, reject };

// RFC 6409 §6.1: which envelope senders an authenticated user may use.
enum class SenderLoginMatch {
  exact,   // MAIL FROM is the login name (logins are addresses)
  domain,  // MAIL FROM is in the login's domain
  any,     // no check
};

struct CertificateFiles {
  std::string cert;  // PEM, leaf first, then the chain
  std::string key;   // PEM private key
};

// [local] aliases and virtual aliases (docs/aliases.md).
struct AliasesConfig {
  std::string aliases_file;   // aliases(5) format; "": none
  std::string virtual_file;   // virtual(5) format; "": none
  bool allow_commands = false;  // "|command" and "/file" targets
  std::uint64_t max_depth = 20;
  std::uint64_t max_recipients = 1000;
  std::chrono::milliseconds command_timeout{std::chrono::seconds(1000)};  // Postfix's command_time_limit
  std::uint64_t command_output_limit = 4096;  // octets of a command's output kept for the bounce
};

struct TlsConfig {
  CertificateFiles certificate;         // the default; empty: no TLS
  std::vector<CertificateFiles> sni;    // more, chosen by the client's SNI name
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};
  bool enabled() const { return !certificate.cert.empty(); }
};

struct AuthConfig {
  std::string passwd_file;  // Dovecot's format; empty: no AUTH
  std::vector<std::string> mechanisms{"PLAIN", "LOGIN", "SCRAM-SHA-256"};
  // Listen addresses (as in [server]) trusted enough for AUTH in the clear.
  std::vector<std::string> allow_without_tls;
  std::chrono::milliseconds failure_delay{std::chrono::seconds(1)};  // doubles per failure
  std::chrono::milliseconds max_failure_delay{std::chrono::seconds(8)};
  std::size_t lockout_failures = 10;  // from one IP within lockout_window: 421 4.7.0
  std::chrono::milliseconds lockout_window{std::chrono::minutes(10)};
  std::chrono::milliseconds lockout_duration{std::chrono::minutes(10)};
};

struct SubmissionConfig {
  SenderLoginMatch sender_login_match = SenderLoginMatch::exact;
  bool add_missing_headers = true;  // Message-ID and Date (RFC 6409 §8)
};

// Delivery to other servers (issue 5): routing, retries, bounces.
struct RemoteDeliveryConfig {
  std::string relayhost;  // "[host]:port" etc. (delivery/route.hpp); "": MX lookup
  std::string relayhost_user;           // AUTH to the relayhost (over TLS only)
  std::string relayhost_password_file;  // the password, first line of the file
  std::vector<std::pair<std::string, std::string>> transports;  // domain -> route, as written
  std::chrono::milliseconds max_queue_lifetime{std::chrono::hours(24 * 5)};  // then bounce (4.4.7)
  std::chrono::milliseconds delay_warning{std::chrono::hours(4)};            // 0: never
  std::string double_bounce;  // where a failed bounce goes; "": logged and dropped
  std::string tls = "may";    // none, may, encrypt, verify (STARTTLS policy towards other servers)
  std::vector<std::pair<std::string, std::string>> tls_policies;  // domain (".parent" too) -> a policy
  std::string tls_ca_file;  // CAs for `verify` and MTA-STS (PEM); "": the system store
  bool mta_sts = true;      // apply the MTA-STS policies (RFC 8461) domains publish
  bool dane = true;         // apply DANE (RFC 7672) where DNSSEC validates the MX host's TLSA records
  // Aliases of [shaping.default] connection_limit and
  // max_deliveries_per_connection (Config::shaping), kept equal to them.
  std::size_t destination_concurrency = 20;  // connections per destination at once
  std::size_t messages_per_connection = 100;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::string resolver;  // [dns] resolver: "ADDR:PORT"; "": /etc/resolv.conf
  // [dns] trust_anchor_file: DS or DNSKEY lines; validates even through
  // `resolver`. "": the root anchor (/usr/share/dns/root.key) if present,
  // and only without `resolver`.
  std::string trust_anchor_file;
  std::string admin;  // [admin] listen: "unix:PATH" or "127.0.0.1:PORT"; "": unix:SPOOL/admin.sock
};

// Zero turns a limit off. Trusted networks are never limited.
struct RateConfig {
  std::size_t connections_per_minute = 0;  // per client IP
  std::size_t messages_per_hour = 0;       // per authenticated user
};

// [odmr]: On-Demand Mail Relay (RFC 2645, docs/odmr.md). Mail for these
// domains is held in the queue, never sent by MX, until the user that may
// fetch it connects to an ODMR listener and says ATRN.
struct OdmrConfig {
  // Login name -> the domains (A-label, lower case) it may fetch.
  std::map<std::string, std::vector<std::string>> domains;
  std::size_t claim_batch = 100;  // messages taken from the queue at a time for one session
  // The reversed session: how long to wait for each of the client's replies.
  std::chrono::milliseconds reply_timeout{std::chrono::minutes(5)};
  std::size_t line = 0;  // where [odmr] domains is, for errors
};

// [queue]: how much of the queue is in memory, and when a site is "down".
struct QueueConfig {
  std::size_t active_limit = 10000;  // messages loaded and attempted at once (Postfix's qmgr_message_active_limit)
  std::size_t max_ready = 1000;      // jobs waiting in one site's ready queue
  std::size_t failures_before_down = 3;  // connection failures in a row
  std::chrono::milliseconds down_backoff{std::chrono::minutes(1)};  // first wait while down; doubles
  std::chrono::milliseconds down_max_backoff{std::chrono::hours(1)};
  // Waiting for a remote server's replies (greeting, MAIL, RCPT, DATA, ...)
  // instead of RFC 5321 §4.5.3.2's minutes; 0: the RFC's. For labs and tests.
  std::chrono::milliseconds reply_timeout{0};
};

// [egress]: the local addresses mail leaves from, grouped in pools.
struct EgressSource {
  std::string name;
  std::string address;    // the local address to bind (IPv4 or IPv6 literal)
  std::string ehlo_name;  // "": [server] hostname
  // IP warm-up: from warmup_start (unix day, UTC), a daily cap of messages
  // per provider ("default": any site without a provider block) that
  // grows day by day; after the last day, no cap. Empty: no warm-up.
  std::int64_t warmup_start_day = 0;
  std::map<std::string, std::vector<std::uint64_t>> warmup;
};

struct EgressPool {
  std::string name;
  std::vector<std::pair<std::string, unsigned>> sources;  // name, weight (>= 1)
};

struct EgressConfig {
  std::vector<EgressSource> sources;
  std::vector<EgressPool> pools;
  std::string default_pool;                         // "": the first pool
  std::map<std::string, std::string> tenant_pools;  // tenant -> pool
};

// [bulk]: campaign and tenant from a trusted or authenticated client's
// header fields (removed from the message); "" turns one off.
struct BulkConfig {
  std::string campaign_header = "X-Campaign";
  std::string tenant_header = "X-Tenant";
};

// [http]: the HTTP listener (injection API, unsubscribe links); off
// unless listen names an address. docs/api.md.
struct HttpConfig {
  std::vector<std::string> listen;  // "ADDR:PORT"; empty: no listener
  bool tls = false;                 // HTTPS with [tls]'s certificate
  std::string api_tokens_file;      // "name:token[:tenant]" per line, mode 0600
  std::string public_url;           // base of unsubscribe links; "": https:// + hostname
  std::uint64_t max_request_size = 10ull << 20;  // body octets, as received
  std::size_t max_recipients = 10000;            // per request
  std::size_t max_connections = 256;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // to read a whole request
  std::size_t max_queued = 5'000'000;  // spool messages beyond which requests get 503
  unsigned threads = 0;                // 0: one per core
  bool metrics_public = true;          // GET /metrics without a token (docs/metrics.md)
  std::size_t metrics_max_sites = 50;  // sites with series of their own; the rest are site="other"
};

// [unsubscribe]: one-click unsubscribe links (RFC 8058) in bulk mail.
struct UnsubscribeConfig {
  std::vector<std::string> campaigns;  // campaigns whose API mail gets the links by default; "*": all
  bool mailto = true;                  // a mailto: link beside the https: one
  std::string mailto_domain;           // "": [server] hostname
  std::chrono::milliseconds link_lifetime{std::chrono::hours(24 * 180)};  // then a link gets 404
};

// [bounces]: what remote replies mean (docs/bounces.md).
struct BouncesConfig {
  std::string rules_file;  // rules tried before the shipped ones; "": the shipped ones only
  std::vector<std::string> suppress{"invalid_recipient", "bad_domain"};  // classes that suppress bulk recipients
  std::string complaints_address;  // ARF feedback reports arrive here (a feedback loop's address); "": none
};

// [[events.webhook]]: where events are POSTed (docs/events.md).
struct WebhookConfig {
  std::string name;
  std::string url;
  std::vector<std::string> types;  // empty: every type
  std::string tenant;              // "": every tenant
  std::size_t batch_size = 100;
  std::chrono::milliseconds batch_max_delay{1000};
  std::string secret_file;         // its text without the trailing newline is the HMAC key
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds max_retry_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds max_age{std::chrono::hours(72)};
  std::string ca_file;             // HTTPS: CAs to trust; "": the system store
  std::size_t line = 0;            // where it is configured, for errors
};

// [events]: the event log (docs/events.md); off while file is "".
struct EventsConfig {
  std::string file;                        // "./var/log/events.jsonl"; "": no event log
  std::uint64_t max_size = 100ull << 20;   // rotated past this
  unsigned keep = 10;                      // rotated files kept
  std::size_t max_pending = 100000;        // lines waiting for the disk; beyond: dropped from the log
  std::uint64_t max_outbox_size = 1ull << 30;  // the webhook outbox on disk; beyond: events dropped for webhooks
  std::vector<WebhookConfig> webhooks;
};

// [cluster]: what the nodes of a cluster share (docs/cluster.md). Every
// key is optional; a node without [cluster] stands alone.
struct ClusterConfig {
  std::string node_name;  // this node among the others; default: the machine's host name
  // Events on NATS JetStream: "nats://[USER:PASSWORD@]HOST:PORT", several
  // separated by commas; tls:// for TLS. "": events are not published.
  std::string nats;
  std::string nats_creds;     // a .creds file (user JWT and NKey seed); "": none
  std::string nats_token;     // an authentication token; "": none
  std::string nats_tls_ca;    // CAs that sign the server's certificate (turns TLS on); "": the system's
  std::string nats_tls_cert;  // a client certificate (PEM), with nats_tls_key
  std::string nats_tls_key;
  std::size_t nats_max_in_flight = 256;  // publishes waiting for JetStream's ack at once
  // Redis, for the limits with scope = "cluster" and the heartbeat;
  // "": none. "redis://[:password@]host:port[/db]".
  std::string redis;
  std::string redis_password;  // when the URL has none
  // rediss://: the CAs that sign Redis' certificate ("": the system's), a
  // client certificate and key when Redis asks for one (tls-auth-clients).
  std::string redis_tls_ca, redis_tls_cert, redis_tls_key;
  std::chrono::milliseconds redis_timeout{200};  // per request; slower counts as unreachable
  std::size_t token_batch = 20;                  // GCRA cells asked for at a time
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_ttl{5000};
  std::chrono::milliseconds lease_ttl{10000};  // a connection lease's, renewed every third of it
  // The suppression list shared through Redis (docs/cluster.md): nullopt
  // is the default, shared once redis is set (shares_suppression()).
  std::optional<bool> shared_suppression;
  std::size_t shared_suppression_log_length = 100000;  // the log stream, about (XADD MAXLEN ~)
  std::size_t shared_suppression_queue = 100000;       // local changes waiting for Redis
};

// [auth_checks]: SPF, DKIM, DMARC and ARC on inbound mail (docs/auth-checks.md),
// for clients neither trusted nor authenticated.
struct AuthChecksConfig {
  bool enabled = true;
  bool dmarc_enforce = true;     // p=reject refused (550 5.7.1), p=quarantine marked
  bool reject_spf_fail = false;  // an SPF fail (-all) refused on its own (550 5.7.23)
  std::size_t max_dkim_signatures = 5;  // beyond these, signatures are not verified
  std::string quarantine_folder;        // Maildir folder for quarantined mail, e.g. "Junk"; "": the inbox
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};  // all lookups of one message; then temperror
};

// [[dkim]]: one signing key (docs/dkim.md).
struct DkimKey {
  std::string domain;    // the From: domain it signs, lower case
  std::string selector;
  std::string key_file;  // PEM (PKCS#1 or PKCS#8 RSA, PKCS#8 Ed25519)
  std::string algorithm = "rsa-sha256";  // or "ed25519-sha256"
  std::vector<std::string> headers;      // signed fields; empty: the default set
  std::size_t line = 0;                  // where it is configured, for errors about the file
};

// [server] proxy_protocol and proxy_trusted, [timeouts] proxy_header: the
// listeners behind a TCP load balancer that sends the PROXY protocol
// header first (docs/cluster.md).
struct ProxyConfig {
  std::vector<std::string> listeners;  // listen addresses, as in the listen keys
  std::vector<std::string> trusted;    // CIDR: the balancers; empty: any peer of such a listener
  std::chrono::milliseconds header_timeout{std::chrono::seconds(5)};  // for the whole header
  std::size_t line = 0;                // where proxy_protocol is, for errors
};

struct Config {
  // [server]
  std::string hostname;                               // default: the machine's host name
  std::vector<std::string> listen{"127.0.0.1:2525"};  // "ADDR:PORT", "[v6]:PORT"
  std::size_t max_sessions = 1000;
  std::size_t max_sessions_per_ip = 50;
  unsigned ipv6_client_prefix = 64;  // an IPv6 client, for per-IP limits, is its /64
  // Message octets all sessions together may hold in memory while they
  // receive ([limits] body_memory_budget); past it a message is refused
  // with 452 4.3.1. Each holds at most session.limits.body_in_memory plus
  // a spill chunk; the rest goes to a file as it arrives.
  std::uint64_t body_memory_budget = 256ull << 20;
  unsigned threads = 0;  // 0: one per core but one (see Server)
  std::vector<std::string> listen_submission;  // port 587 semantics (RFC 6409)
  std::vector<std::string> listen_smtps;       // port 465: implicit TLS (RFC 8314)
  std::vector<std::string> listen_odmr;        // port 366: ODMR (RFC 2645), STARTTLS offered
  std::vector<std::string> listen_odmrs;       // ODMR over implicit TLS
  std::string user;  // started as root: run as this user after binding
  ProxyConfig proxy;  // proxy_protocol, proxy_trusted

  // [tls], [auth], [submission], [rate]
  TlsConfig tls;
  AuthConfig auth;
  SubmissionConfig submission;
  RateConfig rate;
  OdmrConfig odmr;

  // [relay]: clients that may relay without AUTH (CIDR)
  std::vector<std::string> trusted_networks;

  // [limits] and [timeouts] and [smtp] feed this directly.
  smtp::SessionOptions session;

  // [local]
  std::vector<std::string> local_domains{"localhost"};
  std::string maildir = "./var/mail";
  std::vector<std::string> local_users;  // used when unknown_local_recipient = reject
  UnknownLocalRecipient unknown_local_recipient = UnknownLocalRecipient::accept;
  std::string recipient_delimiter;
  AliasesConfig aliases;  // aliases, virtual_aliases and their limits (docs/aliases.md)

  // [spool]
  std::string spool_dir = "./var/spool";
  // Below this much free space new messages get 452 4.3.1 (Postfix's
  // queue_minfree); RocksDB needs about two memtables' worth to recover.
  std::uint64_t spool_min_free = 128ull << 20;
  // The maildrop petrel-sendmail leaves local mail in (docs/petrel-sendmail.md);
  // "": SPOOL/maildrop (see maildrop_dir()).
  std::string maildrop;
  bool maildrop_own_senders = false;  // maildrop_senders = "own": a user may only send as user@local domain
  std::chrono::milliseconds maildrop_scan_interval{std::chrono::seconds(60)};  // besides inotify

  // [delivery]
  std::vector<std::chrono::milliseconds> retry_intervals{
      std::chrono::seconds(30), std::chrono::minutes(5), std::chrono::minutes(10),
      std::chrono::minutes(20), std::chrono::minutes(40), std::chrono::hours(1)};
  RemoteDeliveryConfig remote;
  QueueConfig queue;
  BulkConfig bulk;
  EgressConfig egress;

  // [shaping] (and the files it includes): limits per site, provider,
  // domain and source, and the automation rules.
  shaping::Config shaping;
  ClusterConfig cluster;  // [cluster]: node name, Redis, NATS

  HttpConfig http;
  EventsConfig events;
  UnsubscribeConfig unsubscribe;
  BouncesConfig bounces;
  std::vector<DkimKey> dkim;
  AuthChecksConfig auth_checks;

  // [log]
  std::string log_level = "info";  // trace, debug, info, warn, error
};

// Whether this node's suppression list is shared through Redis.
inline bool shares_suppression(const Config& c) {
  return !c.cluster.redis.empty() && c.cluster.shared_suppression.value_or(true);
}

// A configuration error, with where it is: "petreld.toml:12: unknown key 'lisen'".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::size_t line, const std::string& message);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }

 private:
  std::string file_;
  std::size_t line_;
};

// Defaults for everything (the embedded default configuration).
Config default_config();

// Loads a TOML file over the defaults. Throws ConfigError for a missing
// file, bad TOML, an unknown key or a bad value.
Config load_config_file(const std::string& path);
// The same from text (name is used in error messages).
Config load_config_text(std::string_view toml, const std::string& name);

// [spool] maildrop, or SPOOL/maildrop when it is not set.
std::string maildrop_dir(const Config& c);

// Parses "30s", "5m", "2h", "1500ms" (a bare number is seconds).
bool parse_duration(std::string_view text, std::chrono::milliseconds& out);
// Parses "52428800", "50M", "50MiB", "1G" into bytes.
bool parse_size(std::string_view text, std::uint64_t& out);

// Checks cross-key constraints (e.g. listen not empty); throws ConfigError
// with line 0 naming the key.
void validate(const Config& c, const std::string& name);

}  // namespace petrel::config
