// Messages for tests: every envelope field set to something recognisable.
#pragma once

#include <memory>
#include <string>

#include "spool/queue_id.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::testing {

inline smtp::Recipient recipient(std::string local, std::string domain) {
  smtp::Recipient r;
  r.forward_path = {std::move(local), std::move(domain)};
  return r;
}

inline std::shared_ptr<spool::SpooledMessage> sample_message(std::string content = "Subject: hi\r\n\r\nbody\r\n") {
  auto m = std::make_shared<spool::SpooledMessage>();
  m->id = spool::make_queue_id();
  m->envelope.reverse_path.mailbox = smtp::Address{"sender", "example.net"};
  m->envelope.params.declared_size = 12345;
  m->envelope.params.body = smtp::BodyType::eight_bit_mime;
  m->envelope.params.smtputf8 = true;
  m->envelope.params.ret = smtp::DsnRet::headers;
  m->envelope.params.envid = "env+id";
  auto r1 = recipient("alice", "example.org");
  r1.notify = smtp::notify_success | smtp::notify_failure;
  r1.orcpt = "rfc822;alice@example.org";
  m->envelope.recipients = {r1, recipient("bob", "example.org")};
  m->envelope.client_address = "192.0.2.7";
  m->envelope.helo_name = "client.example.net";
  m->envelope.protocol = "ESMTPS";
  m->arrival_unix_seconds = 1700000000;
  m->attempts = 0;
  m->content = std::move(content);
  return m;
}

}  // namespace petrel::testing
