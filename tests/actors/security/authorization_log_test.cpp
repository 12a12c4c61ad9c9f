// Denied authorizations on the portask.authorizer logger, as authorization_cache logs them:
// a denial that refuses the client is one info line naming the principal, the operation, the
// client's host and the resource, at most once a second per principal and resource however
// often the client repeats it (the pairs share 16 limits, so a line's count of denials held
// back may be of other principals too); a quiet denial (a filter, a broad check tried first) is a debug
// line only; an allowed check logs nothing; client text cannot forge lines.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/security/access_control.hpp"
#include "log_capture.hpp"
#include "logging/loggers.hpp"

using namespace portask;
using namespace std::chrono_literals;
namespace sec = portask::protocol::security;

namespace {

// Authorization on, alice may READ topic orders, nothing else is allowed.
struct acls {
  acls() {
    auto s = std::make_shared<security_snapshot>();
    s->loaded = true;
    s->acls = sec::authorizer({{sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:alice", "*",
                                sec::acl_operation::read, sec::acl_permission::allow}},
                              {}, false);
    access.publish(std::move(s));
  }
  static security_config config() {
    security_config c;
    c.authorization = true;
    return c;
  }
  access_control access{config()};
  authorization_cache cache{access};
  const sec::client_host host{"127.0.0.1"};
};

// Denies with `deny` until `line` is logged. Denials share a few limiters by hash, so one
// logged by an earlier test in this process less than a second ago may hold this one back
// until its second is over; false if it is not logged within 10 s.
bool denied_until_logged(const portask::testing::log_capture& log, const std::string& line, const std::function<bool()>& deny) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (log.lines_with(line).empty()) {
    if (!deny()) return false;  // allowed: no denial to log
    if (std::chrono::steady_clock::now() > give_up) return false;
  }
  return true;
}

}  // namespace

TEST(AuthorizationLog, ADenialIsOneInfoLineNamingPrincipalOperationHostAndResource) {
  portask::testing::log_capture log(logging::authorizer(), spdlog::level::info);
  acls a;
  const std::string line =
      "Principal = User:bob is Denied operation = READ from host = 127.0.0.1 on resource = TOPIC:LITERAL:orders";
  const auto start = std::chrono::steady_clock::now();
  auto deny = [&] {
    return !a.cache.allowed("User:bob", a.host, sec::acl_operation::read, sec::resource_type::topic, "orders");
  };
  ASSERT_TRUE(denied_until_logged(log, line, deny));
  auto lines = log.lines_with(line);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("[portask.authorizer] [info]"), std::string::npos) << lines[0];

  // A client repeating the refused request: at most one line a second, the next one saying
  // how many denials its limit held back (of any principal or resource sharing it).
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(deny());
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  lines = log.lines_with("User:bob");
  EXPECT_LE(lines.size(), static_cast<std::size_t>(seconds.count()) + 1) << lines.size() << " lines";
  for (std::size_t i = 1; i < lines.size(); ++i)
    EXPECT_NE(lines[i].find("more denials, of any principal or resource, held back by the once-a-second limit)"),
              std::string::npos)
        << lines[i];

  // An allowed check logs nothing.
  EXPECT_TRUE(a.cache.allowed("User:alice", a.host, sec::acl_operation::read, sec::resource_type::topic, "orders"));
  EXPECT_TRUE(log.lines_with("User:alice").empty());
}

// Kafka's logIfDenied = false: a filter (Metadata for all topics leaving out what the client
// may not DESCRIBE) refuses nothing, and is logged at debug only, every time.
TEST(AuthorizationLog, AQuietDenialIsADebugLineOnly) {
  portask::testing::log_capture log(logging::authorizer(), spdlog::level::info);
  acls a;
  auto quiet = [&] {
    return a.cache.allowed("User:carol", a.host, sec::acl_operation::describe, sec::resource_type::topic, "hidden",
                           denial_log::quiet);
  };
  EXPECT_FALSE(quiet());
  EXPECT_TRUE(log.lines_with("User:carol").empty());

  log.set_level(spdlog::level::debug);
  EXPECT_FALSE(quiet());
  EXPECT_FALSE(quiet());
  const auto lines = log.lines_with(
      "Principal = User:carol is Denied operation = DESCRIBE from host = 127.0.0.1 on resource = TOPIC:LITERAL:hidden");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("[debug]"), std::string::npos) << lines[0];
}

// InitProducerId's WRITE on some topic, logged because its denial refuses the request (Portask's
// choice: Kafka's authorizeByResourceType logs no denial), and names the client chose shown
// printable, so that a newline in them cannot start a forged line.
TEST(AuthorizationLog, ADenialOfSomeResourceOfATypeIsLoggedAndClientTextIsPrintable) {
  portask::testing::log_capture log(logging::authorizer(), spdlog::level::info);
  acls a;
  ASSERT_TRUE(denied_until_logged(
      log, "Principal = User:dave is Denied operation = WRITE from host = 127.0.0.1 on resource = any TOPIC", [&] {
        return !a.cache.allowed_on_some("User:dave", a.host, sec::acl_operation::write, sec::resource_type::topic);
      }));
  ASSERT_TRUE(denied_until_logged(
      log, "Principal = User:eve is Denied operation = READ from host = 127.0.0.1 on resource = GROUP:LITERAL:g?[info] forged",
      [&] {
        return !a.cache.allowed("User:eve", a.host, sec::acl_operation::read, sec::resource_type::group,
                                "g\n[info] forged");
      }));
}
