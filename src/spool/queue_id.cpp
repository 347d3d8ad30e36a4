#include "spool/queue_id.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

namespace petrel::spool {
namespace {

// Base 36 over [0-9A-Z]: the digits sort before the letters in ASCII, so a
// fixed-width base-36 number sorts as text in numeric order. (Base 32 would
// not do: 10 base-32 digits hold 2^50 microseconds, which ran out in 2005.
// 36^10 microseconds last until 2086.)
constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::uint64_t base = 36;
constexpr std::size_t time_width = 10;
constexpr std::size_t counter_width = 6;
constexpr std::uint64_t counter_modulus = 36ull * 36 * 36 * 36 * 36 * 36;  // 36^6, ~2^31

void put_base36(std::string& out, std::size_t at, std::size_t width, std::uint64_t value) {
  for (std::size_t i = width; i-- > 0;) {
    out[at + i] = digits[value % base];
    value /= base;
  }
}

// Random start for the counter, so that two processes started within the
// same microsecond (or a clock that stepped back) still differ.
std::uint64_t random_counter_start() {
  std::random_device device;
  return ((std::uint64_t{device()} << 32) | device()) % counter_modulus;
}

std::atomic<std::uint64_t> counter{random_counter_start()};

}  // namespace

QueueId make_queue_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  // Within the process the counter alone repeats only after 36^6 (~2e9) IDs,
  // and the time prefix changes long before that.
  const std::uint64_t sequence = counter.fetch_add(1, std::memory_order_relaxed) % counter_modulus;

  QueueId id;
  id.value.assign(time_width + counter_width, '0');
  put_base36(id.value, 0, time_width, micros);
  put_base36(id.value, time_width, counter_width, sequence);
  return id;
}

bool is_valid_queue_id(std::string_view text) {
  if (text.size() != time_width + counter_width) return false;
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    if (!digit && !upper) return false;
  }
  return true;
}

}  // namespace petrel::spool
