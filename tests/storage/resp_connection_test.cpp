// resp_connection's limits, against a RESP server of the test's own: one deadline for a
// whole call (a reply trickled in slower than it allows, though each byte comes well within
// the timeout), put off only by a transfer that keeps moving, a cap on what one reply may
// hold, and array counts that would break the reply's reader.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "storage/resp_connection.hpp"

using namespace portask::storage;
using namespace std::chrono_literals;

namespace {

// A RESP server on a loopback port: it takes one connection, reads the `request_bytes` the
// client's commands take, then sends `reply` `chunk` bytes at a time with `pause` between
// chunks (each chunk whole, however many sends it takes), and keeps the connection until the client closes it. Destroying it ends every
// wait of its thread at once and joins it.
class fake_resp_server {
 public:
  fake_resp_server(std::string reply, std::size_t request_bytes, std::size_t chunk,
                   std::chrono::milliseconds pause)
      : reply_(std::move(reply)), request_bytes_(request_bytes), chunk_(chunk), pause_(pause) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;  // the kernel picks a free port
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 1) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (listen_fd_ >= 0) ::close(listen_fd_);
      listen_fd_ = -1;
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~fake_resp_server() {
    {
      std::lock_guard lock{mutex_};
      stop_ = true;
    }
    woken_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  fake_resp_server(const fake_resp_server&) = delete;
  fake_resp_server& operator=(const fake_resp_server&) = delete;

  bool listening() const noexcept { return listen_fd_ >= 0; }
  std::uint16_t port() const noexcept { return port_; }

 private:
  void serve() {
    if (!ready(listen_fd_, POLLIN)) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    exchange(fd);
    ::close(fd);
  }

  void exchange(int fd) {
    char buf[4096];
    for (std::size_t got = 0; got < request_bytes_;) {
      if (!ready(fd, POLLIN)) return;
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return;
      got += static_cast<std::size_t>(n);
    }
    for (std::size_t at = 0; at < reply_.size();) {
      if (at > 0 && pause_.count() > 0 && paused_until_stopped()) return;
      for (const auto end = std::min(at + chunk_, reply_.size()); at < end;) {
        if (!ready(fd, POLLOUT)) return;
        const auto n = ::send(fd, reply_.data() + at, end - at, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return;  // the client has gone
        at += static_cast<std::size_t>(n);
      }
    }
    while (ready(fd, POLLIN)) {  // until the client closes the connection
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
  }

  // Waits for `events` on `fd`, looking at stop_ between short polls; false once stopped.
  bool ready(int fd, short events) {
    for (;;) {
      {
        std::lock_guard lock{mutex_};
        if (stop_) return false;
      }
      pollfd p{fd, events, 0};
      const int rc = ::poll(&p, 1, 50);
      if (rc > 0) return true;
      if (rc < 0 && errno != EINTR) return false;
    }
  }

  // The pause between two chunks (the trickle under test); true when stopped meanwhile.
  bool paused_until_stopped() {
    std::unique_lock lock{mutex_};
    return woken_.wait_for(lock, pause_, [this] { return stop_; });
  }

  std::string reply_;
  std::size_t request_bytes_;
  std::size_t chunk_;
  std::chrono::milliseconds pause_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::condition_variable woken_;
  bool stop_ = false;
  std::thread thread_;
};

// "*1\r\n$4\r\nPING\r\n"
constexpr std::size_t ping_bytes = 14;

void append_ping(resp_connection& c) {
  const char* argv[] = {"PING"};
  const std::size_t lens[] = {4};
  c.append(1, argv, lens);
}

// A reply owned by the test (none: null).
struct owned_reply {
  redisReply* r;
  explicit owned_reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~owned_reply() {
    if (r) freeReplyObject(r);
  }
  owned_reply(const owned_reply&) = delete;
  owned_reply& operator=(const owned_reply&) = delete;
};

std::string bulk(std::size_t size, char c) {
  return "$" + std::to_string(size) + "\r\n" + std::string(size, c) + "\r\n";
}

}  // namespace

// Each byte comes 100 ms after the one before, well within the 300 ms timeout of one wait,
// but the whole reply would take over ten seconds: the call ends at its deadline.
TEST(RespConnection, AReplyTrickledPastTheDeadlineFailsTheCallAsTimedOut) {
  fake_resp_server server{bulk(100, 'x'), ping_bytes, 1, 100ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 300ms, why);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  EXPECT_EQ(reply.r, nullptr) << "the whole trickled reply was read";
  EXPECT_NE(c->error().find("timed out after 300 ms"), std::string::npos) << c->error();
  owned_reply after{c->read_reply()};
  EXPECT_EQ(after.r, nullptr) << "a connection out of step answers nothing more";
}

// A bulk string announcing a megabyte, sent at full speed, to a connection that takes 64 KiB
// per reply: the call fails once the bytes held pass the cap, long before its deadline.
TEST(RespConnection, ABulkStringLargerThanTheCapFailsTheCall) {
  fake_resp_server server{bulk(1u << 20, 'b'), ping_bytes, 16 * 1024, 0ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 30s, why, 64 * 1024);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  EXPECT_EQ(reply.r, nullptr) << "a reply over the cap was read whole";
  EXPECT_NE(c->error().find("reply larger than 65536 bytes"), std::string::npos) << c->error();
}

// hiredis sizes an array's table of elements by the count its header announces: a header
// announcing more than the cap could hold is refused before that table is made.
TEST(RespConnection, AnArrayAnnouncingMoreThanTheCapHoldsIsRefusedAtItsHeader) {
  fake_resp_server server{"*100000000\r\n", ping_bytes, 64, 0ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 5s, why, 64 * 1024);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  EXPECT_EQ(reply.r, nullptr);
  EXPECT_NE(c->error().find("reply larger than 65536 bytes"), std::string::npos) << c->error();
}

// Replies within both limits are read as before, pipelined: two of 40,000 bytes, more than
// the 64 KiB cap together, as each reply is held against the cap on its own.
TEST(RespConnection, RepliesWithinBothLimitsAreReadEachAgainstTheCapOnItsOwn) {
  fake_resp_server server{bulk(40000, 'a') + ":42\r\n" + bulk(40000, 'c'), 3 * ping_bytes, 4096, 0ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 30s, why, 64 * 1024);
  ASSERT_TRUE(c) << why;
  for (int i = 0; i < 3; ++i) append_ping(*c);
  owned_reply first{c->read_reply()};
  ASSERT_NE(first.r, nullptr) << c->error();
  EXPECT_EQ(first.r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(first.r->str, first.r->len), std::string(40000, 'a'));
  owned_reply second{c->read_reply()};
  ASSERT_NE(second.r, nullptr) << c->error();
  EXPECT_EQ(second.r->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(second.r->integer, 42);
  owned_reply third{c->read_reply()};
  ASSERT_NE(third.r, nullptr) << c->error();
  EXPECT_EQ(third.r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(third.r->str, third.r->len), std::string(40000, 'c'));
}

// A 3 MiB reply in 256 KiB chunks 250 ms apart takes about three seconds, past the 2 s
// timeout, but each MiB of it (progress_bytes) comes within about a second: each puts the
// deadline off, so the call completes.
TEST(RespConnection, ALargeReplyThatKeepsMovingOutlastsTheTimeout) {
  static_assert(resp_connection::progress_bytes == 1u << 20, "the pacing below assumes 1 MiB");
  // 1 MiB moves in 400 ms of pauses, far inside the 3 s timeout however slow the machine;
  // the whole reply takes at least 3.2 s, past it.
  const std::size_t size = 8u << 20;
  fake_resp_server server{bulk(size, 'm'), ping_bytes, 256 * 1024, 100ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 3s, why);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  ASSERT_NE(reply.r, nullptr) << c->error();
  ASSERT_EQ(reply.r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(reply.r->str, reply.r->len), std::string(size, 'm'));
}

// hiredis 0.14 hands an array's count to the object functions as an int and walks as many
// elements as it says: a count below -1 (-1 is the nil array), or one past INT_MAX, would
// leave an element count with no table behind it. The call fails as a protocol error.
TEST(RespConnection, AnArrayOfANegativeCountFailsTheCall) {
  fake_resp_server server{"*-2\r\n", ping_bytes, 64, 0ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 5s, why);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  EXPECT_EQ(reply.r, nullptr) << "an array of count -2 was answered";
  EXPECT_NE(c->error().find("protocol error"), std::string::npos) << c->error();
  owned_reply after{c->read_reply()};
  EXPECT_EQ(after.r, nullptr) << "a connection out of step answers nothing more";
}

TEST(RespConnection, AnArrayOfACountPastIntMaxFailsTheCall) {
  fake_resp_server server{"*2147483648\r\n", ping_bytes, 64, 0ms};
  ASSERT_TRUE(server.listening());
  std::string why;
  auto c = resp_connection::open("127.0.0.1", server.port(), {}, 5s, why);
  ASSERT_TRUE(c) << why;
  append_ping(*c);
  owned_reply reply{c->read_reply()};
  EXPECT_EQ(reply.r, nullptr) << "an array of count 2^31 was answered";
  EXPECT_NE(c->error().find("protocol error"), std::string::npos) << c->error();
}
