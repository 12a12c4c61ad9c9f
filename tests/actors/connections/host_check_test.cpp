// Which Host the console and the API answer: IP literals, localhost names, the broker's own
// listener and advertised hosts, and configured names; any other name is a page that had its
// own name resolve to the broker (DNS rebinding).
#include <gtest/gtest.h>

#include "actors/connections/http/host_check.hpp"

using namespace portask;

TEST(HostCheck, AddressesAndLocalhostNamesAreThisBroker) {
  const std::vector<std::string> none;
  for (const char* host : {"127.0.0.1", "127.0.0.1:8080", "10.1.2.3:80", "[::1]:8080", "[::1]",
                           "localhost", "LOCALHOST:8080", "localhost.", "app.localhost:3000", ""})
    EXPECT_TRUE(host_allowed(host, none)) << host;
  for (const char* host : {"rebound.example", "rebound.example:8080", "localhost.example", "[::1",
                           "[::1]x", "[evil]:80", "127.0.0.1:80x", ":8080", "evil.com:8080:80"})
    EXPECT_FALSE(host_allowed(host, none)) << host;
}

TEST(HostCheck, TheBrokersOwnAndConfiguredNamesAreAllowed) {
  broker_config c;
  c.http.host = "0.0.0.0";
  c.kafka_advertised_host = "Kafka-1.internal";
  c.cluster.advertised_host = "node1.internal";
  c.http_allowed_hosts = {"console.example.com"};
  const auto names = http_host_names(c);
  for (const char* host : {"kafka-1.internal:9092", "node1.internal", "console.example.com:443",
                           "CONSOLE.example.com."})
    EXPECT_TRUE(host_allowed(host, names)) << host;
  EXPECT_FALSE(host_allowed("rebound.example", names));
  c.http_allowed_hosts = {"*"};
  EXPECT_TRUE(host_allowed("rebound.example", http_host_names(c)));
}
