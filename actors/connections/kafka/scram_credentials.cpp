// DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51): users'
// SCRAM credentials, as Kafka's admin clients manage them (kafka-configs --alter
// --add-config 'SCRAM-SHA-512=[password=...]' sends the salted password, never the
// password). Describing needs DESCRIBE on the cluster, altering ALTER; both answer with
// one result per user, in the order the users first appear.
#include <set>

#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

constexpr auto code = [](error_code e) { return static_cast<std::int16_t>(e); };

}  // namespace

void handle_describe_user_scram_credentials(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeUserScramCredentialsRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeUserScramCredentials, body, req)) return;
  msg::DescribeUserScramCredentialsResponse res;
  res.errorMessage = std::nullopt;
  if (!allowed_on_cluster(self, sec::acl_operation::describe)) {
    res.errorCode = code(error_code::cluster_authorization_failed);
    res.errorMessage = "DESCRIBE on the cluster is required";
    return respond(self, r, res, true, true);
  }
  const auto snapshot = self->state.ctx->access.snapshot();
  std::map<std::string, std::vector<msg::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult::CredentialInfo>> infos;
  for (const auto& [key, c] : snapshot->credentials)
    infos[key.first].push_back({static_cast<std::int8_t>(key.second), c.iterations});
  auto result = [&](const std::string& user) {
    msg::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult out;
    out.user = user;
    out.errorMessage = std::nullopt;
    if (auto it = infos.find(user); it != infos.end()) {
      out.credentialInfos = it->second;
    } else {
      out.errorCode = code(error_code::resource_not_found);
      out.errorMessage = "no SCRAM credential for user " + user;
    }
    return out;
  };
  if (!req.users || req.users->empty()) {
    for (const auto& [user, _] : infos) res.results.push_back(result(user));
  } else {
    std::map<std::string, int> seen;
    for (const auto& u : *req.users) ++seen[u.name];
    std::set<std::string> done;
    for (const auto& u : *req.users) {
      if (!done.insert(u.name).second) continue;
      auto out = result(u.name);
      if (seen[u.name] > 1) {
        out.credentialInfos.clear();
        out.errorCode = code(error_code::duplicate_resource);
        out.errorMessage = "user " + u.name + " named more than once";
      }
      res.results.push_back(std::move(out));
    }
  }
  respond(self, r, res, true);
}

void handle_alter_user_scram_credentials(self_ptr self, const request& r, protocol::byte_view body) {
  msg::AlterUserScramCredentialsRequest req;
  if (!PORTASK_KAFKA_DECODE(AlterUserScramCredentials, body, req)) return;
  using result_t = msg::AlterUserScramCredentialsResponse::AlterUserScramCredentialsResult;
  // One result per user; the first error a user's alterations meet is its result.
  auto res = std::make_shared<msg::AlterUserScramCredentialsResponse>();
  std::map<std::string, std::size_t> index;
  auto slot = [&](const std::string& user) -> result_t& {
    auto [it, fresh] = index.try_emplace(user, res->results.size());
    if (fresh) {
      result_t out;
      out.user = user;
      out.errorMessage = std::nullopt;
      res->results.push_back(std::move(out));
    }
    return res->results[it->second];
  };
  auto set_error = [](result_t& out, error_code e, std::string why) {
    if (out.errorCode != 0) return;
    out.errorCode = code(e);
    out.errorMessage = std::move(why);
  };
  const bool authorized = allowed_on_cluster(self, sec::acl_operation::alter);
  std::map<std::pair<std::string, std::int8_t>, int> times;
  for (const auto& d : req.deletions) ++times[{d.name, d.mechanism}];
  for (const auto& u : req.upsertions) ++times[{u.name, u.mechanism}];
  std::vector<storage::user_credential> upserts;
  std::vector<std::pair<std::string, sec::scram_mechanism>> deletes;
  auto check = [&](const std::string& name, std::int8_t mechanism) -> std::optional<sec::scram_mechanism> {
    auto& out = slot(name);
    if (!authorized) return set_error(out, error_code::cluster_authorization_failed, "ALTER on the cluster is required"), std::nullopt;
    if (name.empty()) return set_error(out, error_code::unacceptable_credential, "user name is empty"), std::nullopt;
    // Listed back in a Kafka string (DescribeUserScramCredentials): one that reads longer (bytes
    // that are not UTF-8 read as U+FFFD) could never be answered.
    if (name.size() > protocol::kafka::max_string_bytes)
      return set_error(out, error_code::unacceptable_credential,
                       "user name longer than " + std::to_string(protocol::kafka::max_string_bytes) + " bytes"),
             std::nullopt;
    const auto m = sec::scram_mechanism_of(mechanism);
    if (!m) return set_error(out, error_code::unsupported_sasl_mechanism, "unknown SCRAM mechanism " + std::to_string(mechanism)), std::nullopt;
    if (times[{name, mechanism}] > 1)
      return set_error(out, error_code::duplicate_resource, "a user's mechanism is altered more than once"), std::nullopt;
    return m;
  };
  for (const auto& d : req.deletions)
    if (auto m = check(d.name, d.mechanism)) deletes.emplace_back(d.name, *m);
  for (const auto& u : req.upsertions) {
    auto m = check(u.name, u.mechanism);
    if (!m) continue;
    auto& out = slot(u.name);
    if (u.iterations < sec::scram_min_iterations || u.iterations > sec::scram_max_iterations)
      set_error(out, error_code::unacceptable_credential,
                "iterations must be between " + std::to_string(sec::scram_min_iterations) + " and " +
                    std::to_string(sec::scram_max_iterations));
    else if (u.salt.empty() || u.saltedPassword.size() != sec::digest_size(sec::hash_of(*m)))
      set_error(out, error_code::unacceptable_credential, "salt or salted password is empty or of the wrong size");
    else
      upserts.push_back({u.name, sec::scram_credential_from_salted(*m, u.saltedPassword, u.salt, u.iterations)});
  }
  // A deletion of a credential the user does not have refuses all of that user's changes
  // before any is made, as Kafka validates them (an upsert stored next to a refused deletion
  // would leave the tool reporting a failure for a change that was made).
  {
    const auto known = self->state.ctx->access.snapshot();
    for (const auto& [user, m] : deletes)
      if (known->credential(user, m) == nullptr)
        set_error(slot(user), error_code::resource_not_found,
                  "Attempt to delete a user credential that does not exist");
  }
  auto security = self->state.dir.security;
  auto pending = std::make_shared<std::size_t>(1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, true, false);
  };
  auto fail = [=](std::size_t i, errc e) {
    auto& out = res->results[i];
    if (out.errorCode != 0) return;
    out.errorCode = to_kafka(e);
    out.errorMessage = std::string(make_error_code(e).message());
  };
  for (auto& u : upserts) {
    const auto i = index.at(u.user);
    if (res->results[i].errorCode != 0) continue;
    if (!security) { fail(i, errc::not_ready); continue; }
    ++*pending;
    self->request(security, 10s, create_atom::value, u)
        .then([=](bool) { done(); }, [=](caf::error& e) { fail(i, to_errc(e)); done(); });
  }
  for (auto& [user, m] : deletes) {
    const auto i = index.at(user);
    if (res->results[i].errorCode != 0) continue;
    if (!security) { fail(i, errc::not_ready); continue; }
    ++*pending;
    self->request(security, 10s, delete_atom::value, user, m)
        .then(
            [=, user = user](bool existed) {
              if (!existed && res->results[i].errorCode == 0) {
                res->results[i].errorCode = code(error_code::resource_not_found);
                res->results[i].errorMessage = "no such credential of user " + user;
              }
              done();
            },
            [=](caf::error& e) { fail(i, to_errc(e)); done(); });
  }
  done();
}

}  // namespace portask::kafka
