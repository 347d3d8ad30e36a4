#include "cli/campaign_smtp.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <deque>
#include <map>
#include <random>

#include "api/compose.hpp"
#include "api/inject_request.hpp"
#include "cli/campaign_extensions.hpp"
#include "cli/send_outcome.hpp"
#include "cli/terminal.hpp"
#include "smtp/address.hpp"
#include "template/template.hpp"

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::uint16_t kSmtpPort = 25;
constexpr std::uint16_t kSmtpsPort = 465;         // RFC 8314 §7.3
constexpr std::size_t kRecipientsPerMessage = 100;  // RFC 5321 §4.5.3.1.8: servers take at least 100
constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kPaceSlice = std::chrono::milliseconds(100);
// A message the server closed the connection on (421) before taking it
// goes again on another connection, this many times at most.
constexpr int kMaxResends = 3;

// The API's own checks of the request, with a stand-in recipient.
api::InjectRequest checked_request(const CampaignTemplate& t) {
  json body = t.request;
  body["recipients"] = json::array({"stand-in@example.invalid"});
  auto parsed = api::parse_inject_request(body.dump(-1, ' ', false, json::error_handler_t::replace), {});
  if (const auto* p = std::get_if<http::Problem>(&parsed)) {
    throw CampaignInputError(t.path + ": " + p->detail + (p->pointer.empty() ? "" : " (at " + p->pointer + ")"));
  }
  api::InjectRequest request = std::move(std::get<api::InjectRequest>(parsed));
  request.recipients.clear();
  return request;
}

api::Composer compiled(const api::InjectRequest& request, const CampaignTemplate& t) {
  auto made = api::Composer::make(request);
  if (const auto* p = std::get_if<http::Problem>(&made)) {
    std::string where = p->pointer;
    if (p->line > 0) where += " line " + std::to_string(p->line) + ", column " + std::to_string(p->column);
    if (t.raw && p->pointer == "/raw") where = "line " + std::to_string(p->line) + ", column " + std::to_string(p->column);
    throw CampaignInputError(t.path + " " + where + ": " + p->detail);
  }
  return std::move(std::get<api::Composer>(made));
}

// A raw message without a single tag is the same for everyone.
bool same_for_all(const api::InjectRequest& request) {
  if (!request.raw) return false;
  tmpl::Error error;
  const auto t = tmpl::Template::compile(*request.raw, tmpl::Escape::none, error);
  return t && !t->has_tags();
}

smtp::Address address_of(const std::string& email) {
  return *smtp::parse_path("<" + email + ">", false, true).path.mailbox;  // checked when the row was read
}

bool eight_bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// RFC 5321 §3.8: the server said 421 and closed before it took the
// message, so nothing of it was delivered and another connection may
// send it. A 421 made here (the connection was lost) proves nothing.
bool closed_before_taking(const delivery::DeliveryReport& report) {
  return !report.recipients.empty() &&
         std::all_of(report.recipients.begin(), report.recipients.end(), [](const smtp::RecipientResult& r) {
           return r.outcome == smtp::DeliveryOutcome::deferred && r.reply.code == 421 && !r.reply.local;
         });
}

RecipientResult result_for(const RecipientRow& row, const smtp::RecipientResult& r) {
  RecipientResult out{row.index, row.email, RecipientStatus::deferred, "", printable(r.reply.str())};
  if (r.outcome == smtp::DeliveryOutcome::delivered) {
    out.status = RecipientStatus::accepted;
    out.queue_id = queue_id_from(r.reply);
    out.reason.clear();
  } else if (r.outcome == smtp::DeliveryOutcome::failed) {
    out.status = RecipientStatus::rejected;
  }
  return out;
}

class SmtpCampaign {
 public:
  SmtpCampaign(CampaignRun& run, const SmtpSetup& setup)
      : run_(run),
        setup_(setup),
        list_(run.list.path),
        request_(checked_request(run.message)),
        composer_(compiled(request_, run.message)),
        grouped_(same_for_all(request_)),
        pacer_(run.rate),
        progress_(run.list.rows, run.state->earlier(), run.progress),
        signals_(io_, SIGINT, SIGTERM),
        ticker_(io_),
        random_(std::random_device{}()) {}

  CampaignOutcome run();

 private:
  struct Connection {
    std::size_t number = 0;
    std::size_t taken = 0;     // messages handed to it
    std::size_t answered = 0;  // messages the server answered for
    bool reserved = false;     // `slot` is its turn under --rate
    Clock::time_point slot;
    std::map<std::size_t, std::vector<RecipientRow>> in_flight;  // by deliver()'s message index
    ExtensionWatch watch;
    std::string last_note;  // the connection's last note: why it failed, if it did
  };

  void start_connection();
  void connect(Connection& c, smtp::OutgoingMessage first);
  void finish_if_idle();
  std::chrono::milliseconds pace(Connection& c);
  std::optional<smtp::OutgoingMessage> more(Connection& c);
  void reported(Connection& c, std::size_t index, const delivery::DeliveryReport& report);
  void finished(std::size_t number, const std::vector<delivery::DeliveryReport>& reports);
  std::vector<RecipientRow> take_rows();
  smtp::OutgoingMessage build(const std::vector<RecipientRow>& rows);
  void record(const std::vector<RecipientResult>& results);
  bool resend(std::vector<RecipientRow>& rows, std::vector<RecipientResult> results);
  bool more_to_send() const { return !list_ended_ || !resends_.empty(); }
  void on_signal(const boost::system::error_code& ec, int signal);
  asio::awaitable<void> tick();
  bool going() const { return stops_ == 0 && error_.empty(); }
  std::string message_token();

  asio::io_context io_;
  CampaignRun& run_;
  const SmtpSetup& setup_;
  ListReader list_;
  bool list_ended_ = false;
  api::InjectRequest request_;
  api::Composer composer_;
  bool grouped_;
  RatePacer pacer_;
  Progress progress_;
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  std::mt19937_64 random_;
  std::map<std::size_t, std::unique_ptr<Connection>> connections_;
  std::size_t started_ = 0;
  ExtensionWatch extensions_;
  int stops_ = 0;
  int signal_ = 0;
  std::string error_;
  std::vector<RecipientResult> deferred_;
  // Messages to send again after a 421 (closed_before_taking), with what
  // they are recorded as if they never are; and how often each row went.
  struct Resend {
    std::vector<RecipientRow> rows;
    std::vector<RecipientResult> results;
  };
  std::deque<Resend> resends_;
  std::map<std::size_t, int> sent_again_;  // by row index
};

CampaignOutcome SmtpCampaign::run() {
  const auto started = Clock::now();
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) { on_signal(ec, signal); });
  const std::uint64_t left = run_.list.rows - std::min(run_.list.rows, run_.state->earlier().finished());
  const std::size_t connections = std::max<std::size_t>(1, std::min<std::uint64_t>(run_.flags.concurrency, left));
  for (std::size_t i = 0; i < connections; ++i) start_connection();
  finish_if_idle();  // nothing to send: a resumed run that had finished
  asio::co_spawn(io_, tick(), asio::detached);
  io_.run();
  for (auto& r : resends_) record(r.results);  // the run stopped before they went again: deferred
  resends_.clear();
  progress_.finish(Clock::now());
  if (std::string error = run_.state->sync(); !error.empty() && error_.empty()) error_ = error;
  for (const auto& c : connections_) extensions_.merge(c.second->watch);  // abandoned by a second Ctrl-C
  CampaignOutcome outcome;
  outcome.signal = signal_;
  outcome.error = error_;
  outcome.run = progress_.this_run();
  outcome.all = progress_.all();
  outcome.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  outcome.unrecorded = std::move(deferred_);
  outcome.extensions = extensions_.to_json();
  outcome.max_recipients = extensions_.max_recipients();
  return outcome;
}

// A connection starts with its first message (deliver() tries no server
// for no message), at that message's turn under --rate.
void SmtpCampaign::start_connection() {
  if (!going()) return;
  std::vector<RecipientRow> rows = take_rows();
  if (rows.empty()) return;
  auto c = std::make_unique<Connection>();
  Connection* p = c.get();
  p->number = ++started_;
  connections_.emplace(p->number, std::move(c));
  smtp::OutgoingMessage first = build(rows);
  p->in_flight.emplace(p->taken++, std::move(rows));
  const auto now = Clock::now();
  const auto turn = pacer_.reserve(grouped_ ? kRecipientsPerMessage : 1, now);
  if (turn <= now) return connect(*p, std::move(first));
  auto timer = std::make_shared<asio::steady_timer>(io_, turn);
  timer->async_wait([this, p, timer, first = std::move(first)](const boost::system::error_code&) mutable {
    if (going()) return connect(*p, std::move(first));
    connections_.erase(p->number);  // its rows were not sent: not done
    finish_if_idle();
  });
}

void SmtpCampaign::connect(Connection& c, smtp::OutgoingMessage first) {
  Connection* p = &c;
  delivery::DeliveryOptions o = setup_.options;
  o.more = [this, p] { return more(*p); };
  o.pace = [this, p] { return pace(*p); };
  o.reported = [this, p](std::size_t index, const delivery::DeliveryReport& r) { reported(*p, index, r); };
  o.watch = [p](char direction, std::string_view line, const smtp::ServerReply* reply) {
    p->watch.see(direction, line, reply);
    if (direction == '*') p->last_note = printable(std::string(line));
  };
  const std::size_t number = p->number;
  std::vector<smtp::OutgoingMessage> messages;
  messages.push_back(std::move(first));
  delivery::deliver(io_, setup_.endpoints, std::move(o), std::move(messages),
                    [this, number](std::vector<delivery::DeliveryReport> reports) { finished(number, reports); });
}

void SmtpCampaign::finish_if_idle() {
  if (!connections_.empty()) return;
  signals_.cancel();
  ticker_.cancel();
}

// Called by the connection until it says zero: its turn under --rate, in
// short steps so that Ctrl-C is seen.
std::chrono::milliseconds SmtpCampaign::pace(Connection& c) {
  if (!going()) return std::chrono::milliseconds(0);
  const auto now = Clock::now();
  if (!c.reserved) {
    c.slot = pacer_.reserve(grouped_ ? kRecipientsPerMessage : 1, now);
    c.reserved = true;
  }
  if (c.slot <= now) return std::chrono::milliseconds(0);
  return std::min(kPaceSlice, std::chrono::ceil<std::chrono::milliseconds>(c.slot - now));
}

std::optional<smtp::OutgoingMessage> SmtpCampaign::more(Connection& c) {
  if (!going() || c.taken >= run_.flags.per_connection) return std::nullopt;
  std::vector<RecipientRow> rows = take_rows();
  if (rows.empty()) return std::nullopt;
  c.reserved = false;
  smtp::OutgoingMessage message = build(rows);
  c.in_flight.emplace(c.taken++, std::move(rows));
  return message;
}

// The next message's rows: one, or up to 100 when all get the same
// message. Rows done in an earlier run are passed over; invalid ones are
// recorded as they come.
std::vector<RecipientRow> SmtpCampaign::take_rows() {
  if (!resends_.empty()) {
    std::vector<RecipientRow> again = std::move(resends_.front().rows);
    resends_.pop_front();
    return again;
  }
  std::vector<RecipientRow> rows;
  const std::size_t wanted = grouped_ ? kRecipientsPerMessage : 1;
  while (rows.size() < wanted && !list_ended_) {
    std::optional<RecipientRow> row = list_.next();
    if (!row) {
      list_ended_ = true;
      break;
    }
    if (run_.state->done(row->index)) continue;
    if (!row->invalid.empty()) {
      record({{row->index, row->email, RecipientStatus::invalid, "", row->invalid}});
      continue;
    }
    rows.push_back(std::move(*row));
  }
  return rows;
}

std::string SmtpCampaign::message_token() {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
  std::string token;
  for (std::uint64_t r = random_(); token.size() < 12; r >>= 5) token += kDigits[r & 31];
  return token;
}

smtp::OutgoingMessage SmtpCampaign::build(const std::vector<RecipientRow>& rows) {
  smtp::OutgoingMessage m;
  m.reverse_path.mailbox = request_.envelope_sender;
  for (const auto& row : rows) m.recipients.push_back({address_of(row.email), smtp::notify_unspecified, ""});
  api::RecipientSpec spec{rows.front().email, rows.front().name, json::object()};
  for (const auto& var : rows.front().vars) spec.vars[var.first] = var.second;
  m.content = composer_.compose(spec, {}, std::time(nullptr), random_(), request_.envelope_sender.domain, message_token());
  if (eight_bit(m.content)) m.params.body = smtp::BodyType::eight_bit_mime;
  m.params.smtputf8 = std::any_of(rows.begin(), rows.end(), [](const RecipientRow& r) { return eight_bit(r.email); }) ||
                      eight_bit(request_.envelope_sender.str());
  return m;
}

void SmtpCampaign::reported(Connection& c, std::size_t index, const delivery::DeliveryReport& report) {
  const auto it = c.in_flight.find(index);
  if (it == c.in_flight.end()) return;
  std::vector<RecipientResult> results;
  for (std::size_t i = 0; i < it->second.size() && i < report.recipients.size(); ++i) {
    results.push_back(result_for(it->second[i], report.recipients[i]));
  }
  // Not an answer for the message: a connection that only gets 421s is
  // useless, and the run stops (finished()).
  if (closed_before_taking(report) && resend(it->second, results)) {
    c.in_flight.erase(it);
    return;
  }
  ++c.answered;
  c.in_flight.erase(it);
  record(results);
}

bool SmtpCampaign::resend(std::vector<RecipientRow>& rows, std::vector<RecipientResult> results) {
  if (!going()) return false;
  for (const auto& row : rows) {
    if (sent_again_[row.index] >= kMaxResends) return false;
  }
  for (const auto& row : rows) ++sent_again_[row.index];
  resends_.push_back({std::move(rows), std::move(results)});
  return true;
}

// The connection has ended: messages it never got an answer for are
// deferred; another connection takes its place while there is work.
void SmtpCampaign::finished(std::size_t number, const std::vector<delivery::DeliveryReport>& reports) {
  const auto found = connections_.find(number);
  Connection& c = *found->second;
  const bool useless = c.answered == 0;
  std::vector<std::size_t> unanswered;
  for (const auto& entry : c.in_flight) unanswered.push_back(entry.first);
  for (const std::size_t index : unanswered) {
    if (index < reports.size()) reported(c, index, reports[index]);
  }
  if (useless && going() && more_to_send()) {
    error_ = "no message got through to " + run_.flags.server + (c.last_note.empty() ? "" : ": " + c.last_note);
  }
  extensions_.merge(c.watch);
  connections_.erase(found);
  if (going() && more_to_send()) start_connection();
  finish_if_idle();
}

void SmtpCampaign::record(const std::vector<RecipientResult>& results) {
  for (const auto& r : results) {
    progress_.add(r.status);
    if (r.status == RecipientStatus::deferred) deferred_.push_back(r);
  }
  if (results.empty()) return;
  const std::uint64_t batch = results.front().row / run_.flags.batch;
  // Written at once (a kill -9 loses nothing written); synced each tick.
  if (std::string error = run_.state->record(batch, results, false); !error.empty() && error_.empty()) error_ = error;
}

void SmtpCampaign::on_signal(const boost::system::error_code& ec, int signal) {
  if (ec) return;
  signal_ = signal;
  if (++stops_ == 1) {
    progress_.note("interrupted: finishing the messages in flight (Ctrl-C again to abandon them)");
    signals_.async_wait([this](const boost::system::error_code& e, int s) { on_signal(e, s); });
    return;
  }
  progress_.note("interrupted again: abandoning the connections (their messages in flight may have been delivered)");
  io_.stop();
}

asio::awaitable<void> SmtpCampaign::tick() {
  while (!connections_.empty()) {
    ticker_.expires_after(kTick);
    boost::system::error_code ec;
    co_await ticker_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    progress_.tick(Clock::now());
    if (std::string error = run_.state->sync(); !error.empty() && error_.empty()) error_ = error;
  }
}

}  // namespace

std::vector<delivery::Endpoint> server_endpoints(const std::string& server, bool implicit_tls) {
  const std::optional<ServerSpec> spec = parse_server(server);
  if (!spec) throw CampaignInputError("--server '" + server + "': expected HOST[:PORT]");
  const std::uint16_t port = spec->port != 0 ? spec->port : implicit_tls ? kSmtpsPort : kSmtpPort;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(spec->host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw CampaignInputError("cannot resolve " + spec->host + ": " + gai_strerror(rc));
  }
  std::vector<delivery::Endpoint> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* where = a->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr);
    if (inet_ntop(a->ai_family, where, text, sizeof text) == nullptr) continue;
    const std::string address = text;
    const bool seen = std::any_of(out.begin(), out.end(), [&address](const auto& e) { return e.address == address; });
    if (!seen) out.push_back({spec->host, address, port, ""});
  }
  freeaddrinfo(found);
  return out;
}

CampaignOutcome run_smtp_campaign(CampaignRun& run, const SmtpSetup& setup) {
  SmtpCampaign campaign(run, setup);
  return campaign.run();
}

}  // namespace petrel::cli

#pragma GCC diagnostic pop
