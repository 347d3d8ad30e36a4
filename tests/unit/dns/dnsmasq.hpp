// A real DNS server for the resolver tests: dnsmasq on 127.0.0.1 at a free
// port, serving the test zone below from its command line, stopped when the
// object goes. tests/integration/dns_zone.py serves the same zone for the
// end-to-end tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace petrel::testing {

// The zone, as dnsmasq options. Everything under test. that is not listed
// is NXDOMAIN (--local=/test/).
//   two.test          MX 10 mx1.two.test, MX 20 mx2.two.test
//   mx1.two.test      A 127.0.0.2            mx2.two.test  A 127.0.0.3, AAAA fd00::3
//   implicit.test     no MX; A 127.0.0.4
//   deadfirst.test    MX 10 nowhere.deadfirst.test (no such name), MX 20 mx.deadfirst.test (A 127.0.0.5)
//   nullmx.test       MX 0 .                  (RFC 7505)
//   cnamemx.test      MX 10 alias.test;  alias.test CNAME mx1.two.test
//   iplit.test        MX 10 192.0.2.1         (an address where a name belongs)
//   _25._tcp.mx1.two.test  TLSA 3 1 1 aabbccdd
//   _mta-sts.two.test TXT "v=STSv1; " "id=20240101"
//   127.0.0.2         PTR mx1.two.test
// Every local answer has a TTL of 300 s.
std::vector<std::string> test_zone();

class Dnsmasq {
 public:
  // The dnsmasq binary ($DNSMASQ, else /usr/sbin/dnsmasq, /usr/bin/dnsmasq),
  // or nullopt when it is not installed.
  static std::optional<std::string> binary();

  // Starts dnsmasq with `zone` and waits (at most 5 s) until it answers.
  // Throws std::runtime_error if it does not.
  explicit Dnsmasq(const std::vector<std::string>& zone = test_zone());
  ~Dnsmasq();
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  std::uint16_t port() const { return port_; }
  std::string upstream() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void start(const std::vector<std::string>& zone);
  void stop();
  int pid_ = -1;
  std::uint16_t port_ = 0;
};

// A UDP port on 127.0.0.1 that nothing answers on (bound, never read),
// for timeouts.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  std::string upstream() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A UDP server on 127.0.0.1 that answers every query with SERVFAIL.
class ServfailServer {
 public:
  ServfailServer();
  ~ServfailServer();
  ServfailServer(const ServfailServer&) = delete;
  ServfailServer& operator=(const ServfailServer&) = delete;
  std::string upstream() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  void serve();
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace petrel::testing
