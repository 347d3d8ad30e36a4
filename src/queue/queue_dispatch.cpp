// Reading contents back for local delivery, and handing recipients to the
// alias commands and the remote queue: the delivery thread's side of an
// attempt (queue_manager.cpp starts it, queue_settle.cpp ends it).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "queue/destination.hpp"
#include "queue/queue_internal.hpp"

namespace petrel::queue {

using detail::delivery_header;
using detail::Destination;
using detail::destination_of;
using detail::envelope_only;
using detail::Item;
using detail::kSpoolErrorRetry;
using detail::tls_policy_for;

// Reads back the contents that local delivery needs. A message the spool
// no longer has was removed by an operator: it leaves the batch. One that
// cannot be read now stays, untouched, for a later attempt.
bool QueueManager::Impl::load_contents(std::vector<Item>& batch) {
  std::size_t loaded = 0;
  std::erase_if(batch, [&](Item& item) {
    if (item.content_in_memory) return false;
    const bool local = std::any_of(item.message->envelope.recipients.begin(), item.message->envelope.recipients.end(),
                                   [&](const smtp::Recipient& r) { return !destination_of(options, r).remote; });
    if (!local) return false;  // remote jobs read it when a connection takes them
    std::error_code ec;
    // A big message: its head only, the tail is copied from its file.
    const bool big = item.message->tail_size > 0;
    auto content = big ? spool.read_head(item.message->id, ec) : spool.read_content(item.message->id, ec);
    if (!content) {
      std::lock_guard lock(mutex);
      active.erase(item.message->id.value);
      if (ec) {
        ++spool_errors;
        last_spool_error = "read of qid=" + item.message->id.value + ": " + ec.message();
        spdlog::error("queue: spool {} (retried)", last_spool_error);
        schedule.add(item.message->id.value, std::time(nullptr) + kSpoolErrorRetry, DomainTable::none, true);
      } else {
        spdlog::warn("qid={} is no longer in the spool, not delivered", item.message->id.value);
      }
      return true;
    }
    auto full = std::make_shared<spool::SpooledMessage>(*item.message);
    full->content = std::move(*content);
    if (big) {
      item.head = std::make_shared<const spool::SpooledMessage>(std::move(*full));
      return false;
    }
    loaded += full->content.size();
    item.message = std::move(full);
    item.content_in_memory = true;
    return false;
  });
  std::lock_guard lock(mutex);
  content_bytes += loaded;
  return !batch.empty();
}

void QueueManager::Impl::release_content(Item& item) {
  if (!item.content_in_memory) return;
  const std::size_t size = item.message->content.size();
  item.message = envelope_only(*item.message);
  item.content_in_memory = false;
  std::lock_guard lock(mutex);
  content_bytes -= size;
}

void QueueManager::Impl::dispatch_alias(Item& item, const std::vector<std::size_t>& recipients) {
  if (!alias_jobs) alias_jobs = std::make_unique<AliasJobs>(options.alias_commands);
  AliasJob job;
  job.message = item.message;
  if (!item.content_in_memory) {
    // A big message (its tail in a file): a command or mbox gets it whole,
    // one job at a time.
    std::error_code ec;
    auto content = spool.read_content(item.message->id, ec);
    if (!content) {
      spdlog::error("qid={} not given to its alias targets: the spool cannot read it ({})", item.message->id.value,
                    ec ? ec.message() : "not in the spool");
      return;
    }
    auto full = std::make_shared<spool::SpooledMessage>(*item.message);
    full->content = std::move(*content);
    job.message = std::move(full);
  }
  job.recipients = recipients;
  for (std::size_t r : recipients) {
    job.headers.push_back(delivery_header(item.message->envelope, item.message->envelope.recipients[r].forward_path,
                                          options.routing));
  }
  item.attempted = true;
  ++item.jobs_out;
  const std::string qid = item.message->id.value;
  alias_jobs->submit(std::move(job), [this, qid](JobResult result) {
    {
      std::lock_guard lock(mutex);
      completions.push_back({qid, std::move(result)});
    }
    wake.notify_one();
  });
}

// One job per destination: the recipients of one domain (or one route)
// go in one transaction (RFC 5321 §3.3 allows up to the server's limit).
void QueueManager::Impl::dispatch_remote(Item& item, const std::vector<std::size_t>& recipients) {
  std::map<std::string, RemoteJob> jobs;
  for (std::size_t r : recipients) {
    const Destination d = destination_of(options, item.message->envelope.recipients[r]);
    const std::string key = d.route ? d.route->str() : "mx:" + d.domain;
    RemoteJob& job = jobs[key];
    if (job.recipients.empty()) {
      job.message = item.message;
      job.content_loaded = item.content_in_memory;
      job.domain = d.domain;
      job.route = d.route;
      job.to_relayhost = d.route && options.routes.relayhost && d.route->str() == options.routes.relayhost->str();
      job.tls = tls_policy_for(options, d.domain);
    }
    job.recipients.push_back(r);
  }
  item.jobs_out += jobs.size();
  const std::string qid = item.message->id.value;
  for (auto& [key, job] : jobs) {
    std::string domain = job.domain;  // (read before the job is moved away)
    remote->submit(std::move(job), [this, qid, domain = std::move(domain)](JobResult result) {
      {
        std::lock_guard lock(mutex);
        completions.push_back({qid, std::move(result)});
        gate_on(domain, completions.back().result);
      }
      wake.notify_one();
    });
  }
}

// What a job's result says of its domain's other messages: they wait for
// room in a full site (each job the site takes lets one more come), or
// unread until the time a closed site said.

}  // namespace petrel::queue
