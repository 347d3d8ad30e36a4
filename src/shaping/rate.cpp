// Rates ("500/min") and the GCRA throttle that spaces cells by them.
#include <algorithm>
#include <limits>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct Unit {
  std::string_view name;
  milliseconds period;
};

constexpr Unit kUnits[] = {
    {"s", std::chrono::seconds(1)}, {"sec", std::chrono::seconds(1)}, {"second", std::chrono::seconds(1)},
    {"m", std::chrono::minutes(1)}, {"min", std::chrono::minutes(1)}, {"minute", std::chrono::minutes(1)},
    {"h", std::chrono::hours(1)},   {"hr", std::chrono::hours(1)},    {"hour", std::chrono::hours(1)},
    {"d", std::chrono::hours(24)},  {"day", std::chrono::hours(24)},
};

// The names to_string() writes.
constexpr Unit kCanonical[] = {
    {"s", std::chrono::seconds(1)},
    {"min", std::chrono::minutes(1)},
    {"h", std::chrono::hours(1)},
    {"d", std::chrono::hours(24)},
};

std::optional<milliseconds> period_named(std::string_view name) {
  for (const Unit& unit : kUnits) {
    if (unit.name == name) return unit.period;
  }
  return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal digits, grouped by ',' or '_' between digits ("1,000", "10_000");
// nullopt on anything else or on overflow.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  if (text.empty() || !is_digit(text.front()) || !is_digit(text.back())) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ',' || c == '_') {
      if (!is_digit(text[i - 1])) return std::nullopt;  // "1,,000"
      continue;
    }
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<Rate> parse_rate(std::string_view text) {
  const std::size_t slash = text.find('/');
  const auto count = parse_count(text.substr(0, slash));
  if (!count) return std::nullopt;
  if (slash == std::string_view::npos) {
    // A bare number has no period: only "0" (unlimited) makes sense alone.
    return *count == 0 ? std::optional<Rate>(Rate{}) : std::nullopt;
  }
  const auto period = period_named(text.substr(slash + 1));
  if (!period) return std::nullopt;
  if (*count == 0) return Rate{};  // "0/min" is the same unlimited as "0"
  return Rate{*count, *period};
}

std::string to_string(const Rate& rate) {
  if (rate.unlimited()) return "0";
  for (const Unit& unit : kCanonical) {
    if (unit.period == rate.period) return std::to_string(rate.count) + "/" + std::string(unit.name);
  }
  // A rate made in code with another period: the first unit over which the
  // count comes out whole, so that it still prints as something parse_rate
  // reads; failing that, the period in milliseconds (for the log only).
  for (const Unit& unit : kCanonical) {
    const auto scaled = static_cast<unsigned __int128>(rate.count) * static_cast<std::uint64_t>(unit.period.count());
    const auto period = static_cast<std::uint64_t>(rate.period.count());
    if (period != 0 && scaled % period == 0 && scaled / period <= std::numeric_limits<std::uint64_t>::max()) {
      return std::to_string(static_cast<std::uint64_t>(scaled / period)) + "/" + std::string(unit.name);
    }
  }
  return std::to_string(rate.count) + "/" + std::to_string(rate.period.count()) + "ms";
}

// GCRA, the "virtual scheduling" form: a cell may pass at `now` when its
// theoretical arrival time is no later than now + tolerance; passing moves
// that time one interval on. The interval is rounded up to whole
// nanoseconds, so the throttle never lets more through than the rate says.
Throttle::Throttle(Rate rate, std::uint64_t burst) : rate_(rate) {
  if (rate_.unlimited()) return;
  const auto period = static_cast<std::uint64_t>(nanoseconds(rate_.period).count());
  const std::uint64_t rounded_up = period / rate_.count + (period % rate_.count != 0 ? 1 : 0);
  const std::uint64_t interval = std::max<std::uint64_t>(1, rounded_up);
  interval_ = nanoseconds(static_cast<nanoseconds::rep>(interval));
  // At most one period's worth of tolerance is more than any burst needs,
  // and keeps the product far from overflowing.
  const std::uint64_t extra_cells = std::min<std::uint64_t>(std::max<std::uint64_t>(burst, 1) - 1, rate_.count);
  tolerance_ = interval_ * static_cast<nanoseconds::rep>(extra_cells);
  theoretical_arrival_ = Clock::time_point::min();
}

nanoseconds Throttle::wait(Clock::time_point now) const {
  if (rate_.unlimited()) return nanoseconds(0);
  const Clock::time_point arrival = std::max(theoretical_arrival_, now);
  const nanoseconds early = arrival - now;
  return early <= tolerance_ ? nanoseconds(0) : early - tolerance_;
}

nanoseconds Throttle::acquire(Clock::time_point now) {
  const nanoseconds until = wait(now);
  if (until.count() == 0 && !rate_.unlimited()) theoretical_arrival_ = std::max(theoretical_arrival_, now) + interval_;
  return until;
}

}  // namespace petrel::shaping
