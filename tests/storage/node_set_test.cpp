// The RESP store's set of node ids (<prefix>:nodes), whose registrations every lease round
// reads: an id leaves it with its registration, so that the set does not grow with every id
// ever used. Against a real redis-server started for the test.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "storage/redis_store.hpp"

using namespace portask;
using namespace portask::storage;

namespace {

// An integer command over a raw connection: what the store's interface does not show.
long long raw_integer(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  const long long out = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  if (r != nullptr) freeReplyObject(r);
  return out;
}

struct raw_connection {
  explicit raw_connection(std::uint16_t port) : c(redisConnect("127.0.0.1", port)) {}
  ~raw_connection() { redisFree(c); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  redisContext* c;
};

}  // namespace

TEST(RedisNodeSet, AnIdLeavesTheSetWhenItsNodeDeregistersOrItsRegistrationRunsOut) {
  using namespace std::chrono_literals;
  test::redis_server server;
  ASSERT_TRUE(server.start());
  auto o = parse_redis_url(server.url()).value();
  o.timeout = std::chrono::seconds(30);
  redis_store s{o};
  raw_connection raw{server.port()};
  ASSERT_NE(raw.c, nullptr);
  ASSERT_EQ(raw.c->err, 0);
  const std::string set = o.key_prefix + ":nodes";
  const node_registration one{1, "run-a", "x"}, two{2, "run-b", "y"}, three{3, "run-c", "z"};
  for (const auto& n : {one, two, three}) ASSERT_TRUE(s.register_node(n, 60s).value()) << n.node;
  ASSERT_EQ(raw_integer(raw.c, {"SCARD", set}), 3);

  // A node that stops on purpose takes its id out; another run of an id removes nothing.
  ASSERT_FALSE(s.deregister_node(one));
  EXPECT_EQ(raw_integer(raw.c, {"SISMEMBER", set, "1"}), 0);
  ASSERT_FALSE(s.deregister_node({2, "another-run", "y"}));
  EXPECT_EQ(raw_integer(raw.c, {"SISMEMBER", set, "2"}), 1);

  // A registration that ran out (its key gone, as its time to live removes it) is forgotten
  // by the next reader of the live nodes.
  ASSERT_EQ(raw_integer(raw.c, {"DEL", s.node_key(3)}), 1);
  auto live = s.live_nodes();
  ASSERT_TRUE(live) << live.error().message();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->front(), two);
  EXPECT_EQ(raw_integer(raw.c, {"SISMEMBER", set, "3"}), 0);
  EXPECT_EQ(raw_integer(raw.c, {"SCARD", set}), 1);

  // Registering again brings the id back.
  ASSERT_TRUE(s.register_node(three, 60s).value());
  EXPECT_EQ(raw_integer(raw.c, {"SISMEMBER", set, "3"}), 1);
  live = s.live_nodes();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->size(), 2u);
}
