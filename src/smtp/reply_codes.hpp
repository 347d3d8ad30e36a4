// Every reply code Petrel sends, named for what it means, with the RFC it
// comes from. This is the only file in which a numeric SMTP code appears.
#pragma once

#include "smtp/reply.hpp"

namespace petrel::smtp::codes {

// RFC 2034 §3: no enhanced code on the greeting or on HELO/EHLO replies.
inline constexpr Status k220Greeting{220, ""};
inline constexpr Status k250Helo{250, ""};
inline constexpr Status k221Closing{221, "2.0.0"};

// 2xx
inline constexpr Status k250Ok{250, "2.0.0"};
inline constexpr Status k250SenderOk{250, "2.1.0"};        // RFC 3463 X.1.0
inline constexpr Status k250RecipientOk{250, "2.1.5"};     // RFC 3463 X.1.5
inline constexpr Status k250Queued{250, "2.0.0"};
inline constexpr Status k250ChunkOk{250, "2.0.0"};          // RFC 3030 §2
inline constexpr Status k214Help{214, "2.0.0"};
inline constexpr Status k252CannotVrfy{252, "2.5.0"};      // RFC 5321 §3.5.3
inline constexpr Status k354StartMail{354, ""};             // RFC 2034: no code on 354
inline constexpr Status k250QueueStarted{250, "2.0.0"};     // RFC 1985 §5
inline constexpr Status k251NoMessagesWaiting{251, "2.0.0"};  // RFC 1985 §5
inline constexpr Status k220ReadyForTls{220, "2.0.0"};      // RFC 3207 §4
inline constexpr Status k235AuthSucceeded{235, "2.7.0"};    // RFC 4954 §6
inline constexpr Status k334AuthChallenge{334, ""};         // RFC 4954 §4: base64 only, no code
inline constexpr Status k250AtrnReversing{250, "2.0.0"};    // RFC 2645 §4.3: the roles reverse

// 4xx
inline constexpr Status k421ShuttingDown{421, "4.3.2"};     // RFC 3463 X.3.2 system not accepting
inline constexpr Status k421TooManyConnections{421, "4.7.0"};
inline constexpr Status k421TooManyErrors{421, "4.7.0"};
inline constexpr Status k421Timeout{421, "4.4.2"};          // RFC 3463 X.4.2 bad connection
inline constexpr Status k451LocalError{451, "4.3.0"};       // RFC 3463 X.3.0 mail system problem
inline constexpr Status k452StorageFull{452, "4.3.1"};      // RFC 3463 X.3.1 mail system full
inline constexpr Status k452TooManyRecipients{452, "4.5.3"};  // RFC 5321 §4.5.3.1.10
inline constexpr Status k421AuthLockedOut{421, "4.7.0"};    // too many AUTH failures from this address
inline constexpr Status k421ConnectionRateExceeded{421, "4.7.0"};
inline constexpr Status k451MessageRateExceeded{451, "4.7.1"};  // RFC 3463 X.7.1 delivery not authorized
inline constexpr Status k454TlsNotAvailable{454, "4.7.0"};  // RFC 3207 §4
inline constexpr Status k450AtrnRefused{450, "4.7.0"};      // RFC 2645 §4.3: a domain this login may not fetch
inline constexpr Status k451AtrnUnavailable{451, "4.3.0"};  // RFC 2645 §4.3: cannot process ATRN now
inline constexpr Status k453NoMail{453, "4.0.0"};           // RFC 2645 §4.3: nothing waits
// Made by the SMTP client for the caller, not sent (src/smtp/client_session.cpp).
inline constexpr Status k421ConnectionLost{421, "4.4.2"};   // RFC 3463 X.4.2 bad connection
inline constexpr Status k421NoAnswer{421, "4.4.1"};         // RFC 3463 X.4.1 no answer from host
inline constexpr Status k451ProtocolError{451, "4.5.0"};    // RFC 3463 X.5.0: the server's replies made no sense
inline constexpr Status k454TlsRequired{454, "4.7.4"};      // RFC 3463 X.7.4 security features not supported
inline constexpr Status k454TlsFailed{454, "4.7.5"};        // RFC 3463 X.7.5 cryptographic failure
inline constexpr Status k451MtaStsNoMx{451, "4.7.5"};       // RFC 8461 §5.1: no MX the policy allows
inline constexpr Status k451DaneTlsaFailed{451, "4.7.5"};   // RFC 7672 §2.2: TLSA lookup bogus or failed
inline constexpr Status k454AuthNotPossible{454, "4.7.0"};  // credentials given, AUTH not possible

inline constexpr Status k458CannotQueue{458, "4.7.0"};      // RFC 1985 §5: unable to queue messages for node
inline constexpr Status k459NodeNotAllowed{459, "4.7.1"};   // RFC 1985 §5: node not allowed

// 5xx: syntax and sequence (RFC 5321 §4.2.4, RFC 3463 X.5.x)
inline constexpr Status k500Unrecognized{500, "5.5.2"};
inline constexpr Status k500LineTooLong{500, "5.5.2"};      // RFC 5321 §4.2.2
inline constexpr Status k501Syntax{501, "5.5.4"};
inline constexpr Status k501BadSenderSyntax{501, "5.1.7"};     // RFC 3463 X.1.7
inline constexpr Status k501BadRecipientSyntax{501, "5.1.3"};  // RFC 3463 X.1.3
inline constexpr Status k502NotImplemented{502, "5.5.1"};
inline constexpr Status k503BadSequence{503, "5.5.1"};
inline constexpr Status k504ParamNotImplemented{504, "5.5.4"};
inline constexpr Status k555ParamNotRecognized{555, "5.5.4"};  // RFC 5321 §4.1.1.11
inline constexpr Status k501AuthCancelled{501, "5.0.0"};    // RFC 4954 §4: client sent "*"
inline constexpr Status k501BadBase64{501, "5.5.2"};        // RFC 4954 §4
inline constexpr Status k504UnknownMechanism{504, "5.5.4"}; // RFC 4954 §4

// 5xx: authentication and TLS (RFC 4954 §6, RFC 3207 §4)
inline constexpr Status k530AuthRequired{530, "5.7.0"};
inline constexpr Status k530StartTlsFirst{530, "5.7.0"};  // RFC 3207 §4: "Must issue a STARTTLS command first"
inline constexpr Status k535AuthFailed{535, "5.7.8"};
inline constexpr Status k538EncryptionRequired{538, "5.7.11"};  // RFC 5248 X.7.11
inline constexpr Status k553SenderNotOwned{553, "5.7.1"};       // RFC 6409 §6.1
// RFC 8689 (REQUIRETLS). X.7.10 "Encryption Needed" (RFC 5248): the
// parameter outside TLS, or no authenticated TLS to carry the message;
// X.7.30 "REQUIRETLS support required" (RFC 8689 §7): the next hop
// does not offer REQUIRETLS.
inline constexpr Status k530RequireTlsInClear{530, "5.7.10"};
inline constexpr Status k550RequireTlsNoTls{550, "5.7.10"};       // made by the SMTP client
inline constexpr Status k550RequireTlsNotOffered{550, "5.7.30"};  // made by the SMTP client

// 5xx: policy and content
inline constexpr Status k550NoSuchUser{550, "5.1.1"};
inline constexpr Status k553NonAsciiAddress{553, "5.6.7"};   // RFC 6531 §3.5
inline constexpr Status k554RelayDenied{554, "5.7.1"};
inline constexpr Status k554NoValidRecipients{554, "5.5.1"};  // RFC 5321 §3.3
inline constexpr Status k552MessageTooBig{552, "5.3.4"};     // RFC 1870 §6
inline constexpr Status k550BareLineEnding{550, "5.6.0"};     // smuggling defence
inline constexpr Status k554TooManyHops{554, "5.4.6"};       // RFC 5321 §6.3: a mail loop, by Received: count
inline constexpr Status k550DmarcReject{550, "5.7.1"};        // RFC 7489 §6.6.4: the From domain's p=reject
inline constexpr Status k550SpfFail{550, "5.7.23"};           // RFC 7372 §3.2 SPF validation failed
inline constexpr Status k554LineTooLong{554, "5.6.0"};        // RFC 5321 §4.5.3.1.6 text line
inline constexpr Status k554BadBody{554, "5.6.1"};            // RFC 3463 X.6.1 media not supported
// Made by the SMTP client: what it will not send to a server lacking an extension.
inline constexpr Status k554ConversionNeeded{554, "5.6.3"};  // RFC 6152 §3, RFC 3463 X.6.3
inline constexpr Status k553Utf8NotOffered{553, "5.6.7"};    // RFC 6531 §3.2

// Made by remote delivery for the queue and for DSNs, not sent.
inline constexpr Status k556NullMx{556, "5.1.10"};        // RFC 7505 §3, RFC 7504
inline constexpr Status k550NoSuchDomain{550, "5.1.2"};   // RFC 3463 X.1.2 bad destination system address
inline constexpr Status k550Unroutable{550, "5.4.4"};     // RFC 3463 X.4.4 unable to route
inline constexpr Status k550RoutingLoop{550, "5.4.6"};    // RFC 3463 X.4.6 routing loop detected
inline constexpr Status k451DnsFailure{451, "4.4.3"};     // RFC 3463 X.4.3 directory server failure
inline constexpr Status k451Expired{451, "4.4.7"};        // RFC 3463 X.4.7 delivery time expired
// Not attempted here: the queue holds the mail back (traffic shaping).
inline constexpr Status k451SiteSuspended{451, "4.4.5"};  // RFC 3463 X.4.5 mail system congestion
inline constexpr Status k451SiteDown{451, "4.4.1"};       // RFC 3463 X.4.1 no answer from host
inline constexpr Status k451ReadyQueueFull{451, "4.4.5"};
inline constexpr Status k451Cancelled{451, "4.3.0"};      // deleted or held by the operator meanwhile

}  // namespace petrel::smtp::codes
