// CreateAcls (key 30), DescribeAcls (key 29) and DeleteAcls (key 31): the ACL bindings of
// Kafka's model (protocol/security/acl.hpp), stored by the security actor. Creating and
// deleting need ALTER on the cluster, describing DESCRIBE, as in Kafka. A broker that does
// not check ACLs (authorization off) answers all three SECURITY_DISABLED, as Kafka without an
// authorizer does: a binding it stored would be listed and never applied.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

constexpr auto code = [](error_code e) { return static_cast<std::int16_t>(e); };

template <class F>
std::optional<sec::acl_filter> filter_of(const F& f, std::string& why) {
  sec::acl_filter out;
  out.resource = static_cast<sec::resource_type>(f.resourceTypeFilter);
  out.name = f.resourceNameFilter;
  out.pattern = static_cast<sec::pattern_type>(f.patternTypeFilter);
  out.principal = f.principalFilter;
  out.host = f.hostFilter;
  out.operation = static_cast<sec::acl_operation>(f.operation);
  out.permission = static_cast<sec::acl_permission>(f.permissionType);
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  if (!in(f.resourceTypeFilter, 1, 7)) why = "unknown resource type filter";
  else if (!in(f.patternTypeFilter, 1, 4)) why = "unknown pattern type filter";
  else if (!in(f.operation, 1, 14)) why = "unknown operation filter";
  else if (!in(f.permissionType, 1, 3)) why = "unknown permission type filter";
  if (!why.empty()) return std::nullopt;
  return out;
}

// Why ACL requests are refused on a broker that checks none.
constexpr const char* acls_unchecked =
    "ACLs are not checked: the broker runs with authorization off (--authorization on)";

bool acls_checked(self_ptr self) { return self->state.ctx->access.authorization(); }

}  // namespace

void handle_create_acls(self_ptr self, const request& r, protocol::byte_view body) {
  msg::CreateAclsRequest req;
  if (!PORTASK_KAFKA_DECODE(CreateAcls, body, req)) return;
  const bool flexible = msg::CreateAclsRequest_is_flexible(r.api_version);
  auto res = std::make_shared<msg::CreateAclsResponse>();
  res->results.resize(req.creations.size());
  const bool authorized = allowed_on_cluster(self, sec::acl_operation::alter);
  std::vector<sec::acl_binding> bindings;
  std::vector<std::size_t> slots;
  for (std::size_t i = 0; i < req.creations.size(); ++i) {
    const auto& c = req.creations[i];
    auto& out = res->results[i];
    out.errorMessage = std::nullopt;
    if (!authorized) {
      out.errorCode = code(error_code::cluster_authorization_failed);
      out.errorMessage = "ALTER on the cluster is required";
      continue;
    }
    if (!acls_checked(self)) {
      out.errorCode = code(error_code::security_disabled);
      out.errorMessage = acls_unchecked;
      continue;
    }
    sec::acl_binding b{static_cast<sec::resource_type>(c.resourceType), c.resourceName,
                       static_cast<sec::pattern_type>(c.resourcePatternType), c.principal, c.host,
                       static_cast<sec::acl_operation>(c.operation), static_cast<sec::acl_permission>(c.permissionType)};
    if (auto why = sec::invalid_binding(b); !why.empty()) {
      out.errorCode = code(error_code::invalid_request);
      out.errorMessage = why;
      continue;
    }
    bindings.push_back(std::move(b));
    slots.push_back(i);
  }
  auto security = self->state.dir.security;
  if (bindings.empty()) return respond(self, r, *res, flexible, !req.creations.empty());
  auto fail = [=](errc e) {
    for (auto i : slots) {
      res->results[i].errorCode = to_kafka(e);
      res->results[i].errorMessage = make_error_code(e).message();
    }
    respond(self, r, *res, flexible, true);
  };
  if (!security) return fail(errc::not_ready);
  self->request(security, 10s, create_atom::value, bindings)
      .then([=](bool) { respond(self, r, *res, flexible); }, [=](caf::error& e) { fail(to_errc(e)); });
}

void handle_describe_acls(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeAclsRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeAcls, body, req)) return;
  const bool flexible = msg::DescribeAclsRequest_is_flexible(r.api_version);
  msg::DescribeAclsResponse res;
  res.errorMessage = std::nullopt;
  if (!allowed_on_cluster(self, sec::acl_operation::describe)) {
    res.errorCode = code(error_code::cluster_authorization_failed);
    res.errorMessage = "DESCRIBE on the cluster is required";
    return respond(self, r, res, flexible, true);
  }
  if (!acls_checked(self)) {
    res.errorCode = code(error_code::security_disabled);
    res.errorMessage = acls_unchecked;
    return respond(self, r, res, flexible, true);
  }
  std::string why;
  auto filter = filter_of(req, why);
  if (!filter) {
    res.errorCode = code(error_code::invalid_request);
    res.errorMessage = why;
    return respond(self, r, res, flexible, true);
  }
  // Grouped by resource pattern, as Kafka answers.
  std::map<std::tuple<sec::resource_type, std::string, sec::pattern_type>,
           std::vector<msg::DescribeAclsResponse::DescribeAclsResource::AclDescription>>
      by_resource;
  for (const auto& b : self->state.ctx->access.snapshot()->acls.bindings())
    if (sec::matches(*filter, b))
      by_resource[{b.resource, b.name, b.pattern}].push_back(
          {b.principal, b.host, static_cast<std::int8_t>(b.operation), static_cast<std::int8_t>(b.permission)});
  for (auto& [key, acls] : by_resource) {
    msg::DescribeAclsResponse::DescribeAclsResource out;
    out.resourceType = static_cast<std::int8_t>(std::get<0>(key));
    out.resourceName = std::get<1>(key);
    out.patternType = static_cast<std::int8_t>(std::get<2>(key));
    out.acls = std::move(acls);
    res.resources.push_back(std::move(out));
  }
  respond(self, r, res, flexible);
}

void handle_delete_acls(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DeleteAclsRequest req;
  if (!PORTASK_KAFKA_DECODE(DeleteAcls, body, req)) return;
  const bool flexible = msg::DeleteAclsRequest_is_flexible(r.api_version);
  auto res = std::make_shared<msg::DeleteAclsResponse>();
  res->filterResults.resize(req.filters.size());
  const bool authorized = allowed_on_cluster(self, sec::acl_operation::alter);
  std::vector<sec::acl_filter> filters;
  std::vector<std::size_t> slots;
  for (std::size_t i = 0; i < req.filters.size(); ++i) {
    auto& out = res->filterResults[i];
    out.errorMessage = std::nullopt;
    std::string why;
    auto f = filter_of(req.filters[i], why);
    if (!authorized) {
      out.errorCode = code(error_code::cluster_authorization_failed);
      out.errorMessage = "ALTER on the cluster is required";
    } else if (!acls_checked(self)) {
      out.errorCode = code(error_code::security_disabled);
      out.errorMessage = acls_unchecked;
    } else if (!f) {
      out.errorCode = code(error_code::invalid_request);
      out.errorMessage = why;
    } else {
      filters.push_back(*f);
      slots.push_back(i);
    }
  }
  if (filters.empty()) return respond(self, r, *res, flexible, !req.filters.empty());
  auto fail = [=](errc e) {
    for (auto i : slots) {
      res->filterResults[i].errorCode = to_kafka(e);
      res->filterResults[i].errorMessage = make_error_code(e).message();
    }
    respond(self, r, *res, flexible, true);
  };
  auto security = self->state.dir.security;
  if (!security) return fail(errc::not_ready);
  self->request(security, 10s, delete_atom::value, filters)
      .then(
          [=](const std::vector<sec::acl_binding>& deleted) {
            // Each deleted binding under every filter that matches it, as Kafka's KRaft
            // controller lists them (the ZooKeeper-era authorizer listed it under the first).
            for (const auto& b : deleted)
              for (std::size_t k = 0; k < filters.size(); ++k)
                if (sec::matches(filters[k], b)) {
                  msg::DeleteAclsResponse::DeleteAclsFilterResult::DeleteAclsMatchingAcl m;
                  m.errorMessage = std::nullopt;
                  m.resourceType = static_cast<std::int8_t>(b.resource);
                  m.resourceName = b.name;
                  m.patternType = static_cast<std::int8_t>(b.pattern);
                  m.principal = b.principal;
                  m.host = b.host;
                  m.operation = static_cast<std::int8_t>(b.operation);
                  m.permissionType = static_cast<std::int8_t>(b.permission);
                  res->filterResults[slots[k]].matchingAcls.push_back(std::move(m));
                }
            respond(self, r, *res, flexible);
          },
          [=](caf::error& e) { fail(to_errc(e)); });
}

}  // namespace portask::kafka
