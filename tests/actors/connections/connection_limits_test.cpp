// The limits' mechanisms on their own and in an in-process broker: the connection table's
// eviction, the accept loop's back-off when descriptors run out, idle timeouts, auto-create
// caps, and the HTTP request limits (tests/integration/limits_test.cpp attacks the binary).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/connections/transport/accept_loop.hpp"
#include "actors/connections/transport/connection_table.hpp"
#include "actors/connections/http/http_request.hpp"
#include "actors/runtime/supervisor.hpp"
#include "protocol/base64.hpp"
#include "tests/actors/broker_fixture.hpp"
#include "raw_kafka.hpp"

namespace portask::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

struct fake_connection : limited_connection {
  bool is_idle = true;
  std::chrono::steady_clock::time_point active;
  bool evicted = false;
  bool idle() const noexcept override { return is_idle; }
  std::chrono::steady_clock::time_point last_active() const noexcept override { return active; }
  void evict() override { evicted = true; }
};

std::shared_ptr<fake_connection> fake(int age_s, bool idle = true) {
  auto c = std::make_shared<fake_connection>();
  c->active = std::chrono::steady_clock::time_point{} + std::chrono::seconds(1000 - age_s);
  c->is_idle = idle;
  return c;
}

const auto here = asio::ip::make_address("127.0.0.1");
const auto there = asio::ip::make_address("127.0.0.2");

TEST(ConnectionTable, AFullListenerEvictsItsLeastRecentlyActiveIdleConnection) {
  connection_table t{3, 0};
  auto busy_oldest = fake(30, false), idle_old = fake(20), idle_new = fake(10);
  for (auto& c : {busy_oldest, idle_old, idle_new}) {
    ASSERT_EQ(t.admit(here), connection_table::verdict::admitted);
    t.join(here, c);
  }
  EXPECT_EQ(t.admit(there), connection_table::verdict::admitted_after_eviction);
  EXPECT_FALSE(busy_oldest->evicted);  // busy connections are never evicted
  EXPECT_TRUE(idle_old->evicted);
  EXPECT_FALSE(idle_new->evicted);
  EXPECT_EQ(t.size(), 2u);  // the evicted one no longer counts
  t.leave(idle_old.get());  // its later leave is harmless
  EXPECT_EQ(t.size(), 2u);
}

TEST(ConnectionTable, WithNobodyIdleTheNewClientIsRefused) {
  connection_table t{2, 0};
  auto a = fake(2, false), b = fake(1, false);
  t.join(here, a);
  t.join(here, b);
  EXPECT_EQ(t.admit(there), connection_table::verdict::listener_full);
  b->is_idle = true;
  EXPECT_EQ(t.admit(there), connection_table::verdict::admitted_after_eviction);
  EXPECT_TRUE(b->evicted);
}

TEST(ConnectionTable, AnAddressAtItsCapEvictsOnlyItsOwnConnections) {
  connection_table t{10, 2};
  auto other = fake(100);  // the oldest idle connection, but another address's
  t.join(there, other);
  auto a = fake(5, false), b = fake(4, false);
  t.join(here, a);
  t.join(here, b);
  EXPECT_EQ(t.admit(here), connection_table::verdict::address_full);
  EXPECT_FALSE(other->evicted);
  EXPECT_EQ(t.admit(there), connection_table::verdict::admitted);  // others are not limited
  a->is_idle = true;
  EXPECT_EQ(t.admit(here), connection_table::verdict::admitted_after_eviction);
  EXPECT_TRUE(a->evicted);
  EXPECT_FALSE(other->evicted);
}

// Runs in a child process (death-test style) because it lowers the file limit: once the
// descriptors run out, accepting pauses (one back-off episode, not a spin), and resumes when
// descriptors are free again.
TEST(AcceptLoopDeathTest, RunningOutOfDescriptorsBacksOffOnceAndRecovers) {
  GTEST_FLAG_SET(death_test_style, "fast");  // death tests run first, before any thread
  EXPECT_EXIT(
      {
        asio::io_context io;
        metrics_registry metrics;
        std::vector<asio::ip::tcp::socket> accepted;
        auto loop = std::make_shared<accept_loop>(io, "test", listener_kind::native, metrics,
                                                  [&](asio::ip::tcp::socket s) { accepted.push_back(std::move(s)); });
        auto port = loop->start({"127.0.0.1", 0});
        if (!port) _exit(10);
        // Leave a handful of descriptors free, then connect more clients than that.
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        int probe = dup(0);
        rl.rlim_cur = static_cast<rlim_t>(probe + 16);
        close(probe);
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(11);
        std::vector<int> clients;
        for (int i = 0; i < 12; ++i) {
          const int fd = connect_loopback(*port, 1);
          if (fd >= 0) clients.push_back(fd);
        }
        // Run until accepting has run out and backed off (bounded).
        for (int i = 0; i < 400 && metrics.connection_limited_total(listener_kind::native,
                                                                    connection_limit::accept_backoff) == 0; ++i)
          io.run_for(10ms);
        if (metrics.connection_limited_total(listener_kind::native, connection_limit::accept_backoff) != 1)
          _exit(12);
        if (accepted.empty() || accepted.size() >= clients.size()) _exit(15);
        io.run_for(300ms);  // still out: the same episode, a few retries, no spin
        if (metrics.connection_limited_total(listener_kind::native, connection_limit::accept_backoff) != 1)
          _exit(13);
        accepted.clear();  // descriptors free again: the waiting clients are taken
        for (int i = 0; i < 400 && accepted.empty(); ++i) io.run_for(10ms);
        if (accepted.empty()) _exit(14);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(HttpRequest, TheParserKeepsToTheSizeLimits) {
  const std::string ok = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  auto r = parse_http_request(ok, 1024);
  EXPECT_FALSE(r.error) << r.error.message();
  EXPECT_EQ(r.route, http_route::metrics);
  const std::string big_header = "GET /health HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_http_request(big_header, 1024).error, boost::beast::http::error::header_limit);
  const std::string big_body =
      "GET /health HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b');
  EXPECT_EQ(parse_http_request(big_body, 1024).error, boost::beast::http::error::body_limit);
  EXPECT_EQ(parse_http_request("GET /health HTTP/1.1\r\n", 1024).error, boost::beast::http::error::need_more);
  EXPECT_EQ(parse_http_request("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1024).route,
            http_route::method_not_allowed);
  EXPECT_EQ(parse_http_request("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 1024).route, http_route::metrics);
  EXPECT_EQ(parse_http_request("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 1024).route, http_route::not_found);
}

// The parser takes a chunked body's framing (a chunk-size line with its extensions, the
// trailer section) only once it is whole, so one that never ends would fill any buffer: the
// parse fails as the server's read does once the bytes not taken reach the read buffer's
// bound. Within it, a body of the limit parses in chunks with extensions and a trailer.
TEST(HttpRequest, ChunkedFramingPastTheReadBufferIsAnOverflow) {
  using error = boost::beast::http::error;
  const std::string head = "POST /api/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(read_buffer_limit(1024), 3072u);
  EXPECT_EQ(parse_http_request(head + "1;ext=" + std::string(2000, 'a'), 1024).error, error::need_more);
  EXPECT_EQ(parse_http_request(head + "1;ext=" + std::string(4000, 'a'), 1024).error, error::buffer_overflow);
  EXPECT_EQ(parse_http_request(head + "5\r\nhello\r\n0\r\nX-T: " + std::string(4000, 'a'), 1024).error,
            error::buffer_overflow);
  EXPECT_EQ(parse_http_request(head + std::string(4000, '0'), 1024).error, error::buffer_overflow);
  std::string whole = head;
  for (int i = 0; i < 16; ++i) whole += "40;x=y\r\n" + std::string(64, 'b') + "\r\n";
  whole += "0\r\nX-T: t\r\n\r\n";
  const auto r = parse_http_request(whole, 1024);
  EXPECT_FALSE(r.error) << r.error.message();
}

// RFC 9112 3.2: exactly one Host in HTTP/1.1, none needed in HTTP/1.0. Beast parses either
// without complaint, so this is the server's own check.
TEST(HttpRequest, AnHttp11RequestNeedsExactlyOneHost) {
  auto defect = [](const std::string& request) {
    const auto r = parse_http_request(request, 1024);
    EXPECT_FALSE(r.error) << r.error.message() << ": " << request;
    return std::string(r.defect);
  };
  EXPECT_EQ(defect("GET /api/overview HTTP/1.1\r\nHost: localhost\r\n\r\n"), "");
  EXPECT_EQ(defect("GET /api/overview HTTP/1.1\r\nhost: localhost:8080\r\n\r\n"), "");
  EXPECT_EQ(defect("GET /health HTTP/1.0\r\n\r\n"), "");
  EXPECT_EQ(defect("GET /api/overview HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\n\r\n"),
            "more than one Host header");
  EXPECT_EQ(defect("GET /api/overview HTTP/1.1\r\nHost: localhost\r\nHOST: localhost\r\n\r\n"),
            "more than one Host header");
  EXPECT_EQ(defect("GET /health HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), "more than one Host header");
  EXPECT_EQ(defect("GET /health HTTP/1.1\r\n\r\n"), "an HTTP/1.1 request without a Host header");
  // The transfer codings it checks as before.
  EXPECT_EQ(defect("POST /api/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), "");
  EXPECT_EQ(defect("POST /api/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
            "only the chunked transfer coding is accepted");
  // A Host in a chunked body's trailer section is none (RFC 9110 6.5.1), though Beast adds it
  // to the request's fields: the header is checked as it was before the body.
  EXPECT_EQ(defect("POST /api/topics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: x\r\n\r\n"),
            "an HTTP/1.1 request without a Host header");
  EXPECT_EQ(defect("POST /api/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: y\r\n\r\n"),
            "");
}

TEST(HttpLimits, AnOversizeRequestGets413Or431AndAClose) {
  broker_config cfg;
  cfg.http_max_request_bytes = 1024;
  broker_fixture f{false, cfg};
  const auto port = f.server->http_port();
  EXPECT_EQ(http_exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first, 200);
  EXPECT_EQ(http_exchange(port, "GET /health HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n").first, 431);
  EXPECT_EQ(http_exchange(port, "GET /health HTTP/1.1\r\nContent-Length: 4000\r\n\r\n" + std::string(4000, 'b')).first, 413);
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::http_request_size), 2u);
}

// A crash loop shows in /health's body; the status stays the store's (a node serving
// everything else stays in its load balancer's rotation).
TEST(HttpHealth, ACrashLoopIsListedWithoutChangingTheStatus) {
  broker_fixture f;
  const auto port = f.server->http_port();
  const auto bridge = static_cast<std::size_t>(child_kind::bridge);
  f.metrics().supervised_kind(bridge, "bridge");  // as the supervisor declares it
  const std::string get = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  const auto before = http_exchange(port, get);
  EXPECT_EQ(before.first, 200);
  EXPECT_NE(before.second.find("\"crash_loop\":[]"), std::string::npos) << before.second;
  f.metrics().crash_loops(bridge, 1);
  const auto during = http_exchange(port, get);
  EXPECT_EQ(during.first, 200);
  EXPECT_NE(during.second.find("\"status\":\"ok\""), std::string::npos) << during.second;
  EXPECT_NE(during.second.find("\"crash_loop\":[\"bridge\"]"), std::string::npos) << during.second;
}

// The whole answer to `request` on a fresh connection, status line and headers included
// (http_exchange keeps only the body).
std::string whole_http_answer(std::uint16_t port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string answer;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

// Refusals outside the API (a path the port does not have, a method a probe does not take, a
// request too large) are JSON {"error": ...} labelled so, as the API's are: a script reads
// every refusal of this port the same way. A 405 names the methods allowed.
TEST(HttpLimits, RefusalsOutsideTheApiAreJsonWithTheirHeaders) {
  broker_config cfg;
  cfg.http_max_request_bytes = 1024;
  broker_fixture f{false, cfg};
  const auto port = f.server->http_port();
  struct refusal {
    std::string request;
    std::string status;
    std::string header;  ///< a header line the answer must have, or empty
  };
  const std::string host_close = "Host: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [request, status, header] : std::vector<refusal>{
           {"POST /health HTTP/1.1\r\n" + host_close + "Content-Length: 0\r\n\r\n", "405", "Allow: GET, HEAD"},
           {"DELETE /metrics HTTP/1.1\r\n" + host_close + "\r\n", "405", "Allow: GET, HEAD"},
           {"GET /nothing HTTP/1.1\r\n" + host_close + "\r\n", "404", ""},
           {"GET /console/missing.js HTTP/1.1\r\n" + host_close + "\r\n", "404", ""},
           {"GET /health HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n", "431", ""},
           {"GET /health HTTP/1.1\r\nContent-Length: 4000\r\n\r\n" + std::string(4000, 'b'), "413", ""}}) {
    const auto what = request.substr(0, request.find('\r'));
    const auto answer = whole_http_answer(port, request);
    const auto split = answer.find("\r\n\r\n");
    ASSERT_NE(split, std::string::npos) << what << ": " << answer;
    const auto head = answer.substr(0, split + 2);
    EXPECT_EQ(head.rfind("HTTP/1.1 " + status + " ", 0), 0u) << what << ": " << head;
    EXPECT_NE(head.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << what << ": " << head;
    if (!header.empty()) {
      EXPECT_NE(head.find("\r\n" + header + "\r\n"), std::string::npos) << what << ": " << head;
    }
    const auto body = nlohmann::json::parse(answer.substr(split + 4), nullptr, false);
    ASSERT_TRUE(body.is_object()) << what << ": " << answer;
    EXPECT_TRUE(body.contains("error") && body["error"].is_string()) << what << ": " << answer;
  }
}

// RFC 9112 3.2 at the server, on every route: two Host headers are refused rather than the
// first checked (a proxy in front may have gone by the other), and so is an HTTP/1.1 request
// without one; HTTP/1.0 may go without, and one Host is checked as ever.
TEST(HttpLimits, AnHttp11RequestWithoutExactlyOneHostIs400) {
  broker_fixture f;
  const auto port = f.server->http_port();
  // "HTTP/1.x NNN" of the answer.
  auto status = [&](const std::string& request) { return whole_http_answer(port, request).substr(0, 12); };
  const std::string close = "Connection: close\r\n\r\n";
  EXPECT_EQ(status("GET /topics HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\n" + close), "HTTP/1.1 400");
  EXPECT_EQ(status("GET /topics HTTP/1.1\r\nHost: evil.com\r\nHost: localhost\r\n" + close), "HTTP/1.1 400");
  EXPECT_EQ(status("GET /health HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n" + close), "HTTP/1.1 400");
  EXPECT_EQ(status("GET /topics HTTP/1.1\r\n" + close), "HTTP/1.1 400");
  EXPECT_EQ(status("GET /health HTTP/1.1\r\n" + close), "HTTP/1.1 400");
  EXPECT_EQ(status("GET /topics HTTP/1.0\r\n\r\n"), "HTTP/1.0 200");
  EXPECT_EQ(status("GET /health HTTP/1.0\r\n\r\n"), "HTTP/1.0 200");
  EXPECT_EQ(status("GET /topics HTTP/1.1\r\nHost: localhost\r\n" + close), "HTTP/1.1 200");
  EXPECT_EQ(status("GET /topics HTTP/1.1\r\nHost: evil.com\r\n" + close), "HTTP/1.1 403");
  const auto answer = whole_http_answer(port, "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + close);
  EXPECT_NE(answer.find("{\"error\":\"more than one Host header\"}"), std::string::npos) << answer;
}

// A chunked body's framing that never ends (a chunk extension, a trailer field, a chunk-size
// line of zeros) fills the connection's read buffer, bounded at twice the limit and 1 KiB:
// 413 and a close, not the Host check's 403 (which waits for the body), where the broker
// used to hold whatever the client sent (300 MiB in 6 s). It serves on.
TEST(HttpLimits, ChunkedFramingThatNeverEndsIs413AndAClose) {
  broker_config cfg;
  cfg.http_max_request_bytes = 1024;
  broker_fixture f{false, cfg};
  const auto port = f.server->http_port();
  const std::string head = "POST /api/topics HTTP/1.1\r\nHost: rebound.example\r\n"
                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  // Past the 3 KiB the buffer holds, and within what the sockets take before the broker reads.
  const std::string endless(16 * 1024, 'a');
  for (const auto& [what, framing] : std::vector<std::pair<std::string, std::string>>{
           {"a chunk extension", "1;ext=" + endless},
           {"a trailer field", "5\r\nhello\r\n0\r\nX-Trailer: " + endless},
           {"a chunk-size line", std::string(endless.size(), '0')}}) {
    const auto answer = whole_http_answer(port, head + framing);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 413") << what << ": " << answer.substr(0, 300);
    EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos) << what << ": " << answer.substr(0, 300);
  }
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::http_request_size), 3u);
  EXPECT_EQ(http_exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").first, 200);
}

// The bound leaves room for every request within the limits, and is where it is said to be.
// A header one byte under the limit with a body of the limit behind it, in one piece or in
// chunks with extensions, all sent at once, is served. The parser takes the header, and then
// each chunk, off the read buffer as soon as it is whole, so the header never shares the
// buffer with the trailer section, which it takes only whole (from the CRLF ending the last
// chunk's data): in a request that is served, that is what comes near the bound. A trailer
// section that fills the buffer but for a few bytes is served; a few bytes more are 413.
TEST(HttpLimits, ARequestWithinTheLimitsIsServedWhateverItsFraming) {
  broker_config cfg;
  cfg.http_max_request_bytes = 1024;
  broker_fixture f{false, cfg};
  const auto port = f.server->http_port();
  // 1023 bytes, the blank line included.
  auto header = [](const std::string& framing) {
    std::string h = "POST /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\n" + framing;
    return h + "X-Pad: " + std::string(1023 - h.size() - 11, 'p') + "\r\n\r\n";
  };
  // {"name": ...} padded with spaces (JSON allows them) to 1024 bytes.
  auto body = [](const std::string& name) {
    std::string b = R"({"name":")" + name + R"("})";
    return b + std::string(1024 - b.size(), ' ');
  };
  const auto whole = header("Content-Length: 1024\r\n");
  ASSERT_EQ(whole.size(), 1023u);
  EXPECT_EQ(whole_http_answer(port, whole + body("whole")).substr(0, 12), "HTTP/1.1 201");
  // In chunks of 64 bytes with an extension each; `tail`: the bytes from the CRLF that ends
  // the last chunk's data to the blank line that ends the trailer section.
  auto in_chunks = [&](const std::string& name, std::size_t tail) {
    std::string request = header("Transfer-Encoding: chunked\r\n");
    const auto data = body(name);
    for (std::size_t at = 0; at < data.size(); at += 64)
      request += "40;part=" + std::to_string(at / 64) + "\r\n" + data.substr(at, 64) + "\r\n";
    // 2 bytes of CRLF above, "0\r\n", "X-Trailer: ", the value, its CRLF and the blank line.
    return request + "0\r\nX-Trailer: " + std::string(tail - 20, 't') + "\r\n\r\n";
  };
  const auto bound = read_buffer_limit(1024);
  const auto served = whole_http_answer(port, in_chunks("in-chunks", bound - 16));
  EXPECT_EQ(served.substr(0, 12), "HTTP/1.1 201") << served.substr(0, 300);
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::http_request_size), 0u);
  const auto past = whole_http_answer(port, in_chunks("past-the-bound", bound + 16));
  EXPECT_EQ(past.substr(0, 12), "HTTP/1.1 413") << past.substr(0, 300);
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::http_request_size), 1u);
}

bool send_all(int fd, const std::string& bytes) {
  return send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// Reads from `fd` up to and including the first blank line (an answer's header), or what
// came before the broker closed or the receive timeout passed.
std::string read_header(int fd) {
  std::string got;
  char c = 0;
  while (!got.ends_with("\r\n\r\n") && recv(fd, &c, 1, 0) == 1) got += c;
  return got;
}

// Reads from `fd` until the broker closes it (true) or the receive timeout passes (false).
std::pair<std::string, bool> read_to_close(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    const auto n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return {got, true};
    if (n < 0) return {got, false};
    got.append(buf, static_cast<std::size_t>(n));
  }
}

// RFC 9110 10.1.1: a client that expects 100-continue is told to go on once its header has
// passed what the header alone decides (framing, Host, credentials), and waits for that
// before it sends the body (curl for a second); one refused gets the final status at once,
// its body unread, and a close. A request with no body to come, or from an HTTP/1.0 client
// (which may not ask), is answered as ever.
TEST(HttpContinue, AClientExpecting100ContinueIsToldToGoOnOrRefusedAtOnce) {
  broker_fixture f;
  const auto port = f.server->http_port();
  auto post = [](const std::string& version, const std::string& host, const std::string& body) {
    return "POST /api/topics HTTP/" + version + "\r\nHost: " + host +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
  };

  const std::string body = R"({"name":"continued"})";
  int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, post("1.1", "127.0.0.1", body)));
  const auto interim = read_header(fd);  // the body is not sent until it comes
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  ASSERT_TRUE(send_all(fd, body));
  auto [created, closed] = read_to_close(fd);
  close(fd);
  EXPECT_EQ(created.rfind("HTTP/1.1 201 ", 0), 0u) << created;
  EXPECT_TRUE(closed);

  fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, post("1.1", "rebound.example", R"({"name":"refused"})")));
  auto [refused, refused_closed] = read_to_close(fd);  // the body never sent
  close(fd);
  EXPECT_EQ(refused.rfind("HTTP/1.1 403 ", 0), 0u) << refused;
  EXPECT_EQ(refused.find("100 Continue"), std::string::npos) << refused;
  EXPECT_TRUE(refused_closed) << refused;

  const std::string old_body = R"({"name":"continued-old"})";
  const auto old = whole_http_answer(port, post("1.0", "127.0.0.1", old_body) + old_body);
  EXPECT_EQ(old.rfind("HTTP/1.0 201 ", 0), 0u) << old;
  const auto no_body = whole_http_answer(
      port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(no_body.rfind("HTTP/1.1 200 ", 0), 0u) << no_body;
}

// A client expecting 100-continue on a keep-alive connection: once its request is answered,
// the connection serves the next one (the answer to a request admitted before its body does
// not close).
TEST(HttpContinue, AContinuedRequestKeepsItsConnectionForTheNext) {
  broker_fixture f;
  const auto port = f.server->http_port();
  const std::string body = R"({"name":"continued-kept"})";
  const int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "POST /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
  const auto interim = read_header(fd);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  ASSERT_TRUE(send_all(fd, body));
  const auto created = read_header(fd);
  EXPECT_EQ(created.rfind("HTTP/1.1 201 ", 0), 0u) << created;
  EXPECT_EQ(created.find("\r\nConnection: close\r\n"), std::string::npos) << created;
  ASSERT_TRUE(send_all(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  // The rest of the 201 (its body), then the answer to the second request.
  auto [rest, closed] = read_to_close(fd);
  close(fd);
  const auto second = rest.find("HTTP/1.1 ");
  ASSERT_NE(second, std::string::npos) << rest;
  EXPECT_EQ(rest.substr(second, 13), "HTTP/1.1 200 ") << rest;
  EXPECT_NE(rest.find("\"status\":\"ok\"", second), std::string::npos) << rest;
  EXPECT_TRUE(closed);
}

// Requests are read header first, then body, from a buffer kept for the connection: a request
// sent in the same write as another's body is read from what that read left over, and
// answered after it on the same connection.
TEST(HttpKeepAlive, ARequestPipelinedBehindABodyIsAnsweredNext) {
  broker_fixture f;
  const auto port = f.server->http_port();
  const std::string body = R"({"name":"pipelined"})";
  const auto answers = whole_http_answer(
      port, "POST /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body +
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answers.rfind("HTTP/1.1 201 ", 0), 0u) << answers;
  const auto second = answers.find("HTTP/1.1 ", 1);
  ASSERT_NE(second, std::string::npos) << answers;
  EXPECT_EQ(answers.substr(second, 13), "HTTP/1.1 200 ") << answers;
  EXPECT_NE(answers.find("\"status\":\"ok\"", second), std::string::npos) << answers;
}

// RFC 9110 6.5.1: the fields of a chunked body's trailer section are not header fields, though
// Beast adds them to the request's fields as it reads the body. What the header decides is
// decided before: credentials, or the one Host, sent only in the trailer count for nothing
// (401; 400, as no Host is), where the same credentials in the header are admitted.
TEST(HttpLimits, TrailerFieldsCountInNeitherTheCredentialsNorTheHostCheck) {
  broker_config cfg;
  cfg.security.authorization = true;
  cfg.security.admin_user = "admin";  // a super user, created at start in the memory store
  cfg.security.admin_password = "admin-pw";
  broker_fixture f{false, cfg};
  const auto port = f.server->http_port();
  const std::string host = "Host: 127.0.0.1\r\n";
  const std::string admin = "Authorization: Basic " + protocol::base64_encode("admin:admin-pw") + "\r\n";
  // POST /api/topics creating `name`, its body one chunk of 32 bytes, then `trailer`.
  auto create = [](const std::string& header_fields, const std::string& name, const std::string& trailer) {
    std::string json = R"({"name":")" + name + R"("})";
    json += std::string(32 - json.size(), ' ');
    return "POST /api/topics HTTP/1.1\r\n" + header_fields +
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "20\r\n" + json + "\r\n0\r\n" + trailer + "\r\n";
  };
  const auto admitted = whole_http_answer(port, create(host + admin, "trailer-admitted", ""));
  EXPECT_EQ(admitted.rfind("HTTP/1.1 201 ", 0), 0u) << admitted;
  const auto unauthenticated = whole_http_answer(port, create(host, "trailer-credentials", admin));
  EXPECT_EQ(unauthenticated.rfind("HTTP/1.1 401 ", 0), 0u) << unauthenticated;
  const auto hostless = whole_http_answer(port, create(admin, "trailer-host", host));
  EXPECT_EQ(hostless.rfind("HTTP/1.1 400 ", 0), 0u) << hostless;
  EXPECT_NE(hostless.find("an HTTP/1.1 request without a Host header"), std::string::npos) << hostless;
}

bool closed_within(int fd, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const auto n = recv(fd, &c, 1, 0);
    if (n <= 0) return true;
  }
  return false;
}

// A connection with nothing to do is closed after the idle timeout; one holding a
// subscription is waiting for the broker and is left alone.
TEST(IdleTimeout, IdleConnectionsCloseButSubscribersStay) {
  broker_config cfg;
  cfg.connections_max_idle_ms = 3000;  // the subscriber must subscribe before it, however slow
  broker_fixture f{false, cfg};
  auto subscriber = f.connect();
  must(subscriber.create_topic("quiet", 1));
  must(subscriber.subscribe("quiet", 0, -1, 1024));
  const int idle = connect_loopback(f.server->native_port());
  ASSERT_GE(idle, 0);
  EXPECT_TRUE(closed_within(idle, 30s));
  close(idle);
  // The subscriber was idle on the wire for longer than the one just closed.
  EXPECT_GT(must(subscriber.heartbeat()), 0);
  EXPECT_GE(f.metrics().connection_limited_total(listener_kind::native, connection_limit::idle_timeout), 1u);
}

// Twelve subscriptions with unlimited credit share one connection whose output cap (1 MiB) is
// far smaller than what they have to push (24 MiB): pushes pause and resume with the
// client's reading, and a client that reads gets everything (no subscription stalls).
TEST(OutputBudget, ManySubscriptionsOnOneConnectionAllDeliverWithinASmallCap) {
  broker_config cfg;
  cfg.max_queued_output_bytes_per_connection = 1 << 20;
  broker_fixture f{false, cfg};
  auto producer = f.connect();
  protocol::message_batch b;
  for (int i = 0; i < 8; ++i) {
    b.messages.push_back({});
    b.messages.back().value = std::string(64 * 1024, static_cast<char>('a' + i));
  }
  constexpr int topics = 12, batches = 4;
  for (int t = 0; t < topics; ++t) {
    must(producer.create_topic("many-" + std::to_string(t), 1));
    for (int i = 0; i < batches; ++i) must(producer.publish("many-" + std::to_string(t), 0, b));
  }
  auto consumer = f.connect();
  for (int t = 0; t < topics; ++t) must(consumer.subscribe("many-" + std::to_string(t), 0, 0, 0xFFFFFFFFu));
  std::size_t received = 0;
  while (received < topics * batches * b.messages.size()) {
    auto d = must(consumer.next_delivery(10s));
    if (!d) break;
    received += d->data.messages.size();
  }
  EXPECT_EQ(received, topics * batches * b.messages.size());
}

msg::MetadataRequest metadata_for(const std::vector<std::string>& names) {
  msg::MetadataRequest req;
  req.topics.emplace();
  for (const auto& n : names) {
    msg::MetadataRequest::MetadataRequestTopic t;
    t.name = n;
    req.topics->push_back(t);
  }
  req.allowAutoTopicCreation = true;
  return req;
}

TEST(AutoCreateLimits, CappedPerRequestAndPerMinute) {
  broker_config cfg;
  cfg.auto_create_topics_max_per_request = 3;
  cfg.auto_create_topics_max_per_minute = 4;
  broker_fixture f{false, cfg};
  raw_kafka k{f.server->kafka_port()};
  auto first = call<msg::MetadataResponse>(
      k, 3, 9, metadata_for({"ac-1", "ac-2", "ac-3", "ac-4", "ac-5"}), true);
  ASSERT_EQ(first.topics.size(), 5u);
  int created = 0, refused = 0;
  for (const auto& t : first.topics) {
    if (t.errorCode == 0) ++created;
    if (t.errorCode == 3) ++refused;  // UNKNOWN_TOPIC_OR_PARTITION
  }
  EXPECT_EQ(created, 3);
  EXPECT_EQ(refused, 2);
  // One more fits the minute's 4; the next does not. Known topics are unaffected.
  auto second = call<msg::MetadataResponse>(k, 3, 9, metadata_for({"ac-6", "ac-7", "ac-1"}), true);
  ASSERT_EQ(second.topics.size(), 3u);
  EXPECT_EQ(second.topics[0].errorCode, 0);
  EXPECT_EQ(second.topics[1].errorCode, 3);
  EXPECT_EQ(second.topics[2].errorCode, 0);
  EXPECT_EQ(f.metrics().request_limited_total(request_limit::auto_create_topics), 3u);
}

}  // namespace
}  // namespace portask::test
