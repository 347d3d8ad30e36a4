#include "cli/probe_findings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <utility>

namespace petrel::cli {
namespace {

constexpr std::int64_t kExpirySoon = 14 * 86'400;  // a certificate this close to expiry is a warning
constexpr int kServiceNotAvailable = 421;          // RFC 5321 §4.2.3
constexpr int kTransactionFailed = 554;            // RFC 5321 §3.1: no SMTP service here
constexpr int kGreeting = 220;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::string without_trailing_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// The extensions of RFC-track and widely deployed ones, in plain words.
std::string explain_keyword(const std::string& keyword, std::string_view params) {
  static const std::array<std::pair<std::string_view, std::string_view>, 20> kFixed{{
      {"PIPELINING", "can take several commands at once (RFC 2920)"},
      {"8BITMIME", "accepts 8-bit message bodies (RFC 6152)"},
      {"SMTPUTF8", "accepts UTF-8 in addresses and headers (RFC 6531)"},
      {"CHUNKING", "accepts the message in chunks with BDAT (RFC 3030)"},
      {"BINARYMIME", "accepts binary message bodies, sent with BDAT (RFC 3030)"},
      {"DSN", "sends delivery status notifications on request (RFC 3461)"},
      {"ENHANCEDSTATUSCODES", "gives detailed status codes such as 5.1.1 (RFC 2034)"},
      {"STARTTLS", "can switch this connection to TLS encryption (RFC 3207)"},
      {"ETRN", "sends the mail queued for a domain when a client asks (RFC 1985)"},
      {"ATRN", "hands queued mail to an authenticated client over this connection (RFC 2645)"},
      {"REQUIRETLS", "can promise to relay a message only over TLS (RFC 8689)"},
      {"VRFY", "answers VRFY: whether an address exists (RFC 5321)"},
      {"EXPN", "answers EXPN: who is on a mailing list (RFC 5321)"},
      {"HELP", "answers HELP (RFC 5321)"},
      {"DELIVERBY", "delivers within a time limit on request (RFC 2852)"},
      {"MT-PRIORITY", "honours message priorities (RFC 6710)"},
      {"FUTURERELEASE", "holds messages for release at a later time (RFC 4865)"},
      {"NO-SOLICITING", "asks not to be sent solicitations (RFC 3865)"},
      {"XCLIENT", "lets trusted clients pass on the original client's details (Postfix)"},
      {"XFORWARD", "lets trusted clients pass on the original client's details (Postfix)"},
  }};
  for (const auto& [name, text] : kFixed) {
    if (keyword == name) return std::string(text);
  }
  if (keyword == "SIZE") {
    std::uint64_t limit = 0;
    const auto [end, ec] = std::from_chars(params.data(), params.data() + params.size(), limit);
    if (ec != std::errc() || limit == 0) {
      return "accepts messages of any size (it announces no fixed limit) (RFC 1870)";
    }
    return "accepts messages up to " + human_size(limit) + " (RFC 1870)";
  }
  if (keyword == "AUTH" || keyword.rfind("AUTH=", 0) == 0) {
    std::string mechanisms = keyword == "AUTH" ? std::string(params) : keyword.substr(5);
    if (mechanisms.empty()) return "lets users log in (RFC 4954)";
    std::string listed;
    for (const char c : mechanisms) listed += c == ' ' ? std::string(", ") : std::string(1, c);
    return "lets users log in, with " + listed + " (RFC 4954)";
  }
  if (keyword == "LIMITS") return "announces its limits: " + std::string(params) + " (RFC 9422)";
  return {};
}

Finding make(std::string id, Grade grade, const HostObservation* host, std::string title, std::string detail = {}) {
  return Finding{std::move(id), grade, host != nullptr ? host_label(*host) : std::string(), std::move(title),
                 std::move(detail)};
}

// How a connection that was up ended, in words: a RST is not a FIN is not silence.
std::string lost_words(NetError error) {
  switch (error) {
    case NetError::reset: return "the server reset the connection";
    case NetError::closed: return "the server closed the connection";
    case NetError::timeout: return "the server stopped answering";
    default: return "the connection failed (" + std::string(to_string(error)) + ")";
  }
}

bool positive(const Exchange& e) { return e.reply && e.reply->positive(); }

std::string quoted(const Exchange& e) { return e.reply ? e.reply->str() : std::string("no reply"); }

void grade_ehlo(const HostObservation& h, std::vector<Finding>& out) {
  if (positive(h.ehlo)) {
    out.push_back(make("ehlo", Grade::pass, &h, "EHLO accepted: the server speaks ESMTP",
                       std::to_string(h.capabilities.keywords.size()) + " extensions offered"));
  } else if (positive(h.helo)) {
    out.push_back(make("ehlo", Grade::warn, &h, "EHLO refused, HELO accepted: no SMTP extensions (old SMTP only)",
                       "EHLO got: " + quoted(h.ehlo)));
  } else if (h.ehlo.sent() && !h.ehlo.reply) {
    out.push_back(make("ehlo", Grade::fail, &h, "No answer to EHLO: " + lost_words(h.lost_error), h.lost));
  } else if (h.ehlo.sent()) {
    out.push_back(make("ehlo", Grade::fail, &h, "Neither EHLO nor HELO was accepted", "EHLO got: " + quoted(h.ehlo)));
  }
}

void grade_reverse_dns(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.ptr_looked_up || !h.greeting_reply) return;
  const std::string greeted = lower(without_trailing_dot(first_word(*h.greeting_reply)));
  const std::string ehlo_name = lower(without_trailing_dot(h.capabilities.server_name));
  if (h.ptr_names.empty()) {
    out.push_back(make("reverse_dns", Grade::warn, &h, "No reverse DNS (PTR) name for " + h.address,
                       "Receivers often distrust mail from an address without a PTR record"));
    return;
  }
  std::string names;
  bool matches = false;
  for (const auto& ptr : h.ptr_names) {
    const std::string p = lower(without_trailing_dot(ptr));
    names += (names.empty() ? "" : ", ") + p;
    matches = matches || p == greeted || (!ehlo_name.empty() && p == ehlo_name);
  }
  if (matches) {
    out.push_back(make("reverse_dns", Grade::pass, &h, "Greeting name matches the reverse DNS of " + h.address,
                       "PTR " + names));
  } else {
    out.push_back(make("reverse_dns", Grade::warn, &h, "Greeting name does not match the reverse DNS of " + h.address,
                       "greeting \"" + greeted + "\", EHLO \"" + ehlo_name + "\", PTR " + names));
  }
}

// Different answers for a real and a made-up name tell an outsider which
// mailboxes exist (RFC 5321 §7.3 lets a server answer 252 to both).
void grade_enumeration(const HostObservation& h, const Exchange& known, const Exchange& random, const std::string& verb,
                       std::vector<Finding>& out) {
  if (!known.reply || !random.reply) return;
  const std::string id = lower(verb) + "_enumeration";
  if (known.reply->code != random.reply->code) {
    out.push_back(make(id, Grade::warn, &h, verb + " tells existing users from unknown ones (user enumeration)",
                       verb + " postmaster: " + known.reply->str() + "; " + verb + " " + h.random_name + ": " +
                           random.reply->str()));
  } else {
    out.push_back(make(id, Grade::pass, &h, verb + " does not reveal which users exist",
                       "both answered " + std::to_string(known.reply->code)));
  }
}

void grade_turn(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.turn.reply) return;
  // RFC 2645 §1: TURN without authentication lets anyone collect others' mail.
  if (positive(h.turn)) {
    out.push_back(make("turn", Grade::fail, &h, "TURN accepted in the clear: anyone can take this server's queued mail",
                       quoted(h.turn)));
  } else {
    out.push_back(make("turn", Grade::pass, &h, "TURN refused", quoted(h.turn)));
  }
}

// ODMR (RFC 2645), with --odmr: information, not a grade.
void grade_odmr(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.odmr.tried) return;
  if (!h.odmr.greeted) {
    out.push_back(make("odmr", Grade::info, &h, "No ODMR service on port 366", h.odmr.error));
    return;
  }
  if (!h.odmr.atrn) {
    out.push_back(make("odmr", Grade::info, &h, "Port 366 answers but does not offer ATRN (RFC 2645)"));
    return;
  }
  std::string detail = h.odmr.auth.empty() ? "no AUTH offered in the clear" : "AUTH in the clear:";
  for (const auto& m : h.odmr.auth) detail += " " + m;
  if (h.odmr.starttls) detail += "; STARTTLS offered";
  out.push_back(make("odmr", Grade::info, &h, "ODMR on port 366 offers ATRN (RFC 2645 on-demand mail relay)", detail));
}

void grade_pipelining(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.pipelining.tested) return;
  const auto& replies = h.pipelining.replies;
  const bool ok = replies.size() == 2 && replies[0].positive() && replies[1].positive();
  if (ok) {
    out.push_back(make("pipelining", Grade::pass, &h, "PIPELINING works: two commands in one write, two replies"));
  } else {
    out.push_back(make("pipelining", Grade::fail, &h, "PIPELINING is offered but RSET and NOOP sent together did not get two positive replies",
                       std::to_string(replies.size()) + " replies received"));
  }
}

void grade_size(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.capabilities.size || *h.capabilities.size == 0 || !h.size_mail.reply) return;
  const std::string tried = "MAIL FROM with SIZE=" + std::to_string(h.size_tried) + " (limit " +
                            std::to_string(*h.capabilities.size) + ")";
  if (h.size_mail.reply->positive()) {
    out.push_back(make("size", Grade::fail, &h, "A message over the advertised SIZE limit was not refused (RFC 1870)",
                       tried + ": " + quoted(h.size_mail)));
  } else {
    out.push_back(make("size", Grade::pass, &h, "A message over the advertised SIZE limit is refused up front",
                       tried + ": " + quoted(h.size_mail)));
  }
}

void grade_relay(const HostObservation& h, std::vector<Finding>& out) {
  if (!h.relay_mail.reply) return;
  if (!positive(h.relay_mail)) {
    out.push_back(make("open_relay", Grade::info, &h, "Open relay not tested: MAIL FROM an outside address was refused",
                       quoted(h.relay_mail)));
  } else if (positive(h.relay_rcpt)) {
    out.push_back(make("open_relay", Grade::fail, &h, "Open relay: it accepted a recipient at another domain from an unauthenticated client",
                       h.relay_rcpt.command + ": " + quoted(h.relay_rcpt)));
  } else if (h.relay_rcpt.reply) {
    out.push_back(make("open_relay", Grade::pass, &h, "Not an open relay: mail for other domains is refused",
                       h.relay_rcpt.command + ": " + quoted(h.relay_rcpt)));
  }
}

void grade_auth(const HostObservation& h, std::vector<Finding>& out) {
  const auto& caps = h.capabilities;
  if (caps.auth.empty() || h.implicit_tls) return;
  const bool plain_text = std::any_of(caps.auth.begin(), caps.auth.end(),
                                      [](const std::string& m) { return m == "PLAIN" || m == "LOGIN"; });
  if (plain_text) {
    out.push_back(make("auth_cleartext", Grade::warn, &h, "AUTH with PLAIN or LOGIN is offered before TLS: passwords could cross the network readable"));
  }
}

void grade_certificate(const HostObservation& h, const TlsDetails& tls, std::int64_t now, std::vector<Finding>& out) {
  if (tls.version == "TLSv1" || tls.version == "TLSv1.1" || tls.version == "SSLv3") {
    out.push_back(make("tls_version", Grade::warn, &h, tls.version + " is obsolete (RFC 8996): offer TLS 1.2 or 1.3"));
  } else {
    out.push_back(make("tls_version", Grade::pass, &h, tls.version + " is a current TLS version"));
  }
  if (tls.chain_verified) {
    out.push_back(make("certificate_chain", Grade::pass, &h, "Certificate chain verifies", "issuer " + tls.issuer));
  } else {
    out.push_back(make("certificate_chain", Grade::warn, &h, "Certificate chain does not verify: " + tls.verify_error,
                       "issuer " + tls.issuer));
  }
  std::string names;
  for (const auto& n : tls.names) names += (names.empty() ? "" : ", ") + n;
  if (tls.name_matches) {
    out.push_back(make("certificate_name", Grade::pass, &h, "Certificate is valid for " + h.host, "names " + names));
  } else {
    out.push_back(make("certificate_name", Grade::warn, &h, "Certificate is not valid for " + h.host,
                       "subject " + tls.subject + "; names " + names));
  }
  const std::int64_t days = (tls.not_after - now) / 86'400;
  if (tls.not_after < now) {
    out.push_back(make("certificate_expiry", Grade::fail, &h, "Certificate expired " + std::to_string(-days) + " days ago"));
  } else if (tls.not_before > now) {
    out.push_back(make("certificate_expiry", Grade::fail, &h, "Certificate is not valid yet"));
  } else if (tls.not_after - now < kExpirySoon) {
    out.push_back(make("certificate_expiry", Grade::warn, &h, "Certificate expires in " + std::to_string(days) + " days"));
  } else {
    out.push_back(make("certificate_expiry", Grade::pass, &h, "Certificate valid for " + std::to_string(days) + " more days"));
  }
}

void grade_tls(const HostObservation& h, std::int64_t now, std::vector<Finding>& out) {
  if (h.implicit_tls) {
    if (h.implicit_tls_details) {
      out.push_back(make("starttls", Grade::pass, &h, "Implicit TLS (RFC 8314): " + h.implicit_tls_details->describe()));
      grade_certificate(h, *h.implicit_tls_details, now, out);
    }
    return;
  }
  if (!h.capabilities.starttls) {
    if (h.capabilities.esmtp) {
      out.push_back(make("starttls", Grade::warn, &h, "STARTTLS is not offered: mail to this server travels unencrypted"));
    }
    return;
  }
  if (!h.starttls) return;
  const StartTlsObservation& s = *h.starttls;
  if (!s.tls) {
    const std::string why = s.command.reply && s.command.reply->code != kGreeting ? quoted(s.command) : s.error;
    out.push_back(make("starttls", Grade::fail, &h, "STARTTLS is offered but does not work", why));
    return;
  }
  out.push_back(make("starttls", Grade::pass, &h, "STARTTLS works: " + s.tls->describe()));
  grade_certificate(h, *s.tls, now, out);
}

// DANE (RFC 7672): the outcome of the TLSA lookup, and of the check of
// the certificate against the records: match, mismatch, no TLSA, insecure.
void grade_dane(const HostObservation& h, std::vector<Finding>& out) {
  const DaneObservation& d = h.dane;
  if (!d.looked_up) return;
  const std::string owner = "_" + std::to_string(h.port) + "._tcp." + h.host;
  const bool bogus = d.tlsa.dnssec == dns::Dnssec::bogus;
  if (d.applies && (bogus || d.tlsa.outcome == dns::Outcome::temporary_failure)) {
    out.push_back(make("dane", Grade::fail, &h, std::string("DANE: the TLSA lookup ") + (bogus ? "is bogus" : "failed") +
                                                    ": DANE senders defer mail to this host",
                       owner + ": " + d.tlsa.error));
  } else if (!d.applies || d.tlsa.dnssec != dns::Dnssec::secure) {
    out.push_back(make("dane", Grade::info, &h, "DANE: insecure (the DNS answers are not DNSSEC-signed): DANE does not apply",
                       owner));
  } else if (!d.tlsa.ok()) {
    out.push_back(make("dane", Grade::info, &h, "DANE: no TLSA records: DANE does not apply", owner + " (DNSSEC secure)"));
  } else if (d.usable.empty()) {
    out.push_back(make("dane", Grade::warn, &h,
                       "DANE: only unusable TLSA records (PKIX-TA/PKIX-EE or malformed): TLS is required, not authenticated",
                       "RFC 7672 §2.2, §3.1.3: publish DANE-EE(3) or DANE-TA(2) records"));
  } else if (!d.checked) {
    out.push_back(make("dane", Grade::fail, &h, "DANE: the certificate could not be checked against the TLSA records",
                       d.error));
  } else if (d.matched) {
    out.push_back(make("dane", Grade::pass, &h, "DANE: the certificate matches its TLSA records (" + d.match + ")", owner));
  } else {
    out.push_back(make("dane", Grade::fail, &h,
                       "DANE: mismatch: the certificate matches none of its TLSA records; DANE senders defer mail",
                       owner + ": " + std::to_string(d.usable.size()) + " usable record(s)"));
  }
}

void grade_connection(const HostObservation& h, bool others_answered, std::vector<Finding>& out) {
  if (!h.connect.ok()) {
    out.push_back(make("connect", others_answered ? Grade::warn : Grade::fail, &h,
                       "Cannot connect: " + std::string(to_string(h.connect.error)) + " (" + h.connect.detail + ")",
                       connect_advice(h.connect.error, h.port)));
    return;
  }
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f ms", h.connect.ms);
  out.push_back(make("connect", Grade::pass, &h, std::string("Connected in ") + ms));
  if (usable(h)) {
    std::snprintf(ms, sizeof ms, "%.1f ms", h.greeting.ms);
    out.push_back(make("greeting", Grade::pass, &h, std::string("Greeting after ") + ms, h.greeting_reply->str()));
  } else {
    out.push_back(make("greeting", others_answered && !answered(h) ? Grade::warn : Grade::fail, &h,
                       greeting_advice(h), h.greeting_reply ? h.greeting_reply->str() : h.greeting.detail));
  }
}

}  // namespace

std::string_view to_string(Grade grade) {
  switch (grade) {
    case Grade::pass: return "pass";
    case Grade::info: return "info";
    case Grade::warn: return "warn";
    case Grade::fail: return "fail";
  }
  return "info";
}

std::string human_size(std::uint64_t octets) {
  constexpr std::array<const char*, 4> kUnits{"KiB", "MiB", "GiB", "TiB"};
  if (octets < 1024) return std::to_string(octets) + " octets";
  double value = static_cast<double>(octets) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (value == static_cast<double>(static_cast<std::uint64_t>(value))) {
    std::snprintf(text, sizeof text, "%.0f %s", value, kUnits[unit]);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

std::string explain_extension(std::string_view line) {
  const std::size_t space = line.find(' ');
  const std::string keyword = upper(line.substr(0, space));
  const std::string_view params = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  return explain_keyword(keyword, params);
}

std::string connect_advice(NetError error, std::uint16_t port) {
  switch (error) {
    case NetError::refused:
      return "Nothing listens on port " + std::to_string(port) +
             " there (connection refused): the server is down or does not take mail on this port.";
    case NetError::timeout: {
      std::string advice = "No answer at all: a firewall on the path drops the packets (filtered).";
      if (port == 25) {
        advice += " Many ISPs block outgoing port 25; try --port 587, or probe from another network.";
      } else if (port != 587) {
        advice += " Try --port 587 (submission), or probe from another network.";
      } else {
        advice += " Try probing from another network.";
      }
      return advice;
    }
    case NetError::reset: return "The connection was reset: a firewall or the server cut it off.";
    case NetError::unreachable: return "No route to that address from here (host or network unreachable).";
    case NetError::tls: return "The TLS handshake failed: is this port really implicit TLS (465)?";
    default: return "The connection failed.";
  }
}

std::string greeting_advice(const HostObservation& h) {
  if (h.greeting_reply) {
    const int code = h.greeting_reply->code;
    if (code == kServiceNotAvailable || code == kTransactionFailed) {
      return "The server refuses this client (" + std::to_string(code) +
             " at the greeting): this address may be blocklisted there, or the server is overloaded.";
    }
    return "Unexpected greeting " + std::to_string(code) + " (220 expected).";
  }
  if (h.greeting.error == NetError::timeout) {
    return "Connected, but the server never sent its greeting: a tarpit, or an overloaded server.";
  }
  if (h.greeting.error == NetError::reset) {
    return "Connected, but the server reset the connection before greeting: it (or a firewall in front of it) "
           "cuts this client off.";
  }
  if (h.greeting.error == NetError::closed) {
    return "Connected, but the server hung up before greeting: it does not want this client, or is not SMTP.";
  }
  return "The server did not send an SMTP greeting (" + std::string(to_string(h.greeting.error)) + ").";
}

bool answered(const HostObservation& host) { return host.greeting_reply.has_value(); }

bool usable(const HostObservation& host) { return host.greeting_reply && host.greeting_reply->code == kGreeting; }

std::string host_label(const HostObservation& host) {
  std::string label = host.host;
  if (host.host != host.address && !host.address.empty()) {
    label += "[" + host.address + "]";
  }
  return label + ":" + std::to_string(host.port);
}

std::string first_word(const smtp::ServerReply& reply) {
  if (reply.lines.empty()) return {};
  const std::string& line = reply.lines.front();
  return line.substr(0, line.find(' '));
}

std::vector<Finding> grade_host(const HostObservation& h, std::int64_t now, bool others_answered) {
  std::vector<Finding> out;
  grade_connection(h, others_answered, out);
  if (!usable(h)) return out;
  grade_reverse_dns(h, out);
  grade_ehlo(h, out);
  if (h.help.reply) {
    const std::string first = h.help.reply->lines.empty() ? std::string() : h.help.reply->lines.front();
    out.push_back(make("help", Grade::info, &h, "HELP answered " + std::to_string(h.help.reply->code), first));
  }
  grade_enumeration(h, h.vrfy_postmaster, h.vrfy_random, "VRFY", out);
  grade_enumeration(h, h.expn_postmaster, h.expn_random, "EXPN", out);
  grade_turn(h, out);
  grade_odmr(h, out);
  grade_pipelining(h, out);
  grade_size(h, out);
  grade_relay(h, out);
  grade_auth(h, out);
  grade_tls(h, now, out);
  grade_dane(h, out);
  if (!h.lost.empty()) {
    out.push_back(make("connection_lost", Grade::warn, &h, "The connection ended early: " + lost_words(h.lost_error),
                       h.lost));
  }
  return out;
}

std::vector<Finding> grade(const ProbeObservation& probe, std::int64_t now) {
  std::vector<Finding> out;
  const DnsObservation& dns = probe.dns;
  if (dns.by_mx) {
    if (dns.null_mx) {
      out.push_back(make("dns", Grade::fail, nullptr, dns.domain + " has a null MX (RFC 7505): it accepts no mail"));
    } else if (!dns.failure.empty()) {
      out.push_back(make("dns", Grade::fail, nullptr, "No mail server found for " + dns.domain, dns.failure));
    } else if (dns.implicit_mx) {
      out.push_back(make("dns", Grade::warn, nullptr, dns.domain + " has no MX record: mail goes to its own address (implicit MX, RFC 5321 §5.1)"));
    } else {
      out.push_back(make("dns", Grade::pass, nullptr, dns.domain + " has MX records"));
    }
  } else if (!dns.failure.empty()) {
    out.push_back(make("dns", Grade::fail, nullptr, "Cannot resolve " + probe.target, dns.failure));
  }
  const bool any_answered = std::any_of(probe.hosts.begin(), probe.hosts.end(), [](const HostObservation& h) { return usable(h); });
  for (const auto& host : probe.hosts) {
    auto findings = grade_host(host, now, any_answered);
    out.insert(out.end(), std::make_move_iterator(findings.begin()), std::make_move_iterator(findings.end()));
  }
  return out;
}

int exit_status(const ProbeObservation& probe, const std::vector<Finding>& findings) {
  if (std::none_of(probe.hosts.begin(), probe.hosts.end(), [](const HostObservation& h) { return answered(h); })) {
    return kExitNoConnection;
  }
  int status = kExitAllPass;
  for (const auto& f : findings) {
    if (f.grade == Grade::fail) return kExitFailures;
    if (f.grade == Grade::warn) status = kExitWarnings;
  }
  return status;
}

}  // namespace petrel::cli
