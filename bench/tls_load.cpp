// tls_load: an SMTP load generator that speaks STARTTLS (RFC 3207), for
// bench/bench.py's T scenarios. Postfix's smtp-source has no TLS.
//
//   tls_load handshake -c 20 -n 2000 127.0.0.1:2525
//       each of C clients in a loop: connect, 220, EHLO, STARTTLS, 220, full
//       TLS handshake (no session resumption), EHLO, QUIT, 221, close.
//       Reports handshakes/s over N completed sessions.
//   tls_load messages -c 20 -n 10000 -m 10 -l 4096 127.0.0.1:2525
//       each of C clients in a loop: connect, EHLO, STARTTLS, handshake, EHLO,
//       then up to M messages of SIZE bytes (MAIL, RCPT, DATA, dot-stuffed
//       content, each answered 250), QUIT. Reports messages/s over N.
//
// Every read and write has a deadline (-t, default 10 s) and the whole run a
// cap (--max-seconds). Any reply other than the expected one, a timeout or a
// TLS error stops the run: the other clients finish the session they are in
// and start no new one, and the exit status is 1. One line of JSON goes to
// stdout either way; errors also go to stderr. Besides the rate it has what
// was negotiated (protocol, cipher, group, server key), the median and 99th
// percentile of STARTTLS-sent to handshake-done, the mean time of each step of
// a session, and how many session tickets the server sent per handshake.
//
// TLS: 1.2 or 1.3 as the server chooses (--tls 1.2 / 1.3 to force), no
// certificate verification, no SNI unless --sni. Tickets are counted and
// dropped and no session is ever offered back, so every handshake is full.
// Single-threaded by default (--threads T: T event loops), like smtp-source.
//
// Build: g++ -O2 -std=c++20 bench/tls_load.cpp -o tls_load -lssl -lcrypto -lboost_system -pthread
// (bench/bench.py does this on demand). Clang needs
// -DBOOST_ASIO_HAS_CO_AWAIT -DBOOST_ASIO_HAS_STD_COROUTINE with Boost 1.74.
#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::string port;
  int clients = 20;
  long total = 1000;        // handshakes or messages
  long per_session = 10;    // messages per connection (messages mode)
  std::size_t size = 4096;  // bytes of message content before dot-stuffing
  double timeout_s = 10;
  double max_seconds = 300;
  int threads = 1;
  std::string tls = "auto";  // auto (TLS 1.2 or 1.3, as negotiated), 1.2, 1.3
  std::string helo = "client.test";
  std::string from = "a@client.test";
  std::string rcpt = "x@bench.test";
  std::string sni;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "tls_load: %s\n"
               "usage: tls_load handshake|messages [-c CLIENTS] [-n TOTAL] [-m PER_SESSION] [-l SIZE]\n"
               "       [-t TIMEOUT_S] [--max-seconds S] [--threads T] [--tls auto|1.2|1.3] [--sni NAME]\n"
               "       [--helo NAME] [--from ADDR] [--to ADDR] HOST:PORT\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) usage("no mode");
  o.mode = argv[1];
  if (o.mode != "handshake" && o.mode != "messages") usage("mode is handshake or messages");
  std::string target;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("no value for " + a).c_str());
      return argv[++i];
    };
    if (a == "-c") o.clients = std::stoi(value());
    else if (a == "-n") o.total = std::stol(value());
    else if (a == "-m") o.per_session = std::stol(value());
    else if (a == "-l") o.size = std::stoul(value());
    else if (a == "-t") o.timeout_s = std::stod(value());
    else if (a == "--max-seconds") o.max_seconds = std::stod(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--tls") o.tls = value();
    else if (a == "--sni") o.sni = value();
    else if (a == "--helo") o.helo = value();
    else if (a == "--from") o.from = value();
    else if (a == "--to") o.rcpt = value();
    else if (!a.empty() && a[0] == '-') usage(("unknown option " + a).c_str());
    else target = a;
  }
  const auto colon = target.rfind(':');
  if (colon == std::string::npos) usage("target is HOST:PORT");
  o.host = target.substr(0, colon);
  o.port = target.substr(colon + 1);
  if (o.clients < 1 || o.total < 1 || o.per_session < 1 || o.threads < 1 || o.timeout_s <= 0)
    usage("counts and timeouts must be positive");
  if (o.tls != "auto" && o.tls != "1.2" && o.tls != "1.3") usage("--tls is auto, 1.2 or 1.3");
  o.threads = std::min(o.threads, o.clients);
  return o;
}

// SMTP DATA content: a few headers, then lines of text up to exactly `size`
// octets, CRLF line ends; one line starts with a dot so that the stuffing is
// exercised. Returned dot-stuffed and with the terminating ".\r\n".
std::string make_message(const Options& o) {
  std::string m = "From: <" + o.from + ">\r\nTo: <" + o.rcpt +
                  ">\r\nSubject: tls_load\r\nMessage-ID: <tls-load@client.test>\r\n\r\n";
  const std::string line(76, 'x');
  bool dotted = false;
  while (m.size() < o.size) {
    std::string l = dotted ? line : "." + line.substr(1);
    dotted = true;
    const std::size_t room = o.size - m.size();
    if (room < l.size() + 2) l = std::string(room >= 2 ? room - 2 : 0, 'y');
    m += l;
    m += "\r\n";
    if (room < 2) break;
  }
  std::string stuffed;
  stuffed.reserve(m.size() + 64);
  bool line_start = true;
  for (char ch : m) {
    if (line_start && ch == '.') stuffed += '.';
    stuffed += ch;
    line_start = ch == '\n';
  }
  if (!line_start) stuffed += "\r\n";
  stuffed += ".\r\n";
  return stuffed;
}

struct Shared {
  Options opt;
  std::string message;  // dot-stuffed, with the final dot
  ssl::context tls{ssl::context::tls_client};
  tcp::endpoint target;
  std::atomic<long> remaining{0};
  std::atomic<long> handshakes{0}, messages{0}, sessions{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;  // guards what follows
  std::string first_error;
  long failures = 0;
  std::map<std::string, long> negotiated;  // "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 EC-256" -> sessions
  std::vector<double> handshake_ms;        // STARTTLS sent -> handshake done
  // Summed time of each step over all completed sessions, in ms.
  std::map<std::string, double> phase_ms;
  std::atomic<int> active{0};              // clients still running
  std::function<void()> all_done;          // called by the last client to end
  Clock::time_point t_end;

  // Takes up to `want` units of work; 0 when there is none left or the run stopped.
  long take(long want) {
    if (stop.load()) return 0;
    long left = remaining.load();
    while (left > 0) {
      const long got = std::min(want, left);
      if (remaining.compare_exchange_weak(left, left - got)) return got;
    }
    return 0;
  }

  void fail(const std::string& what) {
    stop = true;
    std::lock_guard lock(mutex);
    if (failures++ == 0) first_error = what;
  }
};

// Session tickets (TLS 1.3 NewSessionTicket, or TLS 1.2's) the servers sent:
// counted, never kept or reused.
std::atomic<long> tickets{0};
int count_ticket(SSL*, SSL_SESSION*) {
  ++tickets;
  return 0;  // not kept: OpenSSL frees it
}

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "250-" / "250 "
  std::string text() const {
    std::string t = std::to_string(code);
    for (const auto& l : lines) t += " " + l;
    return t.substr(0, 200);
  }
};

// One connection: the socket, the TLS stream once STARTTLS is done, and a
// watchdog that closes the socket when the current step is past its deadline.
struct Conn : std::enable_shared_from_this<Conn> {
  tcp::socket sock;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::duration timeout;
  std::string buf;
  bool done = false, timed_out = false;

  Conn(asio::any_io_executor ex, Clock::duration t) : sock(ex), timer(ex), timeout(t) {}

  void start_watchdog() {
    deadline = Clock::now() + timeout;
    asio::co_spawn(sock.get_executor(), watchdog(shared_from_this()), asio::detached);
  }
  static awaitable<void> watchdog(std::shared_ptr<Conn> self) {
    for (;;) {
      self->timer.expires_at(self->deadline);
      boost::system::error_code ec;
      co_await self->timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->done) co_return;
      if (self->deadline <= Clock::now()) {
        self->timed_out = true;
        self->sock.close(ec);
        co_return;
      }
    }
  }
  void step() { deadline = Clock::now() + timeout; }  // the next read/write gets a full timeout
  void finish() {
    done = true;
    timer.cancel();
    boost::system::error_code ec;
    sock.close(ec);
  }

  template <class Stream>
  awaitable<std::string> read_line(Stream& s) {
    step();
    boost::system::error_code ec;
    const std::size_t n =
        co_await asio::async_read_until(s, asio::dynamic_buffer(buf, 64 * 1024), "\r\n",
                                        asio::redirect_error(use_awaitable, ec));
    if (ec) throw Failure(timed_out ? "timeout waiting for a reply" : "read: " + ec.message());
    std::string line = buf.substr(0, n - 2);
    buf.erase(0, n);
    co_return line;
  }

  awaitable<Reply> reply() {
    Reply r;
    for (;;) {
      // (no co_await inside ?: : GCC 12 destroys the result too early)
      std::string line;
      if (tls) line = co_await read_line(*tls);
      else line = co_await read_line(sock);
      if (line.size() < 3 || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
        throw Failure("malformed reply line: " + line.substr(0, 100));
      const int code = std::atoi(line.substr(0, 3).c_str());
      if (r.code != 0 && code != r.code) throw Failure("reply codes differ within one reply: " + line.substr(0, 100));
      r.code = code;
      r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
      if (line.size() == 3 || line[3] == ' ') co_return r;
    }
  }

  awaitable<void> send(std::string_view data) {
    step();
    boost::system::error_code ec;
    if (tls) co_await asio::async_write(*tls, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
    else co_await asio::async_write(sock, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
    if (ec) throw Failure(timed_out ? "timeout on a write" : "write: " + ec.message());
  }

  // Sends `command` (without CRLF; empty = send nothing) and insists on `expect`.
  // By value: a coroutine must own what it reads after a suspension.
  awaitable<Reply> command(std::string command, int expect, const char* what) {
    if (!command.empty()) {
      command += "\r\n";
      co_await send(command);
    }
    Reply r = co_await reply();
    if (r.code != expect)
      throw Failure(std::string(what) + ": expected " + std::to_string(expect) + ", got " + r.text());
    co_return r;
  }
};

std::string describe_tls(SSL* s) {
  std::string d = SSL_get_version(s);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(s)) d += std::string(" ") + SSL_CIPHER_get_name(c);
  const int group = SSL_get_negotiated_group(s);
  if (group != 0) {
    const char* name = SSL_group_to_name(s, group);
    d += std::string(" ") + (name ? name : OBJ_nid2sn(group & ~TLSEXT_nid_unknown));
  }
  if (X509* cert = SSL_get0_peer_certificate(s)) {
    if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
      const char* type = EVP_PKEY_get0_type_name(key);
      d += std::string(" ") + (type ? type : "?") + "-" + std::to_string(EVP_PKEY_get_bits(key));
    }
  }
  return d;
}

// One SMTP session; `messages` == 0 in handshake mode.
awaitable<void> session(Shared& sh, long messages) {
  const auto ex = co_await asio::this_coro::executor;
  auto c = std::make_shared<Conn>(
      ex, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sh.opt.timeout_s)));
  c->start_watchdog();
  struct Finish {
    std::shared_ptr<Conn> c;
    ~Finish() { c->finish(); }
  } finish{c};

  std::vector<std::pair<const char*, double>> phases;
  auto mark = [&phases, t = Clock::now()](const char* name) mutable {
    const auto now = Clock::now();
    phases.emplace_back(name, std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  };
  boost::system::error_code ec;
  c->step();
  co_await c->sock.async_connect(sh.target, asio::redirect_error(use_awaitable, ec));
  if (ec) throw Failure(c->timed_out ? "timeout on connect" : "connect: " + ec.message());
  c->sock.set_option(tcp::no_delay(true), ec);

  mark("connect");
  co_await c->command("", 220, "greeting");
  mark("greeting");
  const Reply ehlo = co_await c->command("EHLO " + sh.opt.helo, 250, "EHLO");
  mark("ehlo");
  const bool offers = std::any_of(ehlo.lines.begin(), ehlo.lines.end(), [](const std::string& l) {
    return l.size() >= 8 && strncasecmp(l.c_str(), "STARTTLS", 8) == 0;
  });
  if (!offers) throw Failure("EHLO reply does not offer STARTTLS");

  const auto t_starttls = Clock::now();
  co_await c->command("STARTTLS", 220, "STARTTLS");
  mark("starttls");
  if (!c->buf.empty()) throw Failure("data after the STARTTLS reply");
  c->tls = std::make_unique<ssl::stream<tcp::socket&>>(c->sock, sh.tls);
  SSL* native = c->tls->native_handle();
  if (!sh.opt.sni.empty()) SSL_set_tlsext_host_name(native, sh.opt.sni.c_str());
  c->step();
  co_await c->tls->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
  if (ec) throw Failure(c->timed_out ? "timeout in the TLS handshake" : "TLS handshake: " + ec.message());
  if (SSL_session_reused(native)) throw Failure("the TLS session was resumed");
  mark("handshake");
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t_starttls).count();
  {
    const std::string d = describe_tls(native);
    std::lock_guard lock(sh.mutex);
    ++sh.negotiated[d];
    sh.handshake_ms.push_back(ms);
  }

  co_await c->command("EHLO " + sh.opt.helo, 250, "EHLO after STARTTLS");
  mark("ehlo_tls");
  long sent = 0;
  for (; sent < messages; ++sent) {
    co_await c->command("MAIL FROM:<" + sh.opt.from + ">", 250, "MAIL");
    co_await c->command("RCPT TO:<" + sh.opt.rcpt + ">", 250, "RCPT");
    co_await c->command("DATA", 354, "DATA");
    co_await c->send(sh.message);
    co_await c->command("", 250, "end of DATA");
    ++sh.messages;
  }
  if (messages > 0) mark("messages");
  co_await c->command("QUIT", 221, "QUIT");
  mark("quit");
  {
    std::lock_guard lock(sh.mutex);
    for (const auto& [name, ms] : phases) sh.phase_ms[name] += ms;
  }
  ++sh.handshakes;
  ++sh.sessions;
}

awaitable<void> client(Shared& sh) {
  const bool msgs = sh.opt.mode == "messages";
  for (;;) {
    const long n = sh.take(msgs ? sh.opt.per_session : 1);
    if (n == 0) break;
    try {
      co_await session(sh, msgs ? n : 0);
    } catch (const std::exception& e) {
      sh.fail(e.what());
      break;
    }
  }
  if (--sh.active == 0) sh.all_done();
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\', o += ch;
    else if (static_cast<unsigned char>(ch) < 0x20) o += ' ';
    else o += ch;
  }
  return o + "\"";
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Shared sh;
  sh.opt = parse(argc, argv);
  const Options& o = sh.opt;
  sh.message = make_message(o);
  sh.remaining = o.total;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto found = resolver.resolve(o.host, o.port, ec);
    if (ec || found.empty()) usage(("cannot resolve " + o.host + ":" + o.port + ": " + ec.message()).c_str());
    sh.target = found.begin()->endpoint();
  }

  // No verification (a self-signed benchmark certificate) and never a
  // resumed session: no client-side cache, and no SSL_set_session, so every
  // handshake is a full one.
  SSL_CTX* ctx = sh.tls.native_handle();
  sh.tls.set_verify_mode(ssl::verify_none);
  // CLIENT mode only so that the callback sees each ticket; nothing is stored.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, count_ticket);
  SSL_CTX_set_min_proto_version(ctx, o.tls == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, o.tls == "1.2" ? TLS1_2_VERSION : 0);

  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int t = 0; t < o.threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
  sh.active = o.clients;
  for (int i = 0; i < o.clients; ++i) asio::co_spawn(*ios[i % o.threads], client(sh), asio::detached);

  // The cap on the whole run.
  std::atomic<bool> capped{false};
  asio::steady_timer cap(*ios[0]);
  cap.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.max_seconds)));
  cap.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    capped = true;
    sh.fail("stopped at the cap of " + std::to_string(o.max_seconds) + " s");
    for (auto& io : ios) io->stop();
  });

  const auto t0 = Clock::now();
  sh.all_done = [&] {
    sh.t_end = Clock::now();
    asio::post(*ios[0], [&] { cap.cancel(); });
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back([&, t] { ios[t]->run(); });
  for (auto& th : threads) th.join();
  const auto t1 = capped ? Clock::now() : sh.t_end;

  const double elapsed = std::chrono::duration<double>(t1 - t0).count();
  const long handshakes = sh.handshakes.load(), messages = sh.messages.load();
  const long done = o.mode == "messages" ? messages : handshakes;
  const bool ok = sh.failures == 0 && done == o.total;
  std::string phases;
  for (const auto& [k, v] : sh.phase_ms) {
    char one[64];
    std::snprintf(one, sizeof one, "%.3f", sh.sessions > 0 ? v / static_cast<double>(sh.sessions.load()) : 0.0);
    phases += (phases.empty() ? "" : ", ") + json_string(k) + ": " + one;
  }
  std::string negotiated;
  for (const auto& [k, v] : sh.negotiated) negotiated += (negotiated.empty() ? "" : ", ") + json_string(k) + ": " + std::to_string(v);
  std::printf(
      "{\"mode\": \"%s\", \"ok\": %s, \"clients\": %d, \"threads\": %d, \"requested\": %ld, \"completed\": %ld, "
      "\"elapsed_s\": %.4f, \"rate\": %.2f, \"handshakes\": %ld, \"handshake_rate\": %.2f, \"messages\": %ld, "
      "\"message_rate\": %.2f, \"per_session\": %ld, \"size\": %zu, \"sessions\": %ld, "
      "\"handshake_ms_p50\": %.3f, \"handshake_ms_p99\": %.3f, \"session_ms_mean_by_step\": {%s}, "
      "\"negotiated\": {%s}, \"tickets_per_session\": %.2f, \"failures\": %ld, "
      "\"error\": %s}\n",
      o.mode.c_str(), ok ? "true" : "false", o.clients, o.threads, o.total, done, elapsed,
      elapsed > 0 ? done / elapsed : 0.0, handshakes, elapsed > 0 ? handshakes / elapsed : 0.0, messages,
      elapsed > 0 ? messages / elapsed : 0.0, o.mode == "messages" ? o.per_session : 0L, o.size, sh.sessions.load(),
      percentile(sh.handshake_ms, 0.5), percentile(sh.handshake_ms, 0.99), phases.c_str(), negotiated.c_str(),
      sh.sessions > 0 ? static_cast<double>(tickets.load()) / static_cast<double>(sh.sessions.load()) : 0.0, sh.failures,
      sh.first_error.empty() ? "null" : json_string(sh.first_error).c_str());
  std::fflush(stdout);
  if (!ok) std::fprintf(stderr, "tls_load: %s\n", sh.first_error.empty() ? "incomplete" : sh.first_error.c_str());
  return ok ? 0 : 1;
}
