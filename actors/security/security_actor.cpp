#include "actors/security/security_actor.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "actors/connections/transport/log_text.hpp"
#include "logging/loggers.hpp"

namespace portask {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

std::set<std::string> super_users_of(const security_config& config, const access_control& access) {
  auto users = access.super_users();
  if (!config.admin_user.empty()) users.insert("User:" + config.admin_user);
  return users;
}

sec::authorizer authorizer_of(std::vector<sec::acl_binding> acls, const security_config& config,
                              const access_control& access) {
  return sec::authorizer(std::move(acls), super_users_of(config, access), access.allow_everyone_if_no_acl());
}

std::shared_ptr<security_snapshot> build(const std::vector<storage::user_credential>& credentials,
                                         std::vector<sec::acl_binding> acls, const security_config& config,
                                         const access_control& access) {
  auto s = std::make_shared<security_snapshot>();
  s->loaded = true;
  for (const auto& c : credentials) s->credentials[{c.user, c.credential.mechanism}] = c.credential;
  s->acls = authorizer_of(std::move(acls), config, access);
  return s;
}

struct security_state {
  std::shared_ptr<broker_context> ctx;
  std::unique_ptr<storage::log_store> store;
  bool retrying = false;
  bool retry_scheduled = false;  ///< a single node's retry after a failed read is on its way
  static inline const char* name = "portask.security";
};

using self_ptr = security_actor::stateful_pointer<security_state>;

// In a cluster, users and ACLs are changed through any node: each reads them again this
// often (a change made elsewhere takes effect here within it).
std::chrono::milliseconds cluster_refresh(const broker_context& ctx) {
  return std::chrono::milliseconds(std::max<std::uint32_t>(ctx.config.cluster.renew_ms, 200));
}

bool same_contents(const security_snapshot& a, const security_snapshot& b) {
  if (a.loaded != b.loaded || a.credentials != b.credentials) return false;
  const auto& x = a.acls.bindings();
  const auto& y = b.acls.bindings();
  return std::set<sec::acl_binding>(x.begin(), x.end()) == std::set<sec::acl_binding>(y.begin(), y.end());
}

// Reads everything again and publishes it (when it changed); on failure, tries again in a
// second (in a cluster, at the next refresh).
void reload(self_ptr self) {
  auto& st = self->state;
  // The admin user is created by the first read that succeeds (the broker's own at start,
  // or this actor's), never by a later one.
  const bool first = !st.ctx->access.snapshot()->loaded;
  auto loaded = load_security(*st.store, st.ctx->config.security, st.ctx->access, first);
  if (!loaded) {
    if (!st.retrying)
      logging::security().warn("cannot read credentials and ACLs from the store ({}); retrying",
                               loaded.error().message());
    st.retrying = true;
    // One retry chain (in a cluster the refresh is it).
    if (!st.ctx->config.cluster.enabled() && !st.retry_scheduled) {
      st.retry_scheduled = true;
      self->delayed_send(self, 1s, recover_atom::value);
    }
    return;
  }
  if (st.retrying) logging::security().info("credentials and ACLs read from the store");
  st.retrying = false;
  if (!same_contents(**loaded, *st.ctx->access.snapshot())) st.ctx->access.publish(std::move(*loaded));
}

// The current snapshot with `change` applied, published.
template <class F>
void republish(self_ptr self, F change) {
  auto& access = self->state.ctx->access;
  auto next = std::make_shared<security_snapshot>(*access.snapshot());
  change(*next);
  access.publish(std::move(next));
}

caf::error store_error(std::error_code ec) {
  return make_caf_error(ec.category() == error_category() ? static_cast<errc>(ec.value())
                                                          : errc::storage_unavailable);
}

security_actor::behavior_type security_impl(self_ptr self, std::shared_ptr<broker_context> ctx) {
  self->state.ctx = ctx;
  auto store = ctx->store_factory();
  if (!store) {
    logging::security().error("security: cannot create store: {}", store.error().message());
    self->quit(make_caf_error(errc::storage_unavailable));
    return security_actor::behavior_type::make_empty_behavior();
  }
  self->state.store = std::move(*store);
  if (!ctx->access.snapshot()->loaded) reload(self);
  if (ctx->config.cluster.enabled()) self->delayed_send(self, cluster_refresh(*ctx), recover_atom::value);
  return {
      [=](create_atom, const storage::user_credential& c) -> caf::result<bool> {
        if (auto ec = self->state.store->put_credential(c)) return store_error(ec);
        republish(self, [&](security_snapshot& s) { s.credentials[{c.user, c.credential.mechanism}] = c.credential; });
        logging::security().info("{} credential of user {} stored", sec::mechanism_name(c.credential.mechanism),
                                 c.user);
        return true;
      },
      [=](delete_atom, const std::string& user, sec::scram_mechanism m) -> caf::result<bool> {
        auto existed = self->state.store->delete_credential(user, m);
        if (!existed) return store_error(existed.error());
        if (*existed) {
          republish(self, [&](security_snapshot& s) { s.credentials.erase({user, m}); });
          logging::security().info("{} credential of user {} deleted", sec::mechanism_name(m), user);
        }
        return *existed;
      },
      [=](create_atom, const std::vector<sec::acl_binding>& bindings) -> caf::result<bool> {
        for (const auto& b : bindings)
          if (auto why = sec::invalid_binding(b); !why.empty()) return make_caf_error(errc::invalid_request);
        if (auto ec = self->state.store->put_acls(bindings)) return store_error(ec);
        republish(self, [&](security_snapshot& s) {
          std::set<sec::acl_binding> all(s.acls.bindings().begin(), s.acls.bindings().end());
          all.insert(bindings.begin(), bindings.end());
          s.acls = authorizer_of({all.begin(), all.end()}, ctx->config.security, ctx->access);
        });
        logging::security().info("{} ACL binding(s) created", bindings.size());
        // Kafka accepts such a host, so Portask does; it is most likely a mistake.
        for (const auto& b : bindings)
          if (b.host != sec::wildcard && !sec::parse_ip_address(b.host))
            logging::security().warn("the ACL binding for {} names host '{}', which is no IP address: it applies "
                                     "only to a client address written exactly so (host names are not resolved)",
                                     printable(b.principal, 128), printable(b.host, 128));
        return true;
      },
      [=](delete_atom, const std::vector<sec::acl_filter>& filters)
          -> caf::result<std::vector<sec::acl_binding>> {
        // The bindings as the store holds them (another node may have made some since this
        // one last read them), not only as this node knows them.
        reload(self);
        if (self->state.retrying) return make_caf_error(errc::storage_unavailable);
        const auto current = self->state.ctx->access.snapshot();
        std::vector<sec::acl_binding> doomed, kept;
        for (const auto& b : current->acls.bindings()) {
          const bool hit = std::any_of(filters.begin(), filters.end(), [&](const auto& f) { return sec::matches(f, b); });
          (hit ? doomed : kept).push_back(b);
        }
        if (auto ec = self->state.store->delete_acls(doomed)) return store_error(ec);
        republish(self, [&](security_snapshot& s) { s.acls = authorizer_of(kept, ctx->config.security, ctx->access); });
        if (!doomed.empty()) logging::security().info("{} ACL binding(s) deleted", doomed.size());
        return doomed;
      },
      [=](recover_atom) {
        self->state.retry_scheduled = false;
        reload(self);
        if (ctx->config.cluster.enabled()) self->delayed_send(self, cluster_refresh(*ctx), recover_atom::value);
      },
  };
}

}  // namespace

expected<std::shared_ptr<const security_snapshot>> load_security(storage::log_store& store,
                                                                  const security_config& config,
                                                                  const access_control& access,
                                                                  bool create_admin) {
  auto credentials = store.list_credentials();
  if (!credentials) return credentials.error();
  if (create_admin && !config.admin_user.empty() && !config.admin_password.empty() &&
      std::none_of(credentials->begin(), credentials->end(),
                   [&](const auto& c) { return c.user == config.admin_user; })) {
    for (auto m : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512}) {
      storage::user_credential c{config.admin_user, sec::scram_credential_from_password(m, config.admin_password)};
      if (auto ec = store.put_credential(c)) return ec;
      credentials->push_back(std::move(c));
    }
    logging::security().info("admin user {} created (SCRAM-SHA-256 and SCRAM-SHA-512)", config.admin_user);
  }
  auto acls = store.list_acls();
  if (!acls) return acls.error();
  return std::shared_ptr<const security_snapshot>(build(*credentials, std::move(*acls), config, access));
}

security_actor spawn_security(caf::actor_system& sys, std::shared_ptr<broker_context> ctx) {
  return sys.spawn<caf::detached>(security_impl, std::move(ctx));
}

}  // namespace portask
