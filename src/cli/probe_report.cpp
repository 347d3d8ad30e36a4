#include "cli/probe_report.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

std::string ms_text(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

std::string date_text(std::int64_t unix_time) { return utc_time(unix_time, "%Y-%m-%d"); }

Colour colour_of(Grade grade) {
  switch (grade) {
    case Grade::pass: return Colour::green;
    case Grade::warn: return Colour::yellow;
    case Grade::fail: return Colour::red;
    case Grade::info: return Colour::cyan;
  }
  return Colour::none;
}

std::string grade_label(Grade grade, std::FILE* out) {
  std::string label(to_string(grade));
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return paint(label, colour_of(grade), out);
}

void print_extensions(const smtp::Capabilities& caps, std::FILE* out) {
  Table table({"  EXTENSION", "MEANING"});
  for (const auto& line : caps.keywords) {
    const std::string meaning = explain_extension(line);
    table.add_row({"  " + line, meaning.empty() ? paint("(not known to petrel)", Colour::dim, out) : meaning});
  }
  if (!table.empty()) table.print(out);
}

void print_tls(const TlsDetails& tls, std::FILE* out) {
  std::fprintf(out, "  TLS        %s\n", tls.describe().c_str());
  std::fprintf(out, "  subject    %s\n  issuer     %s\n", tls.subject.c_str(), tls.issuer.c_str());
  std::string names;
  for (const auto& n : tls.names) names += (names.empty() ? "" : ", ") + n;
  std::fprintf(out, "  names      %s\n", names.empty() ? "(none)" : names.c_str());
  std::fprintf(out, "  valid      %s to %s\n", date_text(tls.not_before).c_str(), date_text(tls.not_after).c_str());
  std::fprintf(out, "  chain      %s\n",
               tls.chain_verified ? "verified" : ("not verified: " + tls.verify_error).c_str());
  std::fprintf(out, "  name match %s\n", tls.name_matches ? "yes" : "no");
}

void print_transcript(const HostObservation& h, std::FILE* out) {
  std::fprintf(out, "  %s\n", paint("Transcript", Colour::bold, out).c_str());
  for (const auto& line : h.transcript) {
    switch (line.kind) {
      case TranscriptLine::Kind::client: std::fprintf(out, "    C: %s\n", line.text.c_str()); break;
      case TranscriptLine::Kind::server: std::fprintf(out, "    S: %s\n", line.text.c_str()); break;
      case TranscriptLine::Kind::note:
        std::fprintf(out, "    %s\n", paint("* " + line.text, Colour::dim, out).c_str());
        break;
    }
  }
}

void print_host(const HostObservation& h, const ReportOptions& options, std::FILE* out) {
  std::fprintf(out, "\n%s\n", paint("Host " + host_label(h), Colour::bold, out).c_str());
  if (h.ptr_looked_up) {
    std::string names;
    for (const auto& n : h.ptr_names) names += (names.empty() ? "" : ", ") + n;
    std::fprintf(out, "  PTR        %s\n", names.empty() ? "(none)" : names.c_str());
  }
  std::fprintf(out, "  connect    %s%s\n", ms_text(h.connect.ms).c_str(),
               h.connect.ok() ? "" : ("  " + std::string(to_string(h.connect.error)) + ": " + h.connect.detail).c_str());
  if (h.implicit_tls_details) print_tls(*h.implicit_tls_details, out);
  if (h.greeting.attempted) {
    std::fprintf(out, "  greeting   %s  %s\n", ms_text(h.greeting.ms).c_str(),
                 h.greeting_reply ? h.greeting_reply->str().c_str() : h.greeting.detail.c_str());
  }
  if (h.ehlo.reply) {
    std::fprintf(out, "  EHLO       %s  %d %s\n", ms_text(h.ehlo_ms).c_str(), h.ehlo.reply->code,
                 h.ehlo.reply->positive() ? h.capabilities.server_name.c_str() : h.ehlo.reply->str().c_str());
  }
  if (h.helo.reply) std::fprintf(out, "  HELO       %s\n", h.helo.reply->str().c_str());
  print_extensions(h.capabilities, out);
  if (h.help.reply) {
    std::fprintf(out, "  HELP       %d\n", h.help.reply->code);
    for (const auto& line : h.help.reply->lines) std::fprintf(out, "    %s\n", line.c_str());
  }
  if (h.starttls && h.starttls->tls) {
    print_tls(*h.starttls->tls, out);
    if (h.starttls->ehlo.reply) {
      std::fprintf(out, "  After STARTTLS, EHLO offers:\n");
      print_extensions(h.starttls->capabilities, out);
    }
  }
  if (options.verbose) print_transcript(h, out);
}

json reply_json(const std::optional<smtp::ServerReply>& reply) {
  if (!reply) return nullptr;
  return json{{"code", reply->code}, {"enhanced", reply->enhanced}, {"lines", reply->lines}};
}

json step_json(const StepResult& s) {
  return json{{"attempted", s.attempted}, {"ok", s.ok()}, {"error", std::string(to_string(s.error))},
              {"detail", s.detail}, {"ms", s.ms}};
}

json extensions_json(const smtp::Capabilities& caps) {
  json list = json::array();
  for (const auto& line : caps.keywords) {
    const std::string keyword = line.substr(0, line.find(' '));
    const std::string meaning = explain_extension(line);
    list.push_back({{"keyword", keyword}, {"line", line}, {"explanation", meaning.empty() ? json(nullptr) : json(meaning)}});
  }
  return list;
}

json tls_json(const std::optional<TlsDetails>& tls) {
  if (!tls) return nullptr;
  return json{{"version", tls->version}, {"cipher", tls->cipher}, {"bits", tls->bits}, {"subject", tls->subject},
              {"issuer", tls->issuer}, {"names", tls->names}, {"not_before", tls->not_before},
              {"not_after", tls->not_after}, {"chain_verified", tls->chain_verified},
              {"verify_error", tls->verify_error}, {"name_matches", tls->name_matches}};
}

json transcript_json(const std::vector<TranscriptLine>& lines) {
  json list = json::array();
  for (const auto& line : lines) {
    const char* kind = line.kind == TranscriptLine::Kind::client   ? "client"
                       : line.kind == TranscriptLine::Kind::server ? "server"
                                                                   : "note";
    list.push_back({{"from", kind}, {"text", line.text}});
  }
  return list;
}

json checks_json(const HostObservation& h) {
  json pipelined = json::array();
  for (const auto& r : h.pipelining.replies) pipelined.push_back(reply_json(r));
  return json{{"help", reply_json(h.help.reply)},
              {"random_name", h.random_name},
              {"vrfy_postmaster", reply_json(h.vrfy_postmaster.reply)},
              {"vrfy_random", reply_json(h.vrfy_random.reply)},
              {"expn_postmaster", reply_json(h.expn_postmaster.reply)},
              {"expn_random", reply_json(h.expn_random.reply)},
              {"turn", reply_json(h.turn.reply)},
              {"pipelining", {{"tested", h.pipelining.tested}, {"replies", pipelined}}},
              {"size_tried", h.size_tried},
              {"size_mail", reply_json(h.size_mail.reply)},
              {"relay_mail", reply_json(h.relay_mail.reply)},
              {"relay_rcpt", reply_json(h.relay_rcpt.reply)},
              {"starttls", h.starttls ? reply_json(h.starttls->command.reply) : json(nullptr)}};
}

json host_json(const HostObservation& h) {
  json j{{"host", h.host}, {"address", h.address}, {"port", h.port}, {"preference", h.preference},
         {"implicit_tls", h.implicit_tls}, {"ptr", h.ptr_looked_up ? json(h.ptr_names) : json(nullptr)},
         {"connect", step_json(h.connect)}, {"greeting", step_json(h.greeting)},
         {"greeting_reply", reply_json(h.greeting_reply)}, {"ehlo", reply_json(h.ehlo.reply)},
         {"ehlo_ms", h.ehlo_ms}, {"helo", reply_json(h.helo.reply)}, {"esmtp", h.capabilities.esmtp},
         {"extensions", extensions_json(h.capabilities)}, {"checks", checks_json(h)},
         {"lost", h.lost.empty() ? json(nullptr) : json(h.lost)}, {"transcript", transcript_json(h.transcript)}};
  if (h.implicit_tls) {
    j["tls"] = tls_json(h.implicit_tls_details);
    j["extensions_after_tls"] = nullptr;
  } else {
    j["tls"] = h.starttls ? tls_json(h.starttls->tls) : json(nullptr);
    j["extensions_after_tls"] =
        h.starttls && h.starttls->ehlo.reply ? extensions_json(h.starttls->capabilities) : json(nullptr);
  }
  return j;
}

}  // namespace

void print_text_report(const ProbeObservation& probe, const std::vector<Finding>& findings, int exit_status,
                       const ReportOptions& options, std::FILE* out) {
  std::fprintf(out, "%s\n", paint("petrel probe " + probe.target, Colour::bold, out).c_str());
  const DnsObservation& dns = probe.dns;
  if (dns.by_mx) {
    std::fprintf(out, "DNS  %s: %s (%s)\n", dns.domain.c_str(),
                 dns.null_mx       ? "null MX, accepts no mail"
                 : dns.implicit_mx ? "no MX, implicit MX (the domain's own address)"
                 : dns.failure.empty() ? "MX found"
                                       : dns.failure.c_str(),
                 ms_text(dns.ms).c_str());
    for (const auto& h : probe.hosts) std::fprintf(out, "  MX %5u %s  %s\n", h.preference, h.host.c_str(), h.address.c_str());
  } else if (!probe.hosts.empty() && probe.hosts.front().host != probe.hosts.front().address) {
    std::fprintf(out, "DNS  %s: resolved (%s)\n", probe.hosts.front().host.c_str(), ms_text(dns.ms).c_str());
  } else if (!dns.failure.empty()) {
    std::fprintf(out, "DNS  %s\n", dns.failure.c_str());
  }
  for (const auto& note : dns.notes) std::fprintf(out, "  %s\n", note.c_str());
  for (const auto& h : probe.hosts) print_host(h, options, out);

  std::fprintf(out, "\n%s\n", paint("Findings", Colour::bold, out).c_str());
  int counts[4] = {0, 0, 0, 0};
  for (const auto& f : findings) {
    ++counts[static_cast<int>(f.grade)];
    std::fprintf(out, "  %s  %s%s\n", grade_label(f.grade, out).c_str(), f.title.c_str(),
                 f.host.empty() || probe.hosts.size() < 2 ? "" : ("  [" + f.host + "]").c_str());
    if (!f.detail.empty()) std::fprintf(out, "        %s\n", paint(f.detail, Colour::dim, out).c_str());
  }
  std::fprintf(out, "\nSummary: %d pass, %d warn, %d fail, %d info; exit status %d%s\n", counts[0], counts[2],
               counts[3], counts[1], exit_status, exit_status == kExitNoConnection ? " (could not connect)" : "");
}

std::string json_report(const ProbeObservation& probe, const std::vector<Finding>& findings, int exit_status) {
  json hosts = json::array();
  for (const auto& h : probe.hosts) hosts.push_back(host_json(h));
  json list = json::array();
  json summary{{"pass", 0}, {"info", 0}, {"warn", 0}, {"fail", 0}};
  for (const auto& f : findings) {
    const std::string grade(to_string(f.grade));
    list.push_back({{"id", f.id}, {"grade", grade}, {"host", f.host}, {"title", f.title}, {"detail", f.detail}});
    summary[grade] = summary[grade].get<int>() + 1;
  }
  const DnsObservation& d = probe.dns;
  json dns{{"by_mx", d.by_mx}, {"domain", d.domain}, {"implicit_mx", d.implicit_mx}, {"null_mx", d.null_mx},
           {"failure", d.failure.empty() ? json(nullptr) : json(d.failure)}, {"notes", d.notes}, {"ms", d.ms}};
  json doc{{"target", probe.target}, {"dns", dns},           {"hosts", hosts},
           {"findings", list},       {"summary", summary}, {"exit_status", exit_status}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace petrel::cli
