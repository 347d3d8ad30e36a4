// The message a ClientSession is sending and what has been learnt about
// its recipients so far. Internal to client_session.cpp and
// client_transaction.cpp.
#pragma once

#include <vector>

#include "smtp/client_session.hpp"

namespace petrel::smtp {

struct ClientSession::Transaction {
  OutgoingMessage message;
  MessageResult result;
  std::vector<bool> settled;          // the recipient's outcome is final
  std::vector<std::size_t> accepted;  // recipients whose RCPT got a 2xx, in order
  std::size_t rcpt_replies = 0;
  bool use_bdat = false;        // RFC 3030: BDAT <size> LAST instead of DATA
  bool data_pipelined = false;  // DATA went out with MAIL and RCPT (RFC 2920)
  // Every outcome is known; replies still due (to a pipelined DATA, say)
  // are read and ignored.
  bool finished = false;

  void settle(std::size_t index, const ServerReply& reply);
};

}  // namespace petrel::smtp
