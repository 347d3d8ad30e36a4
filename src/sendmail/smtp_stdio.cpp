#include "sendmail/smtp_stdio.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <cerrno>

#include "config/config.hpp"
#include "smtp/envelope_policy.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::sendmail {
namespace {

// A local user may send to anyone (as with -bm); the sender is held to
// [spool] maildrop_senders.
class LocalPolicy : public smtp::EnvelopePolicy {
 public:
  LocalPolicy(const Settings& s, const Identity& who) : settings_(s), who_(who) {}
  std::optional<smtp::Reply> check_sender(const smtp::Path& sender, const smtp::ClientIdentity&) override {
    if (pickup::sender_allowed(settings_.senders, sender, who_.login, who_.privileged, settings_.sender_domains)) {
      return std::nullopt;
    }
    return smtp::Reply(smtp::codes::k553SenderNotOwned, "Sender address not owned by user " + who_.login);
  }
  std::optional<smtp::Reply> check_recipient(const smtp::Address&, const smtp::ClientIdentity&) const override {
    return std::nullopt;
  }

 private:
  const Settings& settings_;
  const Identity& who_;
};

bool write_out(std::string& output) {
  for (std::size_t done = 0; done < output.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, output.data() + done, output.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  output.clear();
  return true;
}

}  // namespace

int serve_smtp_stdio(const config::Config& config, const Settings& s, const Identity& who) {
  smtp::SessionOptions options = config.session;
  options.hostname = s.hostname;
  options.starttls = false;
  options.submission = false;
  options.bare_line_endings = smtp::BareLineEndingPolicy::normalize;  // a pipe, often LF-only
  options.limits.body_in_memory = 0;  // no spilling: the maildrop file is written from the whole message
  LocalPolicy policy(s, who);
  smtp::ServerSession session(options, policy, "127.0.0.1");
  session.set_trusted_network(true);
  session.greet();
  std::string pending;
  char buf[65536];
  for (;;) {
    if (!write_out(session.output())) return EX_IOERR;
    switch (session.need()) {
      case smtp::ServerSession::Need::close:
      case smtp::ServerSession::Need::start_tls:     // not offered
      case smtp::ServerSession::Need::authenticate:  // not offered
        return EX_OK;
      case smtp::ServerSession::Need::spill:     // off (body_in_memory = 0)
      case smtp::ServerSession::Need::atrn:      // ODMR listeners only
      case smtp::ServerSession::Need::reversed:
        return EX_SOFTWARE;
      case smtp::ServerSession::Need::store_message: {
        smtp::ReceivedMessage m = session.take_message();
        std::vector<smtp::Address> recipients;
        for (auto& r : m.envelope.recipients) recipients.push_back(std::move(r.forward_path));
        const Outcome out = submit(m.envelope.reverse_path, std::move(recipients), m.content, who.gecos_name, s, who);
        if (out.exit_code == EX_OK) {
          session.message_stored(out.message);
        } else {
          session.message_failed(smtp::Reply(smtp::codes::k451LocalError, out.message));
        }
        continue;
      }
      case smtp::ServerSession::Need::input: break;
    }
    if (!pending.empty()) {
      pending.erase(0, session.feed(pending));
      continue;
    }
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      session.connection_lost("client closed");
      write_out(session.output());
      return EX_OK;
    }
    pending.assign(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace petrel::sendmail
