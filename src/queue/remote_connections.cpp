// One connection of a site: its endpoints (the route's host, or the
// domain's MX hosts by RFC 5321 §5.1, each with its TLS policy: see
// remote_tls.cpp), then
// smtp_deliverer with the jobs it takes from the site's ready queue,
// paced by the site's message rate. A job's content is read from the
// spool here, when the connection takes it, and dropped with the job.
#include "queue/remote_internal.hpp"

#include <spdlog/spdlog.h>

#include "dns/destination.hpp"
#include "smtp/reply_codes.hpp"
#include "spool/spool.hpp"

namespace petrel::queue {
namespace {

using detail::Pending;
using Clock = detail::SteadyClock;
using delivery::Endpoint;

// Waiting longer than this for the message rate ends the connection
// instead (QUIT); the site's pump opens another when the rate allows.
constexpr std::chrono::milliseconds kLongestPace{5000};

std::string status_of(const smtp::ServerReply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  // RFC 3463 §3.1: without an enhanced code, the class is all we know.
  if (reply.positive()) return "2.0.0";
  return reply.permanent() ? "5.0.0" : "4.0.0";
}

JobResult job_result(const RemoteJob& job, const delivery::DeliveryReport& report, const std::string& site) {
  JobResult result;
  if (report.endpoint) result.endpoint = report.endpoint->str();
  result.tls = report.tls;
  result.tls_policy = report.tls_policy;
  result.dsn_passed_on = report.dsn_passed_on;
  result.final_delivery = job.route && job.route->kind == delivery::Route::Kind::lmtp;
  result.site = site;
  const std::string mta = report.endpoint ? report.endpoint->host : "";
  for (std::size_t i = 0; i < job.recipients.size(); ++i) {
    const auto& r = report.recipients.at(i);
    result.outcomes.push_back(
        {job.recipients[i], r.outcome, r.reply.str(), status_of(r.reply), r.reply.local ? "" : mta});
  }
  return result;
}

// What a content read failure is (counted as a spool error), not a message
// deleted meanwhile.
std::string read_failure(const std::string& error) {
  if (error.rfind("spool read failed", 0) != 0) return "";
  spdlog::error("queue: {} (retried)", error);
  return error;
}

std::vector<Endpoint> endpoints_of(const std::string& host, const dns::AddressAnswer& answer, std::uint16_t port) {
  std::vector<Endpoint> endpoints;
  for (const auto& address : answer.records) endpoints.push_back({host, address.str(), port, ""});
  return endpoints;
}

}  // namespace

smtp::OutgoingMessage outgoing_envelope(const spool::SpooledMessage& message, const std::vector<std::size_t>& recipients) {
  const smtp::Envelope& e = message.envelope;
  smtp::OutgoingMessage m;
  m.reverse_path = e.reverse_path;
  m.params = e.params;
  m.params.auth.clear();
  for (std::size_t r : recipients) m.recipients.push_back(e.recipients[r]);
  return m;
}

// The message as the SMTP client sends it, its content read from the
// spool unless the job brought it.
std::optional<smtp::OutgoingMessage> RemoteQueue::Impl::outgoing(Pending& p, std::string& error) {
  const RemoteJob& job = p.job;
  smtp::OutgoingMessage m = outgoing_envelope(*job.message, job.recipients);
  if (job.content_loaded) {
    m.content = job.message->content;
    return m;
  }
  std::error_code ec;
  auto content = spool.read_content(job.message->id, ec);
  if (!content) {
    error = ec ? "spool read failed: " + ec.message() : "no longer in the spool";
    return std::nullopt;
  }
  m.content = std::move(*content);
  return m;
}

void RemoteQueue::Impl::start(Site& site, const std::string& source, Pending p) {
  ++site.connections;
  auto batch = std::make_shared<Batch>();
  batch->site = site.name;
  batch->key = p.key;
  batch->source = source;
  batch->jobs.push_back(std::move(p));
  batch->completed.push_back(false);
  const RemoteJob& job = batch->jobs.front().job;
  const auto& route = job.route;
  if (route && route->kind == delivery::Route::Kind::lmtp && !route->unix_path.empty()) {
    Endpoint unix_socket;
    unix_socket.host = "localhost";
    unix_socket.unix_path = route->unix_path;
    return send(batch, {unix_socket});
  }
  if (route && !route->mx_lookup) return resolve_host(batch, route->host, route->port);
  const std::string domain = route ? route->host : job.domain;
  const std::uint16_t port = route ? route->port : 25;
  auto resolve = [this, batch, domain, port] {
    dns::PlanOptions plan;
    plan.local_names = {options.hostname};
    dns::resolve_destination(resolver, domain, plan,
                             [this, batch, port](const dns::DeliveryPlan& p) { planned(batch, p, port); });
  };
  // A configured policy (job.tls) or route wins over what the domain publishes.
  if (route || job.tls || !options.mta_sts) return resolve();
  sts_policies.find(domain, [batch, resolve](std::optional<mtasts::Policy> policy) {
    if (policy && policy->mode != mtasts::Policy::Mode::none) batch->sts = std::move(policy);
    resolve();
  });
}

// Ends a connection that never got as far as a server: every job the same.
void RemoteQueue::Impl::fail_batch(const std::shared_ptr<Batch>& batch, const JobResult& result) {
  for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
    JobResult r = result;
    if (i > 0) {
      r = detail::all_recipients(batch->jobs[i].job, smtp::DeliveryOutcome::deferred, smtp::codes::k451DnsFailure,
                                 result.outcomes.empty() ? "" : result.outcomes.front().reply);
    }
    r.site = batch->site;
    batch->complete(i, std::move(r));
  }
  // A lookup failure says nothing of the site's health.
  auto found = sites.find(batch->site);
  if (found == sites.end()) return;
  release(*found->second, batch->source);
  pump(*found->second);
}

// "[host]": no MX lookup; an address literal is used as it is.
void RemoteQueue::Impl::resolve_host(const std::shared_ptr<Batch>& batch, const std::string& host, std::uint16_t port) {
  if (auto literal = dns::IpAddress::parse(host)) return send_to_host(batch, {{host, literal->str(), port, ""}});
  resolver.lookup_a(host, [this, batch, host, port](const dns::AddressAnswer& a) {
    if (a.ok()) return send_to_host(batch, endpoints_of(host, a, port));
    resolver.lookup_aaaa(host, [this, batch, host, port](const dns::AddressAnswer& aaaa) {
      if (!aaaa.ok()) {
        return fail_batch(batch, detail::all_recipients(batch->jobs.front().job, smtp::DeliveryOutcome::deferred,
                                                        smtp::codes::k451DnsFailure,
                                                        "No address for " + host + ": " + aaaa.error));
      }
      send_to_host(batch, endpoints_of(host, aaaa, port));
    });
  });
}

// The batch's first job stands for all: they share the connection key.
delivery::DeliveryOptions RemoteQueue::Impl::delivery_options(const Batch& batch) const {
  const RemoteJob& job = batch.jobs.front().job;
  delivery::DeliveryOptions delivery;
  delivery.client.helo_name = options.hostname;
  if (const EgressSource* source = source_named(batch.source)) {
    delivery.source_address = source->address;
    if (!source->ehlo_name.empty()) delivery.client.helo_name = source->ehlo_name;
  }
  delivery.client.tls = job.tls.value_or(options.tls);
  // RFC 8461 §5: an enforced MTA-STS policy wants a certificate valid for
  // the MX host, or no delivery.
  if (batch.sts && batch.sts->mode == mtasts::Policy::Mode::enforce) delivery.client.tls = smtp::TlsPolicy::verify;
  const auto& route = job.route;
  if (route && route->kind == delivery::Route::Kind::lmtp) {
    delivery.client.protocol = smtp::ClientProtocol::lmtp;
    if (!route->unix_path.empty()) delivery.client.tls = smtp::TlsPolicy::none;  // a local socket
  }
  if (delivery.client.tls == smtp::TlsPolicy::verify) {
    delivery.verify_certificate = true;  // chain, and the name of the host connected to (the MX name)
    delivery.ca_file = options.tls_ca_file;
  }
  if (job.to_relayhost) delivery.client.credentials = options.relayhost_credentials;
  // RFC 8689 §4.2.1; a local LMTP socket is final delivery, not a next hop.
  const bool local_socket = route && !route->unix_path.empty();
  delivery.client.requiretls = job.message->envelope.params.requiretls && !local_socket;
  delivery.next_hop = job.domain;
  delivery.timeouts.connect = options.connect_timeout;
  if (options.reply_timeout) {
    auto& t = delivery.timeouts;
    t.greeting = t.mail = t.rcpt = t.data_init = t.data_block = t.data_end = t.command = *options.reply_timeout;
  }
  return delivery;
}

// How long the connection waits before its next message: the site's
// message rate. A long wait ends the connection instead.
std::chrono::milliseconds RemoteQueue::Impl::pace(Batch& batch) {
  auto found = sites.find(batch.site);
  if (found == sites.end()) return std::chrono::milliseconds(0);
  Site& site = *found->second;
  const auto now = Clock::now();
  detail::Path& p = path(site, batch.source, now);
  if (batch.jobs.size() >= p.limits.max_deliveries_per_connection || site.suspended || !site.ready.count(batch.key)) {
    return std::chrono::milliseconds(0);  // take_more says no
  }
  if (!under_cap(batch.source, site)) {
    batch.stop = true;
    return std::chrono::milliseconds(0);
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(message_wait(site, p, now));
  if (wait > kLongestPace) {
    batch.stop = true;
    return std::chrono::milliseconds(0);
  }
  return wait;
}

// Another job for this connection's destination, if it may take one.
std::optional<smtp::OutgoingMessage> RemoteQueue::Impl::take_more(Batch& batch) {
  auto found = sites.find(batch.site);
  if (batch.stop || found == sites.end()) return std::nullopt;
  Site& site = *found->second;
  const auto now = Clock::now();
  detail::Path& p = path(site, batch.source, now);
  if (site.suspended || batch.jobs.size() >= p.limits.max_deliveries_per_connection) return std::nullopt;
  while (site.ready.count(batch.key)) {
    if (!under_cap(batch.source, site) || !take_message(site, p, now)) return std::nullopt;
    auto job = take(site, batch.key);
    if (!job) return std::nullopt;
    std::string error;
    auto message = outgoing(*job, error);
    if (!message) {
      not_attempted(*job, site.name, Clock::now() + std::chrono::seconds(10), "Not sent: " + error,
                    read_failure(error));
      continue;
    }
    count_sent(batch.source, site);
    batch.jobs.push_back(std::move(*job));
    batch.completed.push_back(false);
    return message;
  }
  return std::nullopt;
}

// Each job is completed as soon as its report is final, the rest when the
// connection is done.
void RemoteQueue::Impl::send(const std::shared_ptr<Batch>& batch, std::vector<Endpoint> endpoints) {
  std::string error;
  auto first = outgoing(batch->jobs.front(), error);
  if (!first) {
    batch->completed.front() = true;
    not_attempted(batch->jobs.front(), batch->site, Clock::now() + std::chrono::seconds(10), "Not sent: " + error,
                  read_failure(error));
    auto found = sites.find(batch->site);
    if (found == sites.end()) return;
    release(*found->second, batch->source);
    return pump(*found->second);
  }
  delivery::DeliveryOptions delivery = delivery_options(*batch);
  delivery.pace = [this, batch] { return pace(*batch); };
  delivery.more = [this, batch] { return take_more(*batch); };
  delivery.reported = [batch](std::size_t i, const delivery::DeliveryReport& report) {
    if (i < batch->jobs.size()) batch->complete(i, job_result(batch->jobs[i].job, report, batch->site));
  };
  std::vector<smtp::OutgoingMessage> messages;
  messages.push_back(std::move(*first));
  delivery::deliver(io, std::move(endpoints), std::move(delivery), std::move(messages),
                    [this, batch](std::vector<delivery::DeliveryReport> reports) {
                      for (std::size_t i = 0; i < batch->jobs.size(); ++i) {
                        const RemoteJob& job = batch->jobs[i].job;
                        if (i < reports.size()) {
                          batch->complete(i, job_result(job, reports[i], batch->site));
                        } else {
                          JobResult r = detail::all_recipients(job, smtp::DeliveryOutcome::deferred,
                                                               smtp::codes::k451LocalError,
                                                               "Local error in SMTP delivery");
                          r.site = batch->site;
                          batch->complete(i, std::move(r));
                        }
                      }
                      connection_done(batch->site, batch->source, reports);
                    });
}

}  // namespace petrel::queue
