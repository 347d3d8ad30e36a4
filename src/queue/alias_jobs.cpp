#include "queue/alias_jobs.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace petrel::queue {
namespace {

smtp::DeliveryOutcome outcome_of(delivery::AliasOutcome::Kind kind) {
  switch (kind) {
    case delivery::AliasOutcome::Kind::delivered: return smtp::DeliveryOutcome::delivered;
    case delivery::AliasOutcome::Kind::failed: return smtp::DeliveryOutcome::failed;
    default: return smtp::DeliveryOutcome::deferred;
  }
}

// "team@example.org" of "rfc822;team@example.org".
std::string orcpt_address(const std::string& orcpt) {
  const auto semi = orcpt.find(';');
  return semi == std::string::npos ? orcpt : orcpt.substr(semi + 1);
}

}  // namespace

AliasJobs::AliasJobs(delivery::CommandLimits limits) : limits_(limits) {
  limits_.cancel = &cancel_;
  thread_ = std::thread([this] { run(); });
}

AliasJobs::~AliasJobs() { stop(); }

void AliasJobs::submit(AliasJob job, std::function<void(JobResult)> done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.emplace_back(std::move(job), std::move(done));
  }
  wake_.notify_one();
}

void AliasJobs::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  cancel_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AliasJobs::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto [job, done] = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    JobResult result = deliver(job);
    done(std::move(result));
    lock.lock();
  }
}

JobResult AliasJobs::deliver(const AliasJob& job) const {
  const auto started = std::chrono::steady_clock::now();
  const smtp::Envelope& e = job.message->envelope;
  const std::string sender = e.reverse_path.is_null() ? "" : e.reverse_path.mailbox->str();
  JobResult result;
  result.endpoint = "local";
  result.site = "local";
  result.final_delivery = true;
  for (std::size_t i = 0; i < job.recipients.size(); ++i) {
    const smtp::Recipient& r = e.recipients[job.recipients[i]];
    const std::string text = delivery::unix_text(job.headers[i] + job.message->content);
    delivery::AliasOutcome o;
    if (!r.alias_target.empty() && r.alias_target.front() == '|') {
      o = delivery::run_command(r.alias_target.substr(1), text,
                                {sender, r.forward_path.str(), orcpt_address(r.orcpt)}, limits_);
    } else {
      o = delivery::append_to_mbox(r.alias_target, sender, text, std::time(nullptr));
    }
    result.outcomes.push_back({job.recipients[i], outcome_of(o.kind), o.reply, o.status, ""});
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace petrel::queue
