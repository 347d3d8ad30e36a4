// What the queue does with the suppression list and with what receivers
// reply: bulk mail to a suppressed recipient fails before it is sent, and
// a hard bounce of bulk mail suppresses its recipient (docs/bounces.md).
// "Bulk" is mail with a campaign or a tenant, or from the HTTP API:
// ordinary relayed or submitted mail never meets the list.
#include <spdlog/spdlog.h>

#include <chrono>

#include "events/mail_events.hpp"
#include "feedback/bounce_class.hpp"
#include "queue/queue_internal.hpp"
#include "queue/queue_manager.hpp"
#include "suppress/suppression_list.hpp"

namespace petrel::queue {
namespace {

bool bulk(const smtp::Envelope& e) {
  return !e.campaign.empty() || !e.tenant.empty() || e.protocol == "HTTP" || e.protocol == "HTTPS";
}

}  // namespace

bool QueueManager::Impl::fail_if_suppressed(Item& item, std::size_t r, std::time_t now) {
  const smtp::Envelope& e = item.message->envelope;
  if (!options.suppressions || !bulk(e)) return false;
  const smtp::Recipient& rcpt = e.recipients[r];
  std::error_code ec;
  const auto entry = options.suppressions->find(e.tenant, rcpt.forward_path.str(), ec);
  if (ec) {
    spdlog::warn("qid={} suppression list unreadable ({}); <{}> sent anyway", item.message->id.value, ec.message(),
                 rcpt.forward_path.str());
    return false;
  }
  if (!entry) return false;
  const std::string reason = "550 5.7.1 <" + rcpt.forward_path.str() + ">: on the suppression list (" +
                             std::string(suppress::to_string(entry->reason)) + ")";
  item.states[r] = detail::State::failed;
  item.failed_now.push_back({rcpt, "5.7.1", "", reason, std::nullopt, now, {}});
  spdlog::info("delivery qid={} to=<{}> relay=none result=suppressed reason={} campaign={} tenant={}",
               item.message->id.value, rcpt.forward_path.str(), suppress::to_string(entry->reason),
               e.campaign.empty() ? "-" : e.campaign, e.tenant.empty() ? "-" : e.tenant);
  if (events::wanted()) {
    auto ev = events::recipient_event(events::Type::Bounce, *item.message, r, item.attempts + 1, reason);
    ev.bounce_class = "suppressed";
    note_event(item, r, std::move(ev));
  }
  return true;
}

std::string QueueManager::Impl::learn_from_reply(const Item& item, std::size_t r, const std::string& reply, bool failed) {
  if (!options.classifier) return "";
  const feedback::Category category = options.classifier->classify(reply);
  const smtp::Envelope& e = item.message->envelope;
  if (failed && options.suppressions && bulk(e) && feedback::suppresses(category, options.suppressing)) {
    suppress::Entry entry;
    entry.tenant = e.tenant;
    entry.address = suppress::normalize(e.recipients[r].forward_path.str());
    entry.reason = suppress::Reason::hard_bounce;
    entry.campaign = e.campaign;
    entry.detail = std::string(feedback::to_string(category)) + ": " + reply.substr(0, 300);
    entry.at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string address = entry.address;
    options.suppressions->add({std::move(entry)}, [address](std::error_code ec) {
      if (ec) spdlog::warn("suppression of <{}> not stored: {}", address, ec.message());
    });
  }
  return std::string(feedback::to_string(category));
}

}  // namespace petrel::queue
