// The health of a site: up, down for a back-off after connection failures
// in a row, then one probe connection that decides.
#include <algorithm>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using std::chrono::milliseconds;

// The back-off stretched by up to `jitter` of itself, so that sites (and
// servers) that went down together do not all probe at the same moment;
// never beyond max_backoff.
milliseconds stretched(milliseconds backoff, double jitter01, const HealthOptions& options) {
  const double fraction = std::clamp(jitter01, 0.0, 1.0) * std::max(options.jitter, 0.0);
  const auto extra = milliseconds(static_cast<milliseconds::rep>(static_cast<double>(backoff.count()) * fraction));
  return std::min(backoff + extra, options.max_backoff);
}

}  // namespace

void SiteHealth::connection_failed(Clock::time_point now, double jitter01) {
  ++failures_;
  if (probe_out_) {
    // The probe failed: down again, for twice as long.
    probe_out_ = false;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    down_until_ = now + stretched(backoff_, jitter01, options_);
    return;
  }
  // A connection that was already open when the site went down, failing
  // now, tells nothing new: it neither doubles nor extends the back-off.
  if (down_) return;
  if (failures_ >= std::max<std::size_t>(options_.failures_before_down, 1)) {
    down_ = true;
    backoff_ = std::min(options_.initial_backoff, options_.max_backoff);
    down_until_ = now + stretched(backoff_, jitter01, options_);
  }
}

void SiteHealth::connection_succeeded() {
  failures_ = 0;
  backoff_ = milliseconds(0);
  down_until_ = {};
  down_ = false;
  probe_out_ = false;
}

bool SiteHealth::may_connect(Clock::time_point now, std::size_t /*active: limits are applied elsewhere*/) {
  if (!down_) return true;
  if (probe_out_ || now < down_until_) return false;
  probe_out_ = true;  // this connection is the probe; no other until it ends
  return true;
}

SiteHealth::State SiteHealth::state(Clock::time_point now) const {
  if (!down_) return State::up;
  // Once the back-off is over the site is waiting for (or running) its probe.
  return probe_out_ || now >= down_until_ ? State::probing : State::down;
}

}  // namespace petrel::shaping
