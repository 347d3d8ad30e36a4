// The suppression list: addresses mail is no longer sent to, per tenant,
// kept durably as records in the spool's database ("s/<tenant>/<address>").
// Fed by unsubscribes, hard bounces, complaints and the operator; read by
// the API (a suppressed recipient is refused) and the queue (checked again
// before each delivery). A tenant's mail is held back by its own list and
// by the global one (tenant ""). docs/suppression.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace petrel::spool {
class Spool;
}

namespace petrel::suppress {

enum class Reason { unsubscribe, hard_bounce, complaint, manual };
std::string_view to_string(Reason reason);
std::optional<Reason> reason_from_string(std::string_view name);

struct Entry {
  std::string tenant;   // "" : every tenant
  std::string address;  // lower-cased
  Reason reason = Reason::manual;
  std::string campaign;  // where it came from, if known
  std::string detail;    // the bounce reply, the complaint's feedback type, a note
  std::int64_t at = 0;   // unix seconds
};

// Addresses are compared without case: what a person unsubscribed is the
// mailbox, however a list spells it.
std::string normalize(std::string_view address);
// A tenant name the list can keep: at most 64 characters, none of / space
// or control characters.
bool valid_tenant(std::string_view tenant);

class SuppressionList {
 public:
  explicit SuppressionList(spool::Spool& spool) : spool_(spool) {}

  // The entry that holds back mail for address from tenant: the tenant's
  // own, else the global list's; nullopt when none (or unreadable: ec).
  std::optional<Entry> find(std::string_view tenant, std::string_view address, std::error_code& ec) const;

  // Adds (or replaces) entries durably, then done(ec) on the spool's thread.
  void add(std::vector<Entry> entries, std::function<void(std::error_code)> done);
  void remove(std::string_view tenant, const std::vector<std::string>& addresses,
              std::function<void(std::error_code)> done);

  // Entries of one tenant (or of all, when tenant is nullopt) in key order,
  // after `after` (a key from a previous page's next), at most limit.
  struct Page {
    std::vector<Entry> entries;
    std::string next;  // "" : no more
  };
  Page list(const std::optional<std::string>& tenant, std::string_view after, std::size_t limit,
            std::error_code& ec) const;

 private:
  spool::Spool& spool_;
};

// The record behind an entry, for the ones that write entries in a group
// of their own (spool::Spool::store_group).
std::string record_key(std::string_view tenant, std::string_view address);
std::string record_value(const Entry& entry);
// An entry back from its record; nullopt if the record is not one.
std::optional<Entry> parse_record(std::string_view key, std::string_view value);

// A change made on this node, once it is durable: what a cluster's shared
// list (docs/cluster.md) sends on to the other nodes. For a removal, the
// entry has the tenant, the address and `at`, the time of the removal.
struct Change {
  enum class Op { add, remove };
  Op op = Op::add;
  Entry entry;
};
using ChangeObserver = std::function<void(const std::vector<Change>&)>;
// Process-wide: every SuppressionList's add() and remove() reports to it,
// on the spool's thread, after the write and before done. Set it before
// the list is used and clear it (nullptr) before the observer goes away.
void set_change_observer(ChangeObserver observer);

}  // namespace petrel::suppress
