// The delivery thread: jobs wait per destination for a free slot, their
// endpoints are found (route or MX), and smtp_deliverer does the rest.
#include "delivery/remote_delivery.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <thread>

#include "delivery/smtp_deliverer.hpp"
#include "delivery/sts_policies.hpp"
#include "dns/destination.hpp"
#include "dns/unbound_resolver.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::delivery {
namespace asio = boost::asio;

namespace {

using Done = std::function<void(JobResult)>;

struct Pending {
  RemoteJob job;
  Done done;
};

// Every recipient of the job with the same outcome, made here.
JobResult all_recipients(const RemoteJob& job, smtp::DeliveryOutcome outcome, smtp::Status status,
                         const std::string& text) {
  JobResult result;
  const std::string reply = std::to_string(status.code) + " " + std::string(status.enhanced) + " " + text;
  for (std::size_t r : job.recipients) {
    result.outcomes.push_back({r, outcome, reply, std::string(status.enhanced), ""});
  }
  return result;
}

std::string status_of(const smtp::ServerReply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  // RFC 3463 §3.1: without an enhanced code, the class is all we know.
  if (reply.positive()) return "2.0.0";
  return reply.permanent() ? "5.0.0" : "4.0.0";
}

smtp::OutgoingMessage outgoing(const RemoteJob& job) {
  const smtp::Envelope& e = job.message->envelope;
  smtp::OutgoingMessage m;
  m.reverse_path = e.reverse_path;
  m.params = e.params;
  m.params.auth.clear();  // AUTH= is ours to vouch for, not passed on (RFC 4954 §5)
  for (std::size_t r : job.recipients) m.recipients.push_back(e.recipients[r]);
  m.content = job.message->content;
  return m;
}

// Jobs with the same key can share a connection: same endpoints, same TLS
// policy, same credentials.
std::string destination_key(const RemoteJob& job, smtp::TlsPolicy default_tls) {
  std::string key = job.route ? job.route->str() : "mx:" + job.domain;
  key += " tls=" + std::to_string(static_cast<int>(job.tls.value_or(default_tls)));
  if (job.to_relayhost) key += " relayhost";
  return key;
}

JobResult job_result(const RemoteJob& job, const DeliveryReport& report) {
  JobResult result;
  if (report.endpoint) result.endpoint = report.endpoint->str();
  result.tls = report.tls;
  result.dsn_passed_on = report.dsn_passed_on;
  result.final_delivery = job.route && job.route->kind == Route::Kind::lmtp;
  const std::string mta = report.endpoint ? report.endpoint->host : "";
  for (std::size_t i = 0; i < job.recipients.size(); ++i) {
    const auto& r = report.recipients.at(i);
    result.outcomes.push_back({job.recipients[i], r.outcome, r.reply.str(), status_of(r.reply), r.reply.local ? "" : mta});
  }
  return result;
}

// The jobs one connection carries: the one it was opened for, then those
// it took from the destination's waiting list.
struct Batch {
  std::vector<Pending> jobs;
  std::vector<bool> completed;
  std::optional<mtasts::Policy> sts;  // the destination's MTA-STS policy, when it has one

  void complete(std::size_t i, JobResult result) {
    if (i >= jobs.size() || completed[i]) return;
    completed[i] = true;
    jobs[i].done(std::move(result));
  }
};

}  // namespace

struct RemoteDelivery::Impl {
  explicit Impl(RemoteOptions o)
      : options(std::move(o)),
        guard(io.get_executor()),
        resolver(io, resolver_options(options)),
        sts_policies(io, resolver, mtasts::FetchOptions{.ca_file = options.tls_ca_file}) {
    thread = std::thread([this] { io.run(); });
  }

  ~Impl() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  static dns::ResolverOptions resolver_options(const RemoteOptions& o) {
    dns::ResolverOptions r;
    r.upstream = o.resolver;
    // A configured upstream is asked about everything, the RFC 6761 test
    // zones included (a test or lab DNS serves them).
    if (!o.resolver.empty()) {
      r.zones_from_upstream = {"test.", "invalid.", "example."};
      // A configured forwarder (dnsmasq, a lab DNS) rarely passes DNSSEC
      // records on, and validating through it would make every answer
      // bogus; with /etc/resolv.conf the root trust anchor is used if present.
      r.dnssec = dns::DnssecMode::off;
    }
    return r;
  }

  // On the delivery thread.
  void admit(Pending p) {
    const std::string key = destination_key(p.job, options.tls);
    auto& slot = destinations[key];
    if (slot.active >= options.destination_concurrency) {
      slot.waiting.push_back(std::move(p));
      return;
    }
    ++slot.active;
    start(key, std::move(p));
  }

  void finished(const std::string& key) {
    auto& slot = destinations[key];
    --slot.active;
    if (!slot.waiting.empty()) {
      Pending next = std::move(slot.waiting.front());
      slot.waiting.pop_front();
      ++slot.active;
      start(key, std::move(next));
    } else if (slot.active == 0) {
      destinations.erase(key);
    }
  }

  void start(const std::string& key, Pending p) {
    auto batch = std::make_shared<Batch>();
    batch->jobs.push_back(std::move(p));
    batch->completed.push_back(false);
    auto complete = [this, key, batch](JobResult result) {
      batch->complete(0, std::move(result));
      finished(key);
    };
    const RemoteJob& job = batch->jobs.front().job;
    const auto& route = job.route;
    if (route && route->kind == Route::Kind::lmtp && !route->unix_path.empty()) {
      Endpoint unix_socket;
      unix_socket.host = "localhost";
      unix_socket.unix_path = route->unix_path;
      return send(key, batch, {unix_socket});
    }
    if (route && !route->mx_lookup) return resolve_host(key, batch, route->host, route->port, complete);
    const std::string domain = route ? route->host : job.domain;
    const std::uint16_t port = route ? route->port : 25;
    auto resolve = [this, key, batch, domain, port, complete] {
      dns::PlanOptions plan;
      plan.local_names = {options.hostname};
      dns::resolve_destination(resolver, domain, plan, [this, key, batch, port, complete](const dns::DeliveryPlan& p) {
        planned(key, batch, p, port, complete);
      });
    };
    // A configured policy (job.tls) or route wins over what the domain publishes.
    if (route || job.tls || !options.mta_sts) return resolve();
    sts_policies.find(domain, [batch, resolve](std::optional<mtasts::Policy> policy) {
      if (policy && policy->mode != mtasts::Policy::Mode::none) batch->sts = std::move(policy);
      resolve();
    });
  }

  // Another job waiting for this connection's destination, if it may take one.
  std::optional<smtp::OutgoingMessage> take_waiting(const std::string& key, Batch& batch) {
    if (batch.jobs.size() >= options.messages_per_connection) return std::nullopt;
    auto found = destinations.find(key);
    if (found == destinations.end() || found->second.waiting.empty()) return std::nullopt;
    batch.jobs.push_back(std::move(found->second.waiting.front()));
    batch.completed.push_back(false);
    found->second.waiting.pop_front();
    return outgoing(batch.jobs.back().job);
  }

  void planned(const std::string& key, const std::shared_ptr<Batch>& batch, const dns::DeliveryPlan& plan,
               std::uint16_t port, const std::function<void(JobResult)>& complete) {
    namespace codes = smtp::codes;
    using dns::Verdict;
    using smtp::DeliveryOutcome;
    const auto& job = batch->jobs.front().job;
    switch (plan.verdict) {
      case Verdict::deliver: break;
      case Verdict::null_mx:
        return complete(all_recipients(job, DeliveryOutcome::failed, codes::k556NullMx,
                                       "Domain " + job.domain + " does not accept mail (null MX)"));
      case Verdict::no_such_domain:
        return complete(all_recipients(job, DeliveryOutcome::failed, codes::k550NoSuchDomain,
                                       "Domain " + job.domain + " does not exist"));
      case Verdict::unroutable:
        return complete(all_recipients(job, DeliveryOutcome::failed, codes::k550Unroutable,
                                       "No mail exchanger of " + job.domain + " has an address: " + plan.reason));
      case Verdict::routing_loop:
        return complete(all_recipients(job, DeliveryOutcome::failed, codes::k550RoutingLoop,
                                       "Mail for " + job.domain + " loops back to this server"));
      case Verdict::temporary_failure:
        return complete(all_recipients(job, DeliveryOutcome::deferred, codes::k451DnsFailure,
                                       "DNS lookup for " + job.domain + " failed: " + plan.reason));
    }
    std::vector<Endpoint> endpoints;
    for (const auto& c : plan.candidates) {
      if (!sts_allows(*batch, job.domain, c.host)) continue;
      endpoints.push_back({c.host, c.address.str(), port, ""});
    }
    if (endpoints.empty()) {
      return complete(all_recipients(job, DeliveryOutcome::deferred, codes::k451MtaStsNoMx,
                                     "No MX host of " + job.domain + " is allowed by its MTA-STS policy"));
    }
    send(key, batch, std::move(endpoints));
  }

  // RFC 8461 §4.1: an enforced policy names the MX hosts mail may go to;
  // in testing mode a mismatch is only reported.
  static bool sts_allows(const Batch& batch, const std::string& domain, const std::string& mx_host) {
    if (!batch.sts || mtasts::mx_matches(*batch.sts, mx_host)) return true;
    const bool enforce = batch.sts->mode == mtasts::Policy::Mode::enforce;
    spdlog::warn("mta-sts domain={} mode={} mx={} not in the policy{}", domain, mtasts::to_string(batch.sts->mode),
                 mx_host, enforce ? ": skipped" : " (testing: used anyway)");
    return !enforce;
  }

  // "[host]": no MX lookup; an address literal is used as it is.
  void resolve_host(const std::string& key, const std::shared_ptr<Batch>& batch, const std::string& host,
                    std::uint16_t port, const std::function<void(JobResult)>& complete) {
    if (auto literal = dns::IpAddress::parse(host)) return send(key, batch, {{host, literal->str(), port, ""}});
    resolver.lookup_a(host, [this, key, batch, host, port, complete](const dns::AddressAnswer& a) {
      if (a.ok()) return send(key, batch, endpoints_of(host, a, port));
      resolver.lookup_aaaa(host, [this, key, batch, host, port, complete](const dns::AddressAnswer& aaaa) {
        if (!aaaa.ok()) {
          return complete(all_recipients(batch->jobs.front().job, smtp::DeliveryOutcome::deferred,
                                         smtp::codes::k451DnsFailure, "No address for " + host + ": " + aaaa.error));
        }
        send(key, batch, endpoints_of(host, aaaa, port));
      });
    });
  }

  static std::vector<Endpoint> endpoints_of(const std::string& host, const dns::AddressAnswer& answer,
                                            std::uint16_t port) {
    std::vector<Endpoint> endpoints;
    for (const auto& address : answer.records) endpoints.push_back({host, address.str(), port, ""});
    return endpoints;
  }

  // The batch's first job stands for all: they share the destination key.
  DeliveryOptions delivery_options(const Batch& batch) const {
    const RemoteJob& job = batch.jobs.front().job;
    DeliveryOptions delivery;
    delivery.client.helo_name = options.hostname;
    delivery.client.tls = job.tls.value_or(options.tls);
    // RFC 8461 §5: an enforced MTA-STS policy wants a certificate valid for
    // the MX host, or no delivery.
    if (batch.sts && batch.sts->mode == mtasts::Policy::Mode::enforce) delivery.client.tls = smtp::TlsPolicy::verify;
    const auto& route = job.route;
    if (route && route->kind == Route::Kind::lmtp) {
      delivery.client.protocol = smtp::ClientProtocol::lmtp;
      if (!route->unix_path.empty()) delivery.client.tls = smtp::TlsPolicy::none;  // a local socket
    }
    if (delivery.client.tls == smtp::TlsPolicy::verify) {
      delivery.verify_certificate = true;  // chain, and the name of the host connected to (the MX name)
      delivery.ca_file = options.tls_ca_file;
    }
    if (job.to_relayhost) delivery.client.credentials = options.relayhost_credentials;
    delivery.timeouts.connect = options.connect_timeout;
    if (options.reply_timeout) {
      auto& t = delivery.timeouts;
      t.greeting = t.mail = t.rcpt = t.data_init = t.data_block = t.data_end = t.command = *options.reply_timeout;
    }
    return delivery;
  }

  // The batch's first job opened the connection; each job is completed as
  // soon as its report is final, the rest when the connection is done.
  void send(const std::string& key, const std::shared_ptr<Batch>& batch, std::vector<Endpoint> endpoints) {
    DeliveryOptions delivery = delivery_options(*batch);
    delivery.more = [this, key, batch] { return take_waiting(key, *batch); };
    delivery.reported = [batch](std::size_t i, const DeliveryReport& report) {
      if (i < batch->jobs.size()) batch->complete(i, job_result(batch->jobs[i].job, report));
    };
    std::vector<smtp::OutgoingMessage> messages;
    messages.push_back(outgoing(batch->jobs.front().job));
    deliver(io, std::move(endpoints), std::move(delivery), std::move(messages),
            [this, key, batch](std::vector<DeliveryReport> reports) {
              for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                const RemoteJob& job = batch->jobs[i].job;
                if (i < reports.size()) {
                  batch->complete(i, job_result(job, reports[i]));
                } else {
                  batch->complete(i, all_recipients(job, smtp::DeliveryOutcome::deferred, smtp::codes::k451LocalError,
                                                    "Local error in SMTP delivery"));
                }
              }
              finished(key);
            });
  }

  struct Destination {
    std::size_t active = 0;
    std::deque<Pending> waiting;
  };

  RemoteOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  dns::UnboundResolver resolver;
  StsPolicies sts_policies;
  std::map<std::string, Destination> destinations;  // delivery thread only
  std::thread thread;
};

RemoteDelivery::RemoteDelivery(RemoteOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

RemoteDelivery::~RemoteDelivery() = default;

void RemoteDelivery::submit(RemoteJob job, std::function<void(JobResult)> done) {
  asio::post(impl_->io, [impl = impl_.get(), p = Pending{std::move(job), std::move(done)}]() mutable {
    impl->admit(std::move(p));
  });
}

}  // namespace petrel::delivery
