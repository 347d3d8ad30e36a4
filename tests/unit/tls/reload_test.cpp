// SIGHUP: new handshakes get the new files, old contexts stay usable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using testing::InMemoryConnection;
using ::testing::HasSubstr;

class Reload : public ::testing::Test {
 protected:
  testing::TempDir dir;
  CertificateFiles files = testing::make_certificate(dir, "mx", "old.example.net");
  ServerTls tls{ServerTlsSettings{{files}}};

  static std::vector<std::string> names_seen_with(boost::asio::ssl::context& context) {
    InMemoryConnection connection(context);
    if (!connection.handshake()) {
      ADD_FAILURE() << connection.failure_text();
      return {};
    }
    return connection.server_certificate_names();
  }
};

TEST_F(Reload, swaps_in_the_new_certificate_while_an_earlier_context_stays_valid) {
  const std::shared_ptr<boost::asio::ssl::context> before = tls.context();
  write_self_signed(files.cert_file, files.key_file, "new.example.net");

  EXPECT_EQ(tls.reload(), std::nullopt);

  EXPECT_EQ(names_seen_with(*tls.context()), std::vector<std::string>{"new.example.net"});
  EXPECT_EQ(names_seen_with(*before), std::vector<std::string>{"old.example.net"});
}

TEST_F(Reload, a_failed_reload_keeps_the_old_context_and_returns_the_error) {
  const std::shared_ptr<boost::asio::ssl::context> before = tls.context();
  const CertificateFiles other = testing::make_certificate(dir, "other", "old.example.net");
  std::filesystem::copy_file(other.key_file, files.key_file, std::filesystem::copy_options::overwrite_existing);

  const std::optional<std::string> error = tls.reload();

  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(*error, files.key_file + " does not match " + files.cert_file);
  EXPECT_EQ(tls.context(), before);
  EXPECT_EQ(names_seen_with(*tls.context()), std::vector<std::string>{"old.example.net"});
}

TEST_F(Reload, a_reload_with_a_missing_file_names_it) {
  std::filesystem::remove(files.cert_file);
  const std::optional<std::string> error = tls.reload();
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(*error, HasSubstr(files.cert_file));
}

TEST_F(Reload, connections_can_take_the_context_while_it_is_reloaded) {
  std::atomic<bool> stop{false};
  std::atomic<int> handshakes{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        InMemoryConnection connection(*tls.context());
        if (connection.handshake())
          ++handshakes;
        else
          ++failures;
      }
    });
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(tls.reload(), std::nullopt);
  while (handshakes < 20 && failures == 0) std::this_thread::yield();
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace petrel::tls
