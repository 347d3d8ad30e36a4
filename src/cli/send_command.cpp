// `petrel send`: builds one message (cli/mime_message), finds where it goes
// (--server, or the MX of the first recipient's domain through the
// project's resolver and MX rules), and hands it to delivery::deliver(),
// the same SMTP client petreld relays with, watching its dialogue live.
#include "cli/send_command.hpp"

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "mime/message.hpp"
#include "cli/send_outcome.hpp"
#include "cli/terminal.hpp"
#include "delivery/smtp_deliverer.hpp"
#include "dns/destination.hpp"
#include "dns/unbound_resolver.hpp"
#include "smtp/address.hpp"
#include "util/idn.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;
using mime::build_message;
using mime::check_header;
using mime::content_type_for;
using mime::make_boundary;
using mime::make_message_id;
using mime::MessageSpec;
using mime::rfc5322_date;
using mime::split_header;
using Clock = std::chrono::steady_clock;

constexpr int kExitLocalError = 4;  // bad input found before sending (unreadable file, bad header)
constexpr std::uint16_t kSmtpPort = 25;
constexpr std::uint16_t kSmtpsPort = 465;  // RFC 8314 §7.3

struct SendFlags {
  std::string server;
  std::uint16_t port = 0;
  std::string resolver;
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> headers;
  std::string subject = "Test message from petrel send";
  std::string body = "This is a test message sent by petrel send.\n";
  std::vector<std::string> attach;
  bool starttls = false;
  bool tls = false;
  bool no_starttls = false;
  bool tls_verify = false;
  bool requiretls = false;  // RFC 8689: MAIL FROM ... REQUIRETLS, over TLS only
  std::string ca_file;
  std::string auth_user;
  std::string helo;
  double timeout = 30;
  bool json = false;
  bool quiet = false;
};

// Input that cannot be sent: reported before any connection, exit 4.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "Ann <a@b.example>" or "a@b.example" -> the mailbox for the envelope.
smtp::Address envelope_address(const std::string& text, const char* flag) {
  std::string bare = text;
  const std::size_t open = text.rfind('<');
  const std::size_t close = text.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    bare = text.substr(open + 1, close - open - 1);
  }
  const std::string path = "<" + bare + ">";
  const smtp::PathParse parsed = smtp::parse_path(path, false, true);
  if (parsed.error != smtp::AddressError::none || parsed.consumed != path.size() || !parsed.path.mailbox) {
    throw InputError(std::string(flag) + ": '" + text + "' is not a mail address (" +
                     std::string(smtp::describe(parsed.error)) + ")");
  }
  return *parsed.path.mailbox;
}

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// PETREL_PASSWORD, else asked on the terminal with echo off.
std::string password_for(const std::string& user) {
  if (const char* env = std::getenv("PETREL_PASSWORD")) return env;
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw InputError("--auth: PETREL_PASSWORD is not set and there is no terminal to ask for the password");
  termios saved{};
  const bool is_tty = tcgetattr(fd, &saved) == 0;
  if (is_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  const std::string prompt = "Password for " + user + ": ";
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string password;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n' && c != '\r') password += c;
  if (is_tty) tcsetattr(fd, TCSAFLUSH, &saved);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return password;
}

struct Prepared {
  smtp::OutgoingMessage message;
  std::string message_id;
};

Prepared prepare(const SendFlags& f) {
  std::mt19937_64 rng{std::random_device{}()};
  MessageSpec spec;
  const smtp::Address from = envelope_address(f.from, "--from");
  Prepared p;
  p.message.reverse_path.mailbox = from;
  p.message.params.requiretls = f.requiretls;
  for (const auto& t : f.to) p.message.recipients.push_back({envelope_address(t, "--to"), smtp::notify_unspecified, ""});
  // These go into headers as given: a line break in one would end the
  // header there and start another, or leave a bare LF in the message.
  const auto check = [](const char* flag, const char* name, const std::string& value) {
    if (const std::string why = check_header(name, value); !why.empty()) throw InputError(flag + (": " + why));
  };
  check("--from", "From", f.from);
  check("--subject", "Subject", f.subject);
  for (const auto& t : f.to) check("--to", "To", t);
  spec.from = f.from;
  spec.to = f.to;
  spec.subject = f.subject;
  for (const auto& h : f.headers) {
    std::string name, value;
    if (!split_header(h, name, value)) throw InputError("--header '" + h + "': expected \"Name: value\"");
    if (const std::string why = check_header(name, value); !why.empty()) throw InputError("--header: " + why);
    spec.headers.emplace_back(name, value);
  }
  spec.body = f.body.starts_with("@") ? read_file(f.body.substr(1)) : f.body;
  for (const auto& path : f.attach) {
    const std::size_t slash = path.rfind('/');
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    spec.attachments.push_back({name, content_type_for(name), read_file(path)});
  }
  const std::time_t now = std::time(nullptr);
  spec.date = rfc5322_date(now);
  spec.message_id = make_message_id(now, rng(), from.domain);
  spec.boundary = make_boundary(rng());
  p.message.content = build_message(spec);
  p.message_id = spec.message_id;
  return p;
}

// The dialogue as delivery::deliver() goes through it, each line stamped
// with the time since the start; printed as it comes unless quiet.
class Dialogue {
 public:
  struct Line {
    double ms;
    char direction;  // '>' client, '<' server, '*' a note
    std::string text;
  };

  explicit Dialogue(bool print) : print_(print) {}

  void see(char direction, std::string_view text, const smtp::ServerReply* reply) {
    if (direction == '>' && text.starts_with("MAIL FROM:")) mail_sent_ = true;
    const double ms = elapsed_ms();
    if (reply == nullptr) return add(ms, direction, std::string(text), 0);
    for (auto& line : reply_lines(*reply)) add(ms, direction, std::move(line), reply->code);
  }
  void note(std::string text) { add(elapsed_ms(), '*', std::move(text), 0); }

  double elapsed_ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }
  bool mail_sent() const { return mail_sent_; }
  const std::vector<Line>& lines() const { return lines_; }

 private:
  void add(double ms, char direction, std::string text, int code) {
    if (print_) {
      const char* mark = direction == '>' ? " ->" : direction == '<' ? "<- " : "===";
      Colour colour = direction == '>' ? Colour::cyan : Colour::dim;
      if (direction == '<') colour = code >= 400 ? Colour::red : Colour::none;
      std::printf("%9.1f ms  %s %s\n", ms, mark, paint(text, colour).c_str());
      std::fflush(stdout);
    }
    lines_.push_back({ms, direction, std::move(text)});
  }

  bool print_;
  Clock::time_point start_ = Clock::now();
  bool mail_sent_ = false;
  std::vector<Line> lines_;
};

// What came of the whole run.
struct Outcome {
  std::optional<delivery::DeliveryReport> report;
  std::optional<SendStatus> status;  // set early when no delivery was tried (DNS)
  std::string error;                 // why not sent, when there is no report
  json mx = json::array();
};

std::vector<delivery::Endpoint> server_endpoints(const ServerSpec& s, std::uint16_t port, std::string& error) {
  if (auto ip = dns::IpAddress::parse(s.host)) return {{s.host, ip->str(), port, ""}};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(s.host.c_str(), nullptr, &hints, &found); rc != 0) {
    error = "cannot resolve " + s.host + ": " + gai_strerror(rc);
    return {};
  }
  std::vector<delivery::Endpoint> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* where = a->ai_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
                                                 : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr);
    if (inet_ntop(a->ai_family, where, text, sizeof text) == nullptr) continue;
    const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.address == text; });
    if (!seen) out.push_back({s.host, text, port, ""});
  }
  freeaddrinfo(found);
  return out;
}

delivery::DeliveryOptions delivery_options(const SendFlags& f, Dialogue& dialogue) {
  delivery::DeliveryOptions o;
  o.client.helo_name = f.helo.empty() ? local_host_name() : f.helo;
  const bool verify = f.tls_verify || !f.ca_file.empty();
  o.client.tls = f.no_starttls ? smtp::TlsPolicy::none
                 : (f.starttls || f.tls || verify || f.requiretls) ? smtp::TlsPolicy::encrypt
                                                                   : smtp::TlsPolicy::may;
  o.client.requiretls = f.requiretls;
  if (!f.auth_user.empty()) o.client.credentials = smtp::Credentials{f.auth_user, password_for(f.auth_user)};
  o.implicit_tls = f.tls;
  o.verify_certificate = verify;
  o.ca_file = f.ca_file;
  const auto t = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  o.timeouts = {t, t, t, t, t, t, t, t, t};
  o.watch = [&dialogue](char direction, std::string_view line, const smtp::ServerReply* reply) {
    dialogue.see(direction, line, reply);
  };
  return o;
}

void start(boost::asio::io_context& io, std::vector<delivery::Endpoint> endpoints, delivery::DeliveryOptions options,
           smtp::OutgoingMessage message, Outcome& outcome) {
  std::vector<smtp::OutgoingMessage> messages;
  messages.push_back(std::move(message));
  delivery::deliver(io, std::move(endpoints), std::move(options), std::move(messages),
                    [&outcome](std::vector<delivery::DeliveryReport> reports) {
                      if (!reports.empty()) outcome.report = std::move(reports.front());
                    });
}

// RFC 5321 §5.1 by the project's rules (dns/mx_plan.hpp), then deliver().
void start_by_mx(boost::asio::io_context& io, dns::Resolver& resolver, const std::string& domain,
                 std::uint16_t port, delivery::DeliveryOptions options, smtp::OutgoingMessage message,
                 Dialogue& dialogue, Outcome& outcome) {
  dialogue.note("looking up the MX of " + domain);
  auto go = [&io, &dialogue, &outcome, port, domain, options = std::move(options),
             message = std::move(message)](const dns::DeliveryPlan& plan) mutable {
    if (plan.verdict != dns::Verdict::deliver) {
      const bool permanent = plan.verdict == dns::Verdict::null_mx || plan.verdict == dns::Verdict::no_such_domain;
      outcome.status = permanent ? SendStatus::rejected : SendStatus::not_sent;
      outcome.error = domain + ": " + std::string(dns::to_string(plan.verdict)) +
                      (plan.reason.empty() ? "" : " (" + plan.reason + ")");
      dialogue.note(outcome.error);
      return;
    }
    if (plan.implicit_mx) dialogue.note(domain + " has no MX records: its own address is used (implicit MX)");
    std::vector<delivery::Endpoint> endpoints;
    for (const dns::Candidate& c : plan.candidates) {
      endpoints.push_back({c.host, c.address.str(), port, ""});
      dialogue.note("MX " + std::to_string(c.preference) + " " + c.host + " " + c.address.str());
      outcome.mx.push_back({{"host", c.host}, {"preference", c.preference}, {"address", c.address.str()}});
    }
    for (const auto& n : plan.notes) dialogue.note(n);
    start(io, std::move(endpoints), std::move(options), std::move(message), outcome);
  };
  dns::resolve_destination(resolver, domain, dns::PlanOptions{}, std::move(go));
}

std::unique_ptr<dns::UnboundResolver> make_resolver(boost::asio::io_context& io, const SendFlags& f) {
  dns::ResolverOptions r;
  r.upstream = f.resolver;
  r.query_timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  if (!f.resolver.empty()) {
    // As petreld does (queue/remote_connections.cpp): a lab or test DNS serves the
    // RFC 6761 names and rarely passes DNSSEC records on.
    r.zones_from_upstream = {"test.", "invalid.", "example."};
    r.dnssec = dns::DnssecMode::off;
  }
  return std::make_unique<dns::UnboundResolver>(io, std::move(r));
}

json reply_json(const smtp::ServerReply& r) {
  return {{"code", r.code}, {"enhanced", r.enhanced}, {"text", r.str()}, {"local", r.local}};
}

void print_json(const SendFlags& f, const Prepared& p, const Outcome& o, SendStatus status, const std::string& queue_id,
                const Dialogue& d) {
  json j;
  j["status"] = to_string(status);
  j["exit_code"] = static_cast<int>(status);
  j["queue_id"] = queue_id.empty() ? json(nullptr) : json(queue_id);
  j["message_id"] = p.message_id;
  j["size"] = p.message.content.size();
  j["from"] = p.message.reverse_path.mailbox->str();
  j["server"] = f.server.empty() ? json(nullptr) : json(f.server);
  j["mx"] = o.mx;
  j["endpoint"] = o.report && o.report->endpoint ? json(o.report->endpoint->str()) : json(nullptr);
  j["tls"] = o.report && !o.report->tls.empty() ? json(o.report->tls) : json(nullptr);
  j["error"] = o.error.empty() ? json(nullptr) : json(o.error);
  j["recipients"] = json::array();
  for (std::size_t i = 0; i < p.message.recipients.size(); ++i) {
    json r = {{"address", p.message.recipients[i].forward_path.str()}};
    if (o.report && i < o.report->recipients.size()) {
      r["outcome"] = to_string(o.report->recipients[i].outcome);
      r["reply"] = reply_json(o.report->recipients[i].reply);
    } else {
      r["outcome"] = "deferred";
      r["reply"] = nullptr;
    }
    j["recipients"].push_back(std::move(r));
  }
  j["elapsed_ms"] = d.elapsed_ms();
  j["transcript"] = json::array();
  for (const auto& l : d.lines()) {
    j["transcript"].push_back({{"ms", l.ms}, {"direction", std::string(1, l.direction)}, {"line", l.text}});
  }
  // Reply text may hold any octet above 0x7f: replaced, not a thrown type_error
  // that would turn a sent message into exit 3.
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void print_summary(const Prepared& p, const Outcome& o, SendStatus status, const std::string& queue_id,
                   const Dialogue& d) {
  const auto& rcpts = p.message.recipients;
  std::size_t accepted = 0;
  // Not sent: every recipient has the same reason, printed once below.
  for (std::size_t i = 0; status != SendStatus::not_sent && o.report && i < o.report->recipients.size(); ++i) {
    const auto& r = o.report->recipients[i];
    if (r.outcome == smtp::DeliveryOutcome::delivered) {
      ++accepted;
      continue;
    }
    std::printf("  %s %s: %s\n", paint(std::string(to_string(r.outcome)), Colour::red).c_str(),
                rcpts[i].forward_path.str().c_str(), r.reply.str().c_str());
  }
  const double seconds = d.elapsed_ms() / 1000;
  if (status == SendStatus::not_sent) {
    std::string why = o.error;
    if (why.empty() && o.report && !o.report->recipients.empty()) why = o.report->recipients.front().reply.str();
    std::printf("%s %s\n", paint("Not sent:", Colour::red).c_str(), why.c_str());
    return;
  }
  if (status == SendStatus::rejected) {
    std::printf("%s no recipient was accepted (%.3f s)\n", paint("Rejected:", Colour::red).c_str(), seconds);
    return;
  }
  const Colour c = status == SendStatus::accepted ? Colour::green : Colour::yellow;
  std::printf("%s for %zu of %zu recipient%s%s (%.3f s)\n", paint("Accepted", c).c_str(), accepted, rcpts.size(),
              rcpts.size() == 1 ? "" : "s", queue_id.empty() ? "" : (", queued as " + queue_id).c_str(), seconds);
}

int run(const SendFlags& f) {
  std::optional<ServerSpec> server;
  if (!f.server.empty() && !(server = parse_server(f.server))) throw InputError("--server '" + f.server + "': expected HOST[:PORT]");
  Prepared p = prepare(f);
  const std::uint16_t default_port = f.port != 0 ? f.port : f.tls ? kSmtpsPort : kSmtpPort;
  Dialogue dialogue(!f.quiet && !f.json);
  delivery::DeliveryOptions options = delivery_options(f, dialogue);

  boost::asio::io_context io;
  std::unique_ptr<dns::UnboundResolver> resolver;  // destroyed before io
  Outcome outcome;
  if (server) {
    const auto endpoints = server_endpoints(*server, server->port != 0 ? server->port : default_port, outcome.error);
    if (endpoints.empty()) outcome.status = SendStatus::not_sent;
    else start(io, endpoints, std::move(options), p.message, outcome);
  } else {
    const std::string& domain = p.message.recipients.front().forward_path.domain;
    if (domain.starts_with("[")) throw InputError("--to " + domain + ": an address literal needs --server");
    try {
      resolver = make_resolver(io, f);
    } catch (const std::runtime_error& e) {
      throw InputError(std::string("--resolver: ") + e.what());
    }
    // DNS knows internationalized domains by their A-labels (RFC 5890).
    start_by_mx(io, *resolver, util::ascii_domain(domain), default_port, std::move(options), p.message, dialogue,
                outcome);
  }
  io.run();

  SendStatus status = outcome.status.value_or(SendStatus::not_sent);
  std::string queue_id;
  if (!outcome.status && outcome.report) {
    status = classify(outcome.report->recipients, dialogue.mail_sent());
    for (const auto& r : outcome.report->recipients) {
      if (r.outcome == smtp::DeliveryOutcome::delivered && queue_id.empty()) queue_id = queue_id_from(r.reply);
    }
  }
  if (f.json) {
    print_json(f, p, outcome, status, queue_id, dialogue);
  } else {
    print_summary(p, outcome, status, queue_id, dialogue);
  }
  return static_cast<int>(status);
}

void add_flags(CLI::App& send, SendFlags& f) {
  send.add_option("--server,-s", f.server, "Send to this server (default: the MX of the first recipient's domain)")
      ->type_name("HOST[:PORT]");
  send.add_option("--port,-p", f.port, "Port when --server gives none, and for MX hosts (default 25; 465 with --tls)")
      ->check(CLI::Range(1, 65535))
      ->type_name("PORT");
  send.add_option("--resolver", f.resolver, "DNS server for the MX lookup (default: /etc/resolv.conf)")
      ->type_name("ADDR:PORT");
  send.add_option("--from,-f", f.from, "Sender: envelope (MAIL FROM) and From: header")->required()
      ->type_name("[NAME <]ADDR[>]");
  send.add_option("--to,-t", f.to, "Recipient, envelope (RCPT TO) and To: header; repeatable")->required()
      ->type_name("[NAME <]ADDR[>]");
  send.add_option("--header,-H", f.headers, "Add a header, or replace Date, From, To, Subject or Message-ID; repeatable")
      ->type_name("\"NAME: VALUE\"");
  send.add_option("--subject", f.subject, "Subject: header (default \"Test message from petrel send\")");
  send.add_option("--body", f.body, "Body text, or @FILE to read it from FILE (@- for standard input)")
      ->type_name("TEXT|@FILE");
  send.add_option("--attach,-a", f.attach, "Attach FILE (base64, type guessed from its extension); repeatable")
      ->type_name("FILE");
  auto* starttls = send.add_flag("--starttls", f.starttls, "Require STARTTLS (default: use it when offered)");
  auto* tls = send.add_flag("--tls", f.tls, "Implicit TLS from the first byte, as on port 465 (RFC 8314)");
  auto* plain = send.add_flag("--no-starttls", f.no_starttls, "Never use STARTTLS: stay in the clear");
  tls->excludes(starttls)->excludes(plain);
  starttls->excludes(plain);
  send.add_flag("--tls-verify", f.tls_verify,
                "Verify the server's certificate (chain and name) against the system store; implies --starttls "
                "unless --tls")
      ->excludes(plain);
  send.add_flag("--requiretls", f.requiretls,
                "REQUIRETLS (RFC 8689): ask every server on the way to use verified TLS; implies --starttls "
                "unless --tls, and the server must offer REQUIRETLS")
      ->excludes(plain);
  send.add_option("--ca-file", f.ca_file,
                  "Verify the server's certificate against the CA(s) in FILE; implies --starttls unless --tls")
      ->type_name("FILE")
      ->excludes(plain);
  send.add_option("--auth", f.auth_user,
                  "Authenticate as USER (AUTH PLAIN or LOGIN, over TLS only); password from $PETREL_PASSWORD or asked")
      ->type_name("USER");
  send.add_option("--helo", f.helo, "Name to give in EHLO/HELO (default: this host's name)")->type_name("NAME");
  send.add_option("--timeout", f.timeout, "Seconds to wait for each step: connect, TLS, every reply (default 30)")
      ->check(CLI::Range(0.001, 86400.0))->type_name("SECONDS");
  send.add_flag("--json", f.json, "Print one JSON document with the outcome and the timed dialogue (docs/petrel-send.md)");
  send.add_flag("--quiet,-q", f.quiet, "Do not show the dialogue, only the outcome");
}

}  // namespace

void add_send_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<SendFlags>();
  CLI::App* send = app.add_subcommand(
      "send", "Send one message, showing the SMTP dialogue. Exit status: 0 accepted for all recipients, "
              "1 some refused, 2 rejected, 3 not sent (no connection, TLS or AUTH failure), 4 bad input");
  add_flags(*send, *flags);
  send->callback([flags, &exit_code] {
    try {
      exit_code = run(*flags);
    } catch (const InputError& e) {
      std::fprintf(stderr, "petrel send: %s\n", e.what());
      exit_code = kExitLocalError;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "petrel send: %s\n", e.what());
      exit_code = static_cast<int>(SendStatus::not_sent);
    }
  });
}

}  // namespace petrel::cli
