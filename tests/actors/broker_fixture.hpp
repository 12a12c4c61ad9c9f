#pragma once
// An in-process broker on free loopback ports (native and HTTP), with the memory store or a
// real redis-server started for the test, and a client factory.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "actors/runtime/broker.hpp"
#include "client/client.hpp"
#include "redis_server.hpp"

namespace portask::test {

struct broker_fixture {
  explicit broker_fixture(bool use_redis = false, broker_config overrides = {}) {
    if (use_redis) {
      redis = std::make_unique<redis_server>();
      if (!redis->start()) throw std::runtime_error("redis-server did not start");
      overrides.store = redis->url();
      // The test server fsyncs every write: on a loaded machine the default 5 s can pass
      // while the broker does nothing wrong.
      if (overrides.store_timeout_ms == broker_config{}.store_timeout_ms) overrides.store_timeout_ms = 30000;
    }
    config = overrides;
    config.native = {"127.0.0.1", 0};
    // Port 0: the listeners bind ports the system picks and report them (a port probed free
    // beforehand could be taken by a parallel test before the bind).
    config.http = {"127.0.0.1", 0};
    config.kafka = {"127.0.0.1", 0};
    // The actor system keeps a reference to its config: it must outlive the system.
    configure_actor_system(actor_config);
    system = std::make_unique<caf::actor_system>(actor_config);
    server = std::make_unique<portask::broker>(*system, config);
    if (auto ec = server->start()) throw std::runtime_error("broker start: " + ec.message());
  }
  ~broker_fixture() {
    server.reset();
    system.reset();
  }

  client::connection connect(protocol::encoding e = {}) {
    client::options o;
    o.port = server->native_port();
    o.encoding = e;
    o.timeout = std::chrono::seconds(20);
    auto c = client::connection::open(o);
    if (!client::ok(c)) throw std::runtime_error("connect: " + client::error_of(c).message);
    return std::move(std::get<0>(c));
  }

  metrics_registry& metrics() { return server->context()->metrics; }

  std::unique_ptr<redis_server> redis;
  broker_config config;
  caf::actor_system_config actor_config;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<portask::broker> server;
};

/// Unwraps a client result or fails the test with the broker's message.
template <class T>
T must(client::result<T> r, const char* what = "call") {
  if (!client::ok(r)) {
    ADD_FAILURE() << what << " failed: " << client::error_of(r).message;
    throw std::runtime_error(client::error_of(r).message);
  }
  return std::move(std::get<0>(r));
}

/// Messages stamped now: a fixed old stamp would be fair game for the broker's retention
/// (7 days by default), which could delete them between a test's publish and its fetch.
inline protocol::message_batch make_batch(int n, const std::string& prefix = "v") {
  protocol::message_batch b;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.key = std::string("k").append(std::to_string(i));  // not "k" + ...: GCC 12 -O3 -Wrestrict
    m.value = prefix + std::to_string(i);
    m.headers = {{"h", std::string("x")}};
    m.timestamp_ms = now + i;
    b.messages.push_back(std::move(m));
  }
  return b;
}

}  // namespace portask::test
