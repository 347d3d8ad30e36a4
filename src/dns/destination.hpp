// The whole MX resolution for one domain, asynchronously: the MX lookup,
// then A/AAAA for every MX host at once, then the rules of dns/mx_plan.hpp.
// No cache of plans in front: a plan is cheap to rebuild from the
// resolver's cached answers, and equal preferences must be shuffled anew
// for every attempt anyway.
#pragma once

#include <string_view>

#include "dns/mx_plan.hpp"
#include "dns/resolver.hpp"

namespace petrel::dns {

// Calls `done` once with a plan whose verdict is deliver (candidates in
// order) or why not, on the resolver's thread, never from inside this call.
// The resolver must outlive the lookup (if it is destroyed first, `done`
// is dropped with the resolver's callbacks).
void resolve_destination(Resolver& resolver, std::string_view domain, PlanOptions options, Callback<DeliveryPlan> done);

}  // namespace petrel::dns
