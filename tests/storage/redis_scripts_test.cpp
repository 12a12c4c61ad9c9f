// redis_store calls its Lua scripts by their SHA-1 (EVALSHA), and sends a script's body
// (EVAL, which caches it) only when the server does not have it (NOSCRIPT), without running a
// write twice: against a real redis-server, watched through a raw connection of the test's.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"
#include "redis_server.hpp"
#include "stored_frames.hpp"
#include "storage/redis_store.hpp"

using namespace portask;
using namespace portask::storage;
using namespace std::chrono_literals;
using portask::protocol::buffer;

namespace {

using storage_test::make_frame;

// A raw connection to the test's server: what the store's interface does not show.
struct raw_redis {
  explicit raw_redis(std::uint16_t port) : c(redisConnect("127.0.0.1", port)) {}
  ~raw_redis() {
    if (c != nullptr) redisFree(c);
  }
  raw_redis(const raw_redis&) = delete;
  raw_redis& operator=(const raw_redis&) = delete;
  // The reply's text (a status, a string or an error); empty for another kind or none.
  std::string text(const char* command) {
    auto* r = static_cast<redisReply*>(redisCommand(c, command));
    std::string out;
    if (r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                         r->type == REDIS_REPLY_ERROR))
      out.assign(r->str, r->len);
    if (r != nullptr) freeReplyObject(r);
    return out;
  }
  long long integer(const char* command) {
    auto* r = static_cast<redisReply*>(redisCommand(c, command));
    const long long out = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != nullptr) freeReplyObject(r);
    return out;
  }
  // The number INFO `section` gives after `prefix` at the start of a line; 0 when no line
  // starts so (INFO commandstats leaves out commands never called).
  long long info_number(const char* section, const std::string& prefix) {
    const auto info = text((std::string("INFO ") + section).c_str());
    const auto at = info.find("\n" + prefix);
    if (at == std::string::npos) return 0;
    return std::stoll(info.substr(at + 1 + prefix.size()));
  }
  long long calls(const std::string& command) {
    return info_number("commandstats", "cmdstat_" + command + ":calls=");
  }
  long long cached_scripts() { return info_number("memory", "number_of_cached_scripts:"); }
  // The major version INFO server gives (redis_version:7.2.4 -> 7).
  long long major_version() { return info_number("server", "redis_version:"); }
  redisContext* c;
};

}  // namespace

class RedisScripts : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start());
    auto o = parse_redis_url(server_.url());
    ASSERT_TRUE(o);
    o->timeout = 30s;  // these tests check what the store does, not how fast fsync answers
    store_ = std::make_unique<redis_store>(*o);
    raw_ = std::make_unique<raw_redis>(server_.port());
    ASSERT_NE(raw_->c, nullptr);
    ASSERT_EQ(raw_->c->err, 0);
  }

  // Appends batches of two records at offsets first, first + 2, ... (one transaction, no
  // script), under `fence` when it is not empty (then in one script).
  std::error_code append(std::int64_t first, int batches, const std::string& fence = {}) {
    std::vector<append_request> requests;
    for (int i = 0; i < batches; ++i) {
      const auto base = first + 2 * i;
      frames_[base] = make_frame("v" + std::to_string(base), 2);
      requests.push_back({&tp_, base, 2, 1000, protocol::shared_bytes::copy_of(frames_[base])});
      requests.back().fence = fence;
    }
    std::vector<std::error_code> results;
    store_->append(requests, results);
    for (const auto& ec : results)
      if (ec) return ec;
    return {};
  }

  // Drops every script the server holds, as an operator's SCRIPT FLUSH does.
  void flush_scripts() {
    ASSERT_EQ(raw_->text("SCRIPT FLUSH"), "OK");
    ASSERT_EQ(raw_->cached_scripts(), 0);
  }

  test::redis_server server_;
  std::unique_ptr<redis_store> store_;
  std::unique_ptr<raw_redis> raw_;
  topic_partition tp_{"scripts", 0};
  std::map<std::int64_t, buffer> frames_;
};

TEST_F(RedisScripts, ScriptsAreCalledByTheirDigestOnceTheServerHasThem) {
  // Bounds, a read's two pages, a lease round and a deletion: each script's first call on
  // the fresh server is answered NOSCRIPT and sent by its body, once.
  const std::vector<lease_claim> want{{partition_lease(tp_), lease_intent::want}};
  auto calls = [&](std::int64_t first) {
    ASSERT_FALSE(append(first, 3));
    EXPECT_EQ(store_->bounds(tp_).value().next_offset, first + 6);
    EXPECT_EQ(store_->read(tp_, first, 1 << 20).value().size(), 3u);
    const auto mine = store_->lease_round({1, 0, "t1"}, 60s, want).value().at(0);
    ASSERT_TRUE(mine.held());
    EXPECT_EQ(store_->delete_records(tp_, first + 2, lease_value(mine)).value().log_start, first + 2);
  };
  // Below Redis 7 INFO commandstats names subcommands not apart (no cmdstat_script|load): the
  // check that nothing is loaded could not fail there.
  if (raw_->major_version() < 7) GTEST_SKIP() << "needs Redis 7 or later (cmdstat_script|load)";
  calls(0);
  const auto bodies = raw_->calls("eval");
  EXPECT_GE(bodies, 1) << "the server had none of the scripts";
  EXPECT_EQ(bodies, raw_->cached_scripts()) << "no script's body was sent twice";
  EXPECT_EQ(raw_->calls("script|load"), 0) << "nothing is loaded when the connection opens";
  const auto digests = raw_->calls("evalsha");
  calls(6);
  EXPECT_GE(raw_->calls("evalsha"), digests + 5) << "bounds, a read's two pages, a lease round, a deletion";
  EXPECT_EQ(raw_->calls("eval"), bodies) << "no call sent a script's body again";
}

TEST_F(RedisScripts, AfterTheServerLostTheScriptsAScriptIsSentByItsBodyOnceThenByItsDigest) {
  ASSERT_FALSE(append(0, 2));
  ASSERT_EQ(store_->bounds(tp_).value().next_offset, 4);
  flush_scripts();
  const auto bodies = raw_->calls("eval");
  ASSERT_EQ(store_->bounds(tp_).value().next_offset, 4);
  EXPECT_EQ(raw_->calls("eval"), bodies + 1) << "answered NOSCRIPT, then sent by its body";
  EXPECT_EQ(raw_->cached_scripts(), 1) << "the EVAL cached it";
  // (Whether the EVALSHA answered NOSCRIPT counts as a call depends on the server version.)
  const auto digests = raw_->calls("evalsha");
  ASSERT_EQ(store_->bounds(tp_).value().next_offset, 4);
  EXPECT_EQ(raw_->calls("evalsha"), digests + 1) << "called by its digest again";
  EXPECT_EQ(raw_->calls("eval"), bodies + 1) << "its body not sent again";
}

TEST_F(RedisScripts, OneScriptedCallAfterTheServerLostTheScriptsIsAnsweredAsBefore) {
  ASSERT_FALSE(append(0, 2));
  ASSERT_EQ(store_->bounds(tp_).value().next_offset, 4);  // the server has the script
  flush_scripts();
  auto b = store_->bounds(tp_);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->log_start, 0);
  EXPECT_EQ(b->next_offset, 4);
  EXPECT_GT(raw_->cached_scripts(), 0) << "cached again by the EVAL it was sent again as";
}

// A read's first page is a script and an XRANGE in one pipeline: both reads, so the pipeline
// is sent again whole, the script by its body.
TEST_F(RedisScripts, AReadAfterTheServerLostTheScriptsReturnsTheSameBatches) {
  ASSERT_FALSE(append(0, 5));
  const auto before = store_->read(tp_, 3, 1 << 20);
  ASSERT_TRUE(before);
  flush_scripts();
  auto got = store_->read(tp_, 3, 1 << 20);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), 4u) << "the batch holding offset 3, and the three after it";
  for (std::size_t i = 0; i < got->size(); ++i) {
    const auto base = static_cast<std::int64_t>(2 + 2 * i);
    EXPECT_EQ((*got)[i].base_offset, base);
    EXPECT_EQ((*got)[i].frame.to_buffer(), frames_[base]);
  }
  EXPECT_EQ(*got, *before);
}

// A scripted write answered NOSCRIPT did not run: a single command is sent again at once by
// its body, and it is never carried out twice. A fenced append shows it: run twice, its
// second XADD would be refused as an offset conflict.
TEST_F(RedisScripts, AScriptedWriteAfterTheServerLostTheScriptsIsStoredOnce) {
  const std::vector<lease_claim> want{{partition_lease(tp_), lease_intent::want},
                                      {group_lease("g"), lease_intent::want}};
  const auto held = store_->lease_round({1, 0, "t1"}, 60s, want).value();
  ASSERT_TRUE(held.at(0).held());
  ASSERT_TRUE(held.at(1).held());
  const auto partition_fence = lease_value(held[0]);
  const auto group_fence = lease_value(held[1]);

  flush_scripts();
  auto bodies = raw_->calls("eval");
  const auto appended = append(0, 2, partition_fence);
  ASSERT_FALSE(appended) << appended.message() << " (offset conflict: the append ran twice)";
  EXPECT_EQ(raw_->calls("eval"), bodies + 1) << "sent again once, by its body";
  auto stored = store_->read(tp_, 0, 1 << 20);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].frame.to_buffer(), frames_[0]);
  EXPECT_EQ((*stored)[1].frame.to_buffer(), frames_[2]);

  flush_scripts();
  bodies = raw_->calls("eval");
  const group_offset offsets[] = {{tp_, {3, "m"}}};
  const auto committed = store_->commit_offsets("g", offsets, group_fence);
  ASSERT_FALSE(committed) << committed.message();
  EXPECT_EQ(raw_->calls("eval"), bodies + 1) << "sent again once, by its body";
  EXPECT_EQ(store_->fetch_offsets("g").value(), std::vector<group_offset>(offsets, offsets + 1));

  flush_scripts();
  bodies = raw_->calls("eval");
  const auto deleted = store_->delete_records(tp_, 2, partition_fence);
  ASSERT_TRUE(deleted) << deleted.error().message();
  // The deletion's script and then the bounds' (the new bounds are read after it).
  EXPECT_EQ(raw_->calls("eval"), bodies + 2) << "each sent again once, by its body";
  EXPECT_EQ(deleted->log_start, 2);
  EXPECT_EQ(deleted->next_offset, 4);
  EXPECT_EQ(store_->read(tp_, 0, 1 << 20).value().size(), 1u);
}
