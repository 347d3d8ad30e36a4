// petreld: the Petrel mail server. Reads the configuration (or the embedded
// defaults), lets flags override it, opens the spool, starts delivery and
// serves SMTP until SIGTERM.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "aliases/alias_files.hpp"
#include "api/api_server.hpp"
#include "api/mail_sinks.hpp"
#include "api/record_sweeper.hpp"
#include "admin/cluster_commands.hpp"
#include "api/unsubscribe_handler.hpp"
#include "cluster/cluster_status.hpp"
#include "cluster/node_link.hpp"
#include "cluster/redis_url.hpp"
#include "dkim/algorithm.hpp"
#include "dkim/key.hpp"
#include "dkim/signer.hpp"
#include "events/bus.hpp"
#include "events/event_log.hpp"
#include "events/outbox.hpp"
#include "feedback/bounce_class.hpp"
#include "metrics/petrel_metrics.hpp"
#include "auth/password_hash.hpp"
#include "config/config.hpp"
#include "petreld/flags.hpp"
#include "pickup/pickup.hpp"
#include "queue/queue_manager.hpp"
#include "delivery/route.hpp"
#include "server/mail_policy.hpp"
#include "server/server.hpp"
#include "spool/spool.hpp"
#include "suppress/suppression_list.hpp"
#include "suppress/unsubscribe.hpp"
#include "tls/self_signed.hpp"
#include "util/idn.hpp"
#include "util/privileges.hpp"
#include "nats/event_publisher.hpp"
#include "nats/nats_metrics.hpp"
#include "webhook/webhooks.hpp"

namespace {

using petrel::config::Config;
using petrel::petreld::Overrides;

constexpr int kExitConfigError = 2;
constexpr int kExitStartupError = 1;

// A certificate to try STARTTLS with (make run); clients cannot verify it.
void make_self_signed_if_missing(const Config& config) {
  const auto& files = config.tls.certificate;
  if (files.cert.empty() || files.key.empty()) {
    throw std::runtime_error("--self-signed-cert needs --tls-cert and --tls-key to name the files");
  }
  if (std::filesystem::exists(files.cert) && std::filesystem::exists(files.key)) return;
  for (const auto& path : {files.cert, files.key}) {
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
  }
  petrel::tls::write_self_signed(files.cert, files.key, config.hostname, {"localhost"});
  spdlog::warn("created a self-signed certificate for {} in {} (for trials only)", config.hostname, files.cert);
}

// petreld --hash-password [SCHEME]: for the passwd-file. The password comes
// from stdin so it stays out of ps and shell history.
int hash_password(const std::string& scheme) {
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "Password: ");
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    std::fprintf(stderr, "petreld: empty password\n");
    return kExitConfigError;
  }
  try {
    std::printf("%s\n", petrel::auth::make_password_hash(scheme, password).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petreld: %s\n", e.what());
    return kExitConfigError;
  }
  return 0;
}

// a warning.
std::optional<petrel::util::RunAs> prepare_user(const Config& config) {
  if (geteuid() != 0) return std::nullopt;
  if (config.user.empty()) {
    spdlog::warn("running as root: set [server] user (or --user) to run unprivileged after binding");
    return std::nullopt;
  }
  auto user = petrel::util::lookup_user(config.user);
  petrel::util::give_tree_to(config.spool_dir, user, petrel::config::maildrop_dir(config));
  petrel::util::give_tree_to(config.maildir, user);
  return user;
}

// Routes and remote delivery from [delivery], [dns]; the syntax was
// checked with the rest of the configuration.
// The config has checked the word already.
petrel::smtp::TlsPolicy tls_policy(std::string_view word) {
  using petrel::smtp::TlsPolicy;
  if (word == "none") return TlsPolicy::none;
  if (word == "encrypt") return TlsPolicy::encrypt;
  if (word == "verify") return TlsPolicy::verify;
  return TlsPolicy::may;
}

// [cluster] redis as both Redis clients (shared limits, node link) take it.
petrel::cluster::RedisOptions redis_options(const Config& config) {
  petrel::cluster::RedisOptions o;
  std::string error;
  o.url = *petrel::cluster::parse_redis_url(config.cluster.redis, error);  // checked by the config
  o.password = config.cluster.redis_password;
  o.tls_ca = config.cluster.redis_tls_ca;
  o.tls_cert = config.cluster.redis_tls_cert;
  o.tls_key = config.cluster.redis_tls_key;
  o.timeout = config.cluster.redis_timeout;
  return o;
}

void configure_remote(const Config& config, petrel::queue::QueueOptions& q) {
  const auto& r = config.remote;
  std::string error;
  for (const auto& [domain, route] : r.transports) {
    q.routes.transports[petrel::util::ascii_domain(domain)] = *petrel::delivery::parse_route(route, error);
  }
  if (!r.relayhost.empty()) q.routes.relayhost = petrel::delivery::parse_relayhost(r.relayhost, error);
  // [odmr] domains: held for their client's ATRN (RFC 2645), never sent by MX.
  petrel::delivery::Route held;
  held.kind = petrel::delivery::Route::Kind::odmr;
  for (const auto& [user, domains] : config.odmr.domains) {
    for (const auto& domain : domains) q.routes.transports[petrel::util::ascii_domain(domain)] = held;
  }
  petrel::queue::RemoteOptions remote;
  remote.hostname = config.hostname;
  remote.resolver = r.resolver;
  remote.tls = tls_policy(r.tls);
  remote.tls_ca_file = r.tls_ca_file;
  remote.mta_sts = r.mta_sts;
  remote.dane = r.dane;
  remote.trust_anchor_file = r.trust_anchor_file;
  remote.shaping = config.shaping;
  if (!config.cluster.redis.empty()) {
    petrel::cluster::ClusterOptions cluster;
    cluster.node_name = config.cluster.node_name;
    cluster.redis = redis_options(config);
    cluster.token_batch = config.cluster.token_batch;
    cluster.heartbeat_interval = config.cluster.heartbeat_interval;
    cluster.heartbeat_ttl = config.cluster.heartbeat_ttl;
    cluster.lease_ttl = config.cluster.lease_ttl;
    cluster.version = PETREL_VERSION;
    remote.cluster = std::move(cluster);
  }
  remote.max_ready = config.queue.max_ready;
  remote.health.failures_before_down = config.queue.failures_before_down;
  remote.health.initial_backoff = config.queue.down_backoff;
  remote.health.max_backoff = std::max(config.queue.down_max_backoff, config.queue.down_backoff);
  if (config.queue.reply_timeout.count() > 0) remote.reply_timeout = config.queue.reply_timeout;
  for (const auto& s : config.egress.sources) {
    remote.sources.push_back({s.name, s.address, s.ehlo_name, s.warmup_start_day, s.warmup});
  }
  for (const auto& pool : config.egress.pools) remote.pools.push_back({pool.name, pool.sources});
  remote.default_pool = config.egress.default_pool;
  remote.tenant_pools = config.egress.tenant_pools;
  remote.connect_timeout = r.connect_timeout;
  if (!r.relayhost_user.empty()) {
    std::ifstream file(r.relayhost_password_file);
    std::string password;
    if (!std::getline(file, password)) {
      throw std::runtime_error("cannot read the relayhost password from " + r.relayhost_password_file);
    }
    remote.relayhost_credentials = petrel::smtp::Credentials{r.relayhost_user, password};
  }
  for (const auto& [domain, policy] : r.tls_policies) {
    q.tls_policies[petrel::util::ascii_domain(domain)] = tls_policy(policy);
  }
  q.remote = remote;
  q.max_queue_lifetime = r.max_queue_lifetime;
  q.delay_warning = r.delay_warning;
  q.double_bounce = r.double_bounce;
}

// The classifier of [bounces]: the operator's rules, then the shipped ones.
// Throws std::runtime_error (a configuration error) naming the file or class.
struct Bounces {
  petrel::feedback::Classifier classifier;
  std::vector<petrel::feedback::Category> suppressing;
};

Bounces load_bounces(const Config& config) {
  Bounces b;
  if (!config.bounces.rules_file.empty()) {
    std::string error;
    auto rules = petrel::feedback::load_rules_file(config.bounces.rules_file, error);
    if (!rules) throw std::runtime_error(error);
    b.classifier = std::move(*rules);
  }
  b.classifier.append(petrel::feedback::default_classifier());
  for (const auto& name : config.bounces.suppress) {
    const auto category = petrel::feedback::category_from_string(name);
    if (!category) throw std::runtime_error("[bounces] suppress: '" + name + "' is not a bounce class (docs/bounces.md)");
    b.suppressing.push_back(*category);
  }
  return b;
}

// The keys of [[dkim]], loaded; throws std::runtime_error "FILE:LINE: ..."
// naming the key that does not load or does not fit its algorithm.
std::vector<petrel::dkim::DomainKey> load_dkim_keys(const Config& config, const std::string& file) {
  std::vector<petrel::dkim::DomainKey> keys;
  for (const auto& k : config.dkim) {
    const auto algorithm = petrel::dkim::parse_algorithm(k.algorithm);
    std::string error;
    auto key = petrel::dkim::load_key_file(k.key_file, algorithm, error);
    if (!key) throw petrel::config::ConfigError(file, k.line, "[[dkim]] key_file: " + error);
    petrel::dkim::SignerConfig signer;
    signer.domain = k.domain;
    signer.selector = k.selector;
    signer.algorithm = *algorithm;
    if (!k.headers.empty()) signer.headers = k.headers;
    keys.push_back({std::move(signer), std::make_shared<const petrel::dkim::Key>(std::move(*key))});
  }
  return keys;
}

// [[events.webhook]] as the webhooks need it, each with its secret read
// (the file's text without its trailing newline); an unreadable or empty
// secret is a configuration error naming the webhook and its line.
std::vector<petrel::webhook::WebhookOptions> webhook_options(const Config& config, const std::string& config_file) {
  std::vector<petrel::webhook::WebhookOptions> out;
  for (const auto& w : config.events.webhooks) {
    petrel::webhook::WebhookOptions o;
    o.name = w.name;
    o.url = w.url;
    for (const auto& t : w.types) {
      if (auto type = petrel::events::type_named(t)) o.types.insert(*type);
    }
    o.tenant = w.tenant;
    o.batch_size = w.batch_size;
    o.batch_max_delay = w.batch_max_delay;
    o.timeout = w.timeout;
    o.max_retry_interval = w.max_retry_interval;
    o.max_age = w.max_age;
    o.ca_file = w.ca_file;
    std::ifstream in(w.secret_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    o.secret = text.str();
    while (!o.secret.empty() && (o.secret.back() == '\n' || o.secret.back() == '\r')) o.secret.pop_back();
    if (!in || o.secret.empty()) {
      throw std::runtime_error(config_file + ":" + std::to_string(w.line) + ": webhook " + w.name +
                               ": cannot read a secret from " + w.secret_file);
    }
    out.push_back(std::move(o));
  }
  return out;
}

// The maildrop (docs/petrel-sendmail.md): made (1733) with its directory
// for bad files. When it lies in the spool directory, local users must be
// able to pass through that: the spool becomes 0711 (search, no listing)
// and its files private (0600, and petreld's umask 077 for new ones), so
// nobody reads the spool's files by guessing their names.
petrel::pickup::PickupOptions maildrop_options(const Config& config, const std::optional<petrel::util::RunAs>& run_as) {
  petrel::pickup::PickupOptions o;
  o.maildrop = petrel::config::maildrop_dir(config);
  o.corrupt_dir = config.spool_dir + "/maildrop.corrupt";
  o.hostname = config.hostname;
  o.limits.max_content = config.session.limits.max_message_size;
  o.limits.max_recipients = config.session.limits.max_recipients;
  o.senders = config.maildrop_own_senders ? petrel::pickup::SenderRule::own : petrel::pickup::SenderRule::any;
  o.sender_domains = config.local_domains;
  o.sender_domains.push_back(config.hostname);
  o.daemon_uid = run_as ? run_as->uid : geteuid();
  o.scan_interval = config.maildrop_scan_interval;
  const uid_t* owner = run_as ? &run_as->uid : nullptr;
  const gid_t* group = run_as ? &run_as->gid : nullptr;
  petrel::pickup::prepare_maildrop(o, owner, group);
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(fs::path(o.maildrop).parent_path(), config.spool_dir, ec)) {
    ::chmod(config.spool_dir.c_str(), 0711);
    for (const auto& entry : fs::directory_iterator(config.spool_dir, ec)) {
      if (entry.is_regular_file(ec)) fs::permissions(entry.path(), fs::perms::group_all | fs::perms::others_all,
                                                     fs::perm_options::remove, ec);
    }
  }
  return o;
}

// The alias files (docs/aliases.md), read as the server will read them:
// an error in them is a configuration error, each at its FILE:LINE. A
// pipe or file target while allow_commands is off is one for
// --check-config; a server that starts with it logs it and refuses mail
// to that alias, so that a shared /etc/aliases does not stop the server.
void check_aliases(const Config& config, bool strict) {
  const petrel::aliases::Loaded loaded = petrel::aliases::load(
      {config.aliases.aliases_file, config.aliases.virtual_file, config.aliases.allow_commands});
  std::vector<petrel::aliases::Problem> problems = loaded.errors;
  if (strict) problems.insert(problems.end(), loaded.refused.begin(), loaded.refused.end());
  if (problems.empty()) return;
  std::string text;
  for (const auto& p : problems) text += (text.empty() ? "" : "\npetreld: ") + p.str();
  throw std::runtime_error(text);
}

// RLIMIT_NOFILE, raised to what the configuration needs: every session a
// socket and, for a big message, a spill file; each HTTP connection one;
// and a reserve for the spool's files (RocksDB keeps up to 1,024 open),
// outbound connections, Maildir deliveries and the listeners. Raising the
// hard limit needs root (CAP_SYS_RESOURCE); below it, the warning says
// how many sessions the limit serves.
void raise_open_files_limit(const Config& config) {
  constexpr rlim_t kReserve = 4096;
  const rlim_t want = 2 * static_cast<rlim_t>(config.max_sessions) + config.http.max_connections + kReserve;
  rlimit now{};
  if (::getrlimit(RLIMIT_NOFILE, &now) != 0 || now.rlim_cur >= want) return;
  rlimit raised{want, std::max(now.rlim_max, want)};
  if (now.rlim_max == RLIM_INFINITY) raised.rlim_max = RLIM_INFINITY;
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    spdlog::info("open files: limit raised from {} to {} for max_sessions = {}", now.rlim_cur, want, config.max_sessions);
    return;
  }
  raised = {now.rlim_max, now.rlim_max};
  if (now.rlim_cur < now.rlim_max) ::setrlimit(RLIMIT_NOFILE, &raised);
  const rlim_t serves = now.rlim_max > kReserve + config.http.max_connections
                            ? (now.rlim_max - kReserve - config.http.max_connections) / 2
                            : 0;
  spdlog::warn("open files: the hard limit {} is below the {} that max_sessions = {} needs; sessions past about {} "
               "will fail. Raise it (ulimit -Hn as root, or LimitNOFILE= in the systemd unit) or lower max_sessions",
               now.rlim_max, want, config.max_sessions, serves);
}

petrel::nats::PublisherOptions nats_options(const Config& config) {
  const auto& c = config.cluster;
  return {.node_name = c.node_name, .urls = c.nats, .creds_file = c.nats_creds, .token = c.nats_token,
          .tls_ca = c.nats_tls_ca, .tls_cert = c.nats_tls_cert, .tls_key = c.nats_tls_key,
          .max_in_flight = c.nats_max_in_flight};
}

// The event outbox and its readers: the webhooks, the NATS publisher.
// Events that are not written with mail (suppressions, operator actions)
// are put in it as they are emitted. Returns that bus subscription.
std::size_t open_outbox(const Config& config, petrel::spool::Spool& spool,
                        std::vector<petrel::webhook::WebhookOptions> hooks,
                        std::unique_ptr<petrel::events::Outbox>& outbox,
                        std::unique_ptr<petrel::webhook::Webhooks>& webhooks,
                        std::unique_ptr<petrel::nats::EventPublisher>& nats_events) {
  const bool nats = !config.cluster.nats.empty();
  const unsigned readers = (hooks.empty() ? 0 : 1) + (nats ? 1 : 0);
  outbox = std::make_unique<petrel::events::Outbox>(spool, config.events.max_outbox_size, readers);
  petrel::events::set_outbox(outbox.get());
  unsigned reader = 0;
  if (!hooks.empty()) webhooks = std::make_unique<petrel::webhook::Webhooks>(std::move(hooks), *outbox, reader++, spool);
  if (nats) nats_events = std::make_unique<petrel::nats::EventPublisher>(nats_options(config), *outbox, reader++, spool);
  return petrel::events::bus().subscribe([o = outbox.get()](const petrel::events::Event& e) {
    if (petrel::events::written_with_mail(e.type)) return;
    if (auto ec = o->record(e)) spdlog::error("events: a {} event was not put in the outbox: {}",
                                              petrel::events::type_name(e.type), ec.message());
  });
}

// [cluster] redis: the node's link for the shared suppression list and
// `petrel cluster status` (the shared limits have their own, in the queue).
petrel::cluster::NodeLinkOptions node_link_options(const Config& config) {
  petrel::cluster::NodeLinkOptions o;
  o.node_name = config.cluster.node_name;
  o.redis = redis_options(config);
  if (petrel::config::shares_suppression(config)) {
    petrel::cluster::SuppressSyncOptions s;
    s.stream_max = config.cluster.shared_suppression_log_length;
    s.pending_max = config.cluster.shared_suppression_queue;
    o.suppression = s;
  }
  return o;
}

// Starts the link and connects it to the suppression list and the admin
// channel (stop_node_link undoes both before the link goes).
std::unique_ptr<petrel::cluster::NodeLink> start_node_link(const Config& config, petrel::spool::Spool& spool) {
  if (config.cluster.redis.empty()) return nullptr;
  auto link = std::make_unique<petrel::cluster::NodeLink>(node_link_options(config), spool);
  petrel::cluster::NodeLink* l = link.get();
  if (petrel::config::shares_suppression(config)) {
    petrel::suppress::set_change_observer([l](const std::vector<petrel::suppress::Change>& c) { l->local_changes(c); });
  }
  petrel::admin::set_cluster_status([l] { return l->status(std::chrono::seconds(2)); });
  link->start();
  return link;
}

// "nats://user:secret@host:4222,nats://h2" without what is before each '@'.
std::string redacted_nats(std::string_view urls) {
  std::string out;
  while (!urls.empty()) {
    const auto comma = urls.find(',');
    std::string one(urls.substr(0, comma));
    urls.remove_prefix(comma == std::string_view::npos ? urls.size() : comma + 1);
    const auto scheme = one.find("://");
    const auto at = one.rfind('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme) one.erase(scheme + 3, at - scheme - 2);
    if (!out.empty()) out += ',';
    out += one;
  }
  return out;
}

// [cluster] nats: its health in petrel cluster status; a node without
// Redis answers that request with itself and its links alone.
void watch_nats(const Config& config, bool node_link) {
  petrel::cluster::set_health_source("nats", [url = redacted_nats(config.cluster.nats)] {
    const bool up = petrel::nats::connected_gauge().value() >= 1;
    const auto pending = static_cast<std::uint64_t>(petrel::nats::pending_gauge().value());
    return nlohmann::json{{"url", url}, {"connected", up}, {"detail", std::to_string(pending) + " events not acked"}};
  });
  if (node_link) return;
  petrel::admin::set_cluster_status([node = config.cluster.node_name] {
    return nlohmann::json{{"ok", true}, {"cluster", true}, {"node", node}, {"links", petrel::cluster::health()}};
  });
}

void stop_node_link(std::unique_ptr<petrel::cluster::NodeLink>& link) {
  if (!link) return;
  petrel::admin::set_cluster_status(nullptr);
  petrel::suppress::set_change_observer(nullptr);
  link.reset();
}

int serve(const Config& config, const std::vector<petrel::dkim::DomainKey>& dkim_keys,
          std::vector<petrel::webhook::WebhookOptions> hooks) {
  std::unique_ptr<petrel::spool::Spool> spool;
  std::unique_ptr<petrel::queue::QueueManager> queue;
  std::unique_ptr<petrel::server::Server> server;
  std::unique_ptr<petrel::api::ApiServer> api;
  std::unique_ptr<petrel::suppress::SuppressionList> suppressions;
  std::unique_ptr<petrel::suppress::UnsubscribeTokens> unsubscribe_tokens;
  Bounces bounces;
  std::unique_ptr<petrel::api::Unsubscriber> unsubscriber;
  std::unique_ptr<petrel::api::MailSinks> sinks;
  std::unique_ptr<petrel::api::RecordSweeper> sweeper;
  std::unique_ptr<petrel::events::EventLog> event_log;
  std::unique_ptr<petrel::events::Outbox> outbox;
  std::unique_ptr<petrel::webhook::Webhooks> webhooks;
  std::unique_ptr<petrel::nats::EventPublisher> nats_events;
  std::unique_ptr<petrel::pickup::Pickup> pickup;
  std::unique_ptr<petrel::cluster::NodeLink> node_link;
  std::size_t event_log_subscription = 0;
  std::size_t outbox_subscription = 0;
  ::umask(077);  // the spool, the Maildirs and the logs are petreld's alone
  raise_open_files_limit(config);  // before the switch to [server] user: only root may raise the hard limit
  try {
    bounces = load_bounces(config);
    const auto run_as = prepare_user(config);
    petrel::metrics::register_petrel_metrics(config.http.metrics_max_sites);
    if (!config.events.file.empty()) {
      event_log = std::make_unique<petrel::events::EventLog>(petrel::events::EventLogOptions{
          config.events.file, config.events.max_size, config.events.keep, config.events.max_pending});
      if (run_as && ::chown(config.events.file.c_str(), run_as->uid, run_as->gid) != 0) {
        throw std::runtime_error("cannot give " + config.events.file + " to user " + run_as->name);
      }
      event_log_subscription = petrel::events::bus().subscribe(
          [log = event_log.get()](const petrel::events::Event& e) { log->record(e); });
    }
    spool = petrel::spool::open_rocksdb_spool({.directory = config.spool_dir, .min_free_bytes = config.spool_min_free});
    if (!hooks.empty() || !config.cluster.nats.empty()) {
      outbox_subscription = open_outbox(config, *spool, std::move(hooks), outbox, webhooks, nats_events);
    }
    suppressions = std::make_unique<petrel::suppress::SuppressionList>(*spool);
    unsubscribe_tokens = std::make_unique<petrel::suppress::UnsubscribeTokens>(petrel::suppress::unsubscribe_secret(*spool));
    petrel::queue::QueueOptions queue_options;
    queue_options.routing = petrel::server::local_routing(config);
    queue_options.hostname = config.hostname;
    queue_options.retry_intervals = config.retry_intervals;
    queue_options.alias_commands.timeout = config.aliases.command_timeout;
    queue_options.alias_commands.output_limit = config.aliases.command_output_limit;
    queue_options.active_limit = config.queue.active_limit;
    configure_remote(config, queue_options);
    queue_options.classifier = &bounces.classifier;
    queue_options.suppressing = bounces.suppressing;
    queue_options.suppressions = suppressions.get();
    queue = std::make_unique<petrel::queue::QueueManager>(*spool, queue_options);
    unsubscriber = std::make_unique<petrel::api::Unsubscriber>(*spool, *suppressions, *unsubscribe_tokens);
    petrel::api::SweepOptions sweep;
    sweep.link_lifetime = std::chrono::duration_cast<std::chrono::seconds>(config.unsubscribe.link_lifetime);
    sweeper = std::make_unique<petrel::api::RecordSweeper>(*spool, sweep);
    sinks = std::make_unique<petrel::api::MailSinks>(config, *unsubscriber, *suppressions);
    petrel::server::ServerExtras extras;
    extras.dkim_keys = &dkim_keys;
    extras.sink_accepts = [s = sinks.get()](const petrel::smtp::Address& rcpt) { return s->accepts(rcpt); };
    extras.sink_consume = [s = sinks.get()](const petrel::smtp::Address& rcpt, const std::string& content,
                                            std::function<void(std::error_code)> done) {
      s->consume(rcpt, content, std::move(done));
    };
    server = std::make_unique<petrel::server::Server>(config, *spool, *queue, std::move(extras));
    if (!config.http.listen.empty()) {
      api = std::make_unique<petrel::api::ApiServer>(config, *spool, *queue, *suppressions, *unsubscribe_tokens,
                                                     dkim_keys);
    }
    pickup = std::make_unique<petrel::pickup::Pickup>(maildrop_options(config, run_as), *spool, *queue);
    if (run_as) {
      // Files the spool created while opening, as root, become the user's
      // too; the maildrop's files keep their owners (who dropped them).
      petrel::util::give_tree_to(config.spool_dir, *run_as, petrel::config::maildrop_dir(config));
      petrel::util::drop_privileges(*run_as);
      spdlog::info("running as user {} (uid {})", run_as->name, run_as->uid);
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return kExitStartupError;
  }
  queue->start();
  pickup->start();
  node_link = start_node_link(config, *spool);
  if (nats_events) watch_nats(config, node_link != nullptr);
  spdlog::info("petreld started: hostname={} spool={} maildir={} local_domains={}", config.hostname,
               config.spool_dir, config.maildir, fmt::join(config.local_domains, ","));
  server->run();
  // Order matters: the spool's last callbacks post into the server's
  // (stopped) io_contexts, so those outlive the spool.
  if (api) api->stop();
  pickup->stop();
  queue->stop();
  petrel::cluster::set_health_source("nats", nullptr);
  if (!node_link) petrel::admin::set_cluster_status(nullptr);
  stop_node_link(node_link);
  if (webhooks) webhooks->stop();
  if (nats_events) nats_events->stop();
  if (outbox) petrel::events::bus().unsubscribe(outbox_subscription);
  petrel::events::set_outbox(nullptr);
  if (event_log) petrel::events::bus().unsubscribe(event_log_subscription);
  event_log.reset();  // what is queued is written
  sweeper.reset();
  spool.reset();
  server.reset();
  api.reset();
  spdlog::info("petreld stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"petreld: the Petrel mail server (SMTP, RFC 5321 ESMTP) with a durable spool and Maildir delivery"};
  app.footer("Without --config, petreld runs on embedded defaults: 127.0.0.1:2525, spool ./var/spool, "
             "Maildirs under ./var/mail, local domain 'localhost'. Every key: docs/config.md.");
  app.set_version_flag("--version", "petreld " PETREL_VERSION);
  Overrides overrides;
  petrel::petreld::add_flags(app, overrides);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; every real mistake on
    // the command line is a configuration error: exit 2, like a bad file.
    const int status = app.exit(e);
    return status == 0 ? 0 : kExitConfigError;
  }

  if (overrides.hash_password) return hash_password(overrides.hash_password->empty() ? "CRYPT" : *overrides.hash_password);

  // One log format from the first line on: what loading the configuration
  // logs (a self-signed certificate made, alias warnings) looks like the rest.
  auto logger = spdlog::stderr_color_mt("petreld");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  Config config;
  std::vector<petrel::dkim::DomainKey> dkim_keys;
  std::vector<petrel::webhook::WebhookOptions> hooks;
  try {
    config = overrides.config_file.empty() ? petrel::config::default_config()
                                           : petrel::config::load_config_file(overrides.config_file);
    petrel::petreld::apply(overrides, config);
    petrel::config::validate(config, overrides.config_file.empty() ? "(flags)" : overrides.config_file);
    if (overrides.self_signed && !overrides.check_config) make_self_signed_if_missing(config);
    // The files the configuration names are part of it: one that does not
    // load is a configuration error (exit 2), found before a restart.
    petrel::server::check_named_files(config);
    check_aliases(config, overrides.check_config);
    petrel::api::check_api_tokens(config);
    load_bounces(config);
    dkim_keys = load_dkim_keys(config, overrides.config_file.empty() ? "(flags)" : overrides.config_file);
    hooks = webhook_options(config, overrides.config_file.empty() ? "(flags)" : overrides.config_file);
  } catch (const std::exception& e) {  // ConfigError, PasswdFileError, a bad certificate
    std::fprintf(stderr, "petreld: %s\n", e.what());
    return kExitConfigError;
  }
  if (overrides.check_config) {
    std::printf("configuration ok\n");
    return 0;
  }

  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (!dkim_keys.empty()) spdlog::info("dkim: {} signing key(s) loaded", dkim_keys.size());
  return serve(config, dkim_keys, std::move(hooks));
}
