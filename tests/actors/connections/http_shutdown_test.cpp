// The HTTP server at broker shutdown, on its own: an actor still answering a request when the
// server stops must not keep the session (its socket) or reach the Asio context, which the
// broker destroys next. The supervisor here holds the request's directory question until the
// server and its context are gone; the sanitizer build catches any use after free.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

#include "actors/connections/http/http_server.hpp"
#include "process.hpp"
#include "storage/memory_store.hpp"

namespace portask::test {
namespace {

using namespace std::chrono_literals;

// The directory questions a supervisor was asked and holds unanswered until a tick.
struct held_questions {
  std::vector<caf::typed_response_promise<actor_directory>> promises;
  std::promise<void> first_asked;
  bool asked = false;
};

// A supervisor that answers the directory only when sent a tick (then with an empty one, so
// an API request fails 503 at once).
supervisor_actor::behavior_type holding_supervisor(supervisor_actor::pointer self,
                                                   std::shared_ptr<held_questions> held) {
  return {
      [=](tick_atom) {
        for (auto& rp : held->promises) rp.deliver(actor_directory{});
        held->promises.clear();
      },
      [](respawn_atom, std::size_t) {},
      [=](directory_atom) -> caf::result<actor_directory> {
        auto rp = self->make_response_promise<actor_directory>();
        held->promises.push_back(rp);
        if (!held->asked) {
          held->asked = true;
          held->first_asked.set_value();
        }
        return rp;
      },
      [](subscribe_atom, const directory_follower_actor&) -> caf::result<actor_directory> {
        return actor_directory{};
      },
      [](node_atom, const cluster_actor&) {},
  };
}

// One Asio thread over its context, as the broker runs it; stopped at the latest when
// destroyed (a failed assertion must not leave the thread joinable).
struct asio_thread {
  boost::asio::io_context context;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
      context.get_executor()};
  std::thread runner{[this] { context.run(); }};

  void stop() {
    work.reset();
    context.stop();
    if (runner.joinable()) runner.join();
  }
  ~asio_thread() { stop(); }
};

// Ends an actor with the test, however the test ends: the actor system waits for its actors
// when it is destroyed.
struct ended_with_test {
  supervisor_actor actor;
  ~ended_with_test() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }
};

TEST(HttpShutdown, AnAnswerThatComesAfterTheServerAndItsContextAreGoneTouchesNeither) {
  caf::actor_system_config actor_config;
  configure_actor_system(actor_config);
  caf::actor_system sys{actor_config};
  auto ctx = std::make_shared<broker_context>(broker_config{}, storage::memory_store::factory(),
                                              "memory");
  auto held = std::make_shared<held_questions>();
  auto asked = held->first_asked.get_future();
  auto supervisor = sys.spawn(holding_supervisor, held);
  const ended_with_test supervisor_ends{supervisor};

  // As the broker runs it: the server on one Asio thread, destroyed before its context.
  auto io = std::make_unique<asio_thread>();
  auto server = std::make_shared<http_server>(io->context, sys, ctx, supervisor, 16);
  const auto port = server->start(listener_config{});
  ASSERT_TRUE(port.has_value());

  const int fd = connect_loopback(*port);
  ASSERT_GE(fd, 0);
  const std::string request = "GET /api/overview HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  // The request's actor now waits for the directory, holding the way to answer.
  ASSERT_EQ(asked.wait_for(60s), std::future_status::ready);

  server->stop();
  server->stop_connections();
  // Behind the server's closing on the Asio thread: the session waiting for the actor is
  // closed and gone, without any actor having answered.
  std::promise<void> behind;
  boost::asio::post(io->context, [&behind] { behind.set_value(); });
  ASSERT_EQ(behind.get_future().wait_for(60s), std::future_status::ready);
  EXPECT_EQ(server->connections(), 0u);
  char byte = 0;
  const auto n = recv(fd, &byte, 1, 0);
  EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "recv: " << n;

  io->stop();
  server.reset();
  io.reset();

  // Only now is the directory answered: the actor answers (503) into the closed gate, and
  // quits; nothing of the server or the context is left for it to reach.
  caf::anon_send(supervisor, tick_atom::value);
  caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  close(fd);
}

}  // namespace
}  // namespace portask::test
