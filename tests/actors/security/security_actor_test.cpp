// The security actor on a real store: each change is stored, then published as a new
// snapshot; a successor started on the same store reads everything back (what a restart by
// the supervisor relies on); the admin user is created once and never overwritten.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "actors/runtime/broker_context.hpp"
#include "actors/security/sasl_session.hpp"
#include "actors/security/security_actor.hpp"
#include "storage/memory_store.hpp"

using namespace portask;
using namespace std::chrono_literals;
namespace sec = portask::protocol::security;

namespace {

struct fixture {
  fixture() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  // A node's context on the shared store: nothing loaded until its security actor runs.
  std::shared_ptr<broker_context> context(security_config sc = {}, std::int32_t node_id = -1) {
    broker_config c;
    c.cluster.node_id = node_id;
    c.cluster.renew_ms = 100;
    c.security = std::move(sc);
    c.security.authorization = true;
    return std::make_shared<broker_context>(c, store, "memory");
  }
  template <class T, class... Ts>
  T ask(const security_actor& a, Ts&&... xs) {
    caf::scoped_actor self{*sys};
    T out{};
    self->request(a, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& v) { out = std::move(v); }, [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
    return out;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  storage::store_factory store = storage::memory_store::factory();
};

}  // namespace

TEST(SecurityActor, ChangesAreStoredPublishedAndReadBackBySuccessor) {
  fixture f;
  auto ctx = f.context();
  auto actor = spawn_security(*f.sys, ctx);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  const auto v0 = ctx->access.version();
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, storage::user_credential{"alice", cred}));
  EXPECT_GT(ctx->access.version(), v0);
  ASSERT_NE(ctx->access.snapshot()->credential("alice", sec::scram_mechanism::sha256), nullptr);
  EXPECT_TRUE(ctx->access.snapshot()->password_matches("alice", "pw"));

  std::vector<sec::acl_binding> bindings{
      {sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:alice", "*", sec::acl_operation::read,
       sec::acl_permission::allow},
      {sec::resource_type::group, "g", sec::pattern_type::prefixed, "User:alice", "*", sec::acl_operation::read,
       sec::acl_permission::allow}};
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, bindings));
  authorization_cache acl{ctx->access};
  EXPECT_TRUE(acl.allowed("User:alice", "h", sec::acl_operation::read, sec::resource_type::topic, "orders"));
  EXPECT_TRUE(acl.allowed("User:alice", "h", sec::acl_operation::read, sec::resource_type::group, "g1"));
  EXPECT_FALSE(acl.allowed("User:alice", "h", sec::acl_operation::write, sec::resource_type::topic, "orders"));

  // A successor on the same store (a restart, or another node) starts from what is stored.
  auto ctx2 = f.context();
  EXPECT_FALSE(ctx2->access.snapshot()->loaded);
  auto successor = spawn_security(*f.sys, ctx2);
  sec::acl_filter groups_only;
  groups_only.resource = sec::resource_type::group;
  auto deleted = f.ask<std::vector<sec::acl_binding>>(successor, delete_atom::value,
                                                      std::vector<sec::acl_filter>{groups_only});
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0], bindings[1]);
  auto snap = ctx2->access.snapshot();
  EXPECT_TRUE(snap->loaded);
  EXPECT_TRUE(snap->password_matches("alice", "pw"));
  ASSERT_EQ(snap->acls.bindings().size(), 1u);
  EXPECT_EQ(snap->acls.bindings()[0], bindings[0]);
  // Deleting a credential: gone from the snapshot; deleting it again says there was none.
  EXPECT_TRUE(f.ask<bool>(successor, delete_atom::value, std::string("alice"), sec::scram_mechanism::sha256));
  EXPECT_FALSE(ctx2->access.snapshot()->password_matches("alice", "pw"));
  EXPECT_FALSE(f.ask<bool>(successor, delete_atom::value, std::string("alice"), sec::scram_mechanism::sha256));
  // An invalid binding is refused whole; nothing changes.
  auto bad = bindings;
  bad[1].pattern = sec::pattern_type::match;
  caf::scoped_actor self{*f.sys};
  bool refused = false;
  self->request(successor, 10s, create_atom::value, bad)
      .receive([](bool) {}, [&](caf::error& e) { refused = to_errc(e) == errc::invalid_request; });
  EXPECT_TRUE(refused);
  EXPECT_EQ(ctx2->access.snapshot()->acls.bindings().size(), 1u);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(successor, caf::exit_reason::user_shutdown);
}

TEST(SecurityActor, TheAdminUserIsCreatedOnceAndIsASuperUser) {
  fixture f;
  security_config sc;
  sc.admin_user = "root";
  sc.admin_password = "first";
  auto ctx = f.context(sc);
  auto loaded = load_security(**f.store(), ctx->config.security, ctx->access);
  ASSERT_TRUE(loaded);
  EXPECT_TRUE((*loaded)->password_matches("root", "first"));
  EXPECT_NE((*loaded)->credential("root", sec::scram_mechanism::sha512), nullptr);
  EXPECT_TRUE((*loaded)->acls.is_super_user("User:root"));
  // Started again with another password: the stored credential stands (it may have been
  // changed through AlterUserScramCredentials since).
  sc.admin_password = "second";
  auto again = load_security(**f.store(), sc, ctx->access);
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)->password_matches("root", "first"));
  EXPECT_FALSE((*again)->password_matches("root", "second"));
}

// In a cluster every node serves its own snapshot: a user or ACL changed through one node
// reaches the others at their next refresh, and a deletion matches what the store holds.
TEST(SecurityActor, ChangesThroughOneClusterNodeReachTheOthers) {
  fixture f;
  auto one = f.context({}, 1);
  auto two = f.context({}, 2);
  auto first = spawn_security(*f.sys, one);
  auto second = spawn_security(*f.sys, two);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  EXPECT_TRUE(f.ask<bool>(first, create_atom::value, storage::user_credential{"bob", cred}));
  auto reaches = [&](auto condition) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!condition() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
    return condition();
  };
  EXPECT_TRUE(reaches([&] { return two->access.snapshot()->password_matches("bob", "pw"); }));
  // An ACL made through the first node is deleted through the second at once, as the store
  // holds it, even before the second has read it.
  std::vector<sec::acl_binding> deny{{sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:bob",
                                      "*", sec::acl_operation::write, sec::acl_permission::deny}};
  EXPECT_TRUE(f.ask<bool>(first, create_atom::value, deny));
  sec::acl_filter all_of_bob;
  all_of_bob.principal = "User:bob";
  auto deleted = f.ask<std::vector<sec::acl_binding>>(second, delete_atom::value, std::vector<sec::acl_filter>{all_of_bob});
  EXPECT_EQ(deleted, deny);
  EXPECT_TRUE(reaches([&] { return one->access.snapshot()->acls.bindings().empty(); }));
  // A credential deleted through the second node stops working on the first.
  EXPECT_TRUE(f.ask<bool>(second, delete_atom::value, std::string{"bob"}, sec::scram_mechanism::sha256));
  EXPECT_TRUE(reaches([&] { return !one->access.snapshot()->password_matches("bob", "pw"); }));
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
}

// KIP-368: a re-authentication keeps the session's mechanism (no downgrade to PLAIN).
TEST(SaslSession, AReauthenticationWithAnotherMechanismFails) {
  fixture f;
  auto ctx = f.context();
  auto actor = spawn_security(*f.sys, ctx);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, storage::user_credential{"carol", cred}));
  sasl_session session{ctx->access, {"PLAIN", "SCRAM-SHA-256"}, "127.0.0.1"};
  const std::string token("\0carol\0pw", 9);
  ASSERT_TRUE(session.start("PLAIN"));
  ASSERT_EQ(session.respond(token).result, sasl_session::step::outcome::authenticated);
  ASSERT_TRUE(session.start("PLAIN"));
  EXPECT_EQ(session.respond(token).result, sasl_session::step::outcome::authenticated)
      << "the same mechanism again";
  ASSERT_TRUE(session.start("SCRAM-SHA-256"));
  auto refused = session.respond("n,,n=carol,r=abcdefghijklmnop");
  EXPECT_EQ(refused.result, sasl_session::step::outcome::failed);
  EXPECT_NE(refused.error.find("mechanism the session authenticated with"), std::string::npos) << refused.error;
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}
