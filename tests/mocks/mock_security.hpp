#pragma once
/// A scripted security_actor: records users' credential and ACL changes; unscripted ones
/// succeed (a delete finds nothing to delete).

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct security_script {
  scripted<bool, storage::user_credential> put_credential;
  scripted<bool, std::string, protocol::security::scram_mechanism> delete_credential;
  scripted<bool, std::vector<protocol::security::acl_binding>> create_acls;
  scripted<std::vector<protocol::security::acl_binding>, std::vector<protocol::security::acl_filter>> delete_acls;
  heard<> recover;

  security_script() {
    put_credential.otherwise = [](const storage::user_credential&) -> caf::expected<bool> { return true; };
    delete_credential.otherwise = [](const std::string&, protocol::security::scram_mechanism) -> caf::expected<bool> {
      return false;
    };
    create_acls.otherwise = [](const std::vector<protocol::security::acl_binding>&) -> caf::expected<bool> {
      return true;
    };
    delete_acls.otherwise = [](const std::vector<protocol::security::acl_filter>&)
        -> caf::expected<std::vector<protocol::security::acl_binding>> { return std::vector<protocol::security::acl_binding>{}; };
  }
};

inline security_actor::behavior_type mock_security(security_actor::pointer,
                                                   std::shared_ptr<security_script> s) {
  return {
      [s](create_atom, const storage::user_credential& c) { return s->put_credential(c); },
      [s](delete_atom, const std::string& user, protocol::security::scram_mechanism m) {
        return s->delete_credential(user, m);
      },
      [s](create_atom, const std::vector<protocol::security::acl_binding>& b) { return s->create_acls(b); },
      [s](delete_atom, const std::vector<protocol::security::acl_filter>& f) { return s->delete_acls(f); },
      [s](recover_atom) { s->recover(); },
  };
}

inline security_actor spawn_mock_security(caf::actor_system& sys, std::shared_ptr<security_script> s) {
  return sys.spawn(mock_security, std::move(s));
}

}  // namespace portask::testing
