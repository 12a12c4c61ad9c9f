#pragma once
/// The one writer of users' credentials and ACLs: stores each change, then publishes the
/// new access-control snapshot (access_control.hpp) that every connection authenticates and
/// authorizes against. Detached (store I/O). On start (and on a restart by the supervisor)
/// it reads everything back from the store, so nothing it held is lost; while the store
/// cannot be read it retries every second and the previous snapshot stays in force.

#include <memory>

#include "actors/interfaces.hpp"
#include "actors/runtime/broker_context.hpp"
#include "storage/log_store.hpp"

namespace portask {

/// Reads credentials and ACLs from `store` into a snapshot; first, with `create_admin`,
/// creates the configured admin user's credentials when the store has none for it (at
/// start only: a later read must not bring back an admin deleted since).
expected<std::shared_ptr<const security_snapshot>> load_security(storage::log_store& store,
                                                                  const security_config& config,
                                                                  const access_control& access,
                                                                  bool create_admin = true);

security_actor spawn_security(caf::actor_system& sys, std::shared_ptr<broker_context> ctx);

}  // namespace portask
