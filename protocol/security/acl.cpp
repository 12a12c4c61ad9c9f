#include "protocol/security/acl.hpp"

#include "protocol/kafka/kafka_wire.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <set>
#include <vector>

namespace portask::protocol::security {

namespace {

bool resource_matches(const acl_binding& b, resource_type type, std::string_view name) {
  if (b.resource != type) return false;
  if (b.pattern == pattern_type::literal) return b.name == wildcard || b.name == name;
  if (b.pattern == pattern_type::prefixed) return name.starts_with(b.name);
  return false;
}

bool principal_matches(const acl_binding& b, std::string_view principal) {
  return b.principal == "User:*" || b.principal == principal;
}

// The operations whose ALLOW also allows `op` (Kafka: describe is implied by read, write,
// delete and alter; describe_configs by alter_configs).
bool implies(acl_operation granted, acl_operation op) {
  if (granted == op || granted == acl_operation::all) return true;
  if (op == acl_operation::describe)
    return granted == acl_operation::read || granted == acl_operation::write ||
           granted == acl_operation::remove || granted == acl_operation::alter;
  if (op == acl_operation::describe_configs) return granted == acl_operation::alter_configs;
  return false;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

template <class E, std::size_t N>
std::optional<E> named(std::string_view s, const std::array<std::pair<E, std::string_view>, N>& names) {
  std::string squashed;  // "DESCRIBE_CONFIGS", "DescribeConfigs" and "describe-configs" alike
  for (char c : s)
    if (c != '_' && c != '-') squashed += c;
  for (const auto& [e, n] : names) {
    std::string m;
    for (char c : n)
      if (c != '_') m += c;
    if (iequals(squashed, m)) return e;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_of(E e, const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return "UNKNOWN";
}

constexpr std::array<std::pair<resource_type, std::string_view>, 8> resource_names{{
    {resource_type::unknown, "UNKNOWN"}, {resource_type::any, "ANY"}, {resource_type::topic, "TOPIC"},
    {resource_type::group, "GROUP"}, {resource_type::cluster, "CLUSTER"},
    {resource_type::transactional_id, "TRANSACTIONAL_ID"},
    {resource_type::delegation_token, "DELEGATION_TOKEN"}, {resource_type::user, "USER"}}};
constexpr std::array<std::pair<acl_operation, std::string_view>, 15> operation_names{{
    {acl_operation::unknown, "UNKNOWN"}, {acl_operation::any, "ANY"}, {acl_operation::all, "ALL"},
    {acl_operation::read, "READ"}, {acl_operation::write, "WRITE"}, {acl_operation::create, "CREATE"},
    {acl_operation::remove, "DELETE"}, {acl_operation::alter, "ALTER"},
    {acl_operation::describe, "DESCRIBE"}, {acl_operation::cluster_action, "CLUSTER_ACTION"},
    {acl_operation::describe_configs, "DESCRIBE_CONFIGS"},
    {acl_operation::alter_configs, "ALTER_CONFIGS"},
    {acl_operation::idempotent_write, "IDEMPOTENT_WRITE"},
    {acl_operation::create_tokens, "CREATE_TOKENS"}, {acl_operation::describe_tokens, "DESCRIBE_TOKENS"}}};
constexpr std::array<std::pair<pattern_type, std::string_view>, 5> pattern_names{{
    {pattern_type::unknown, "UNKNOWN"}, {pattern_type::any, "ANY"}, {pattern_type::match, "MATCH"},
    {pattern_type::literal, "LITERAL"}, {pattern_type::prefixed, "PREFIXED"}}};
constexpr std::array<std::pair<acl_permission, std::string_view>, 4> permission_names{{
    {acl_permission::unknown, "UNKNOWN"}, {acl_permission::any, "ANY"},
    {acl_permission::deny, "DENY"}, {acl_permission::allow, "ALLOW"}}};

}  // namespace

std::optional<ip_address> parse_ip_address(std::string_view text) {
  // inet_pton reads a C string: a NUL inside would end the text early ("1.2.3.4\0junk").
  std::array<char, INET6_ADDRSTRLEN> c_text{};
  if (text.empty() || text.size() >= c_text.size() || text.find('\0') != std::string_view::npos)
    return std::nullopt;
  std::memcpy(c_text.data(), text.data(), text.size());
  ip_address a;
  if (inet_pton(AF_INET, c_text.data(), a.bytes.data()) == 1) {
    a.size = 4;
    return a;
  }
  if (inet_pton(AF_INET6, c_text.data(), a.bytes.data()) != 1) return std::nullopt;
  static constexpr std::array<unsigned char, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::equal(v4_mapped.begin(), v4_mapped.end(), a.bytes.begin())) {
    a.size = 16;
    return a;
  }
  std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
  std::fill(a.bytes.begin() + 4, a.bytes.end(), static_cast<unsigned char>(0));
  a.size = 4;
  return a;
}

bool same_host(std::string_view a, std::string_view b) {
  if (a == b) return true;
  const auto x = parse_ip_address(a);
  return x && x == parse_ip_address(b);
}

std::string invalid_binding(const acl_binding& b) {
  const auto r = static_cast<int>(b.resource);
  if (r < static_cast<int>(resource_type::topic) || r > static_cast<int>(resource_type::user))
    return "unknown or non-specific resource type";
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed)
    return "pattern type must be LITERAL or PREFIXED";
  const auto o = static_cast<int>(b.operation);
  if (o < static_cast<int>(acl_operation::all) || o > static_cast<int>(acl_operation::describe_tokens))
    return "unknown or non-specific operation";
  if (b.permission != acl_permission::allow && b.permission != acl_permission::deny)
    return "permission must be ALLOW or DENY";
  if (!b.principal.starts_with("User:") || b.principal.size() == 5)
    return "principal must be User:<name> or User:*";
  if (b.name.empty()) return "resource name is empty";
  // Each is listed back in a Kafka string (DescribeAcls); one read longer than a string holds
  // (bytes that are not UTF-8 read as U+FFFD) would make every such answer impossible to send.
  for (const auto* field : {&b.principal, &b.name, &b.host})
    if (field->size() > kafka::max_string_bytes)
      return "principal, resource name and host are each at most " +
             std::to_string(kafka::max_string_bytes) + " bytes";
  if (b.host.empty()) return "host is empty (use * for any host)";
  if (b.resource == resource_type::cluster && b.name != cluster_resource_name)
    return "the cluster resource is named kafka-cluster";
  if (b.pattern == pattern_type::prefixed && b.name == wildcard)
    return "a prefixed pattern cannot be *";
  return {};
}

bool matches(const acl_filter& f, const acl_binding& b) {
  if (f.resource != resource_type::any && f.resource != b.resource) return false;
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && !same_host(*f.host, b.host)) return false;
  if (f.operation != acl_operation::any && f.operation != b.operation) return false;
  if (f.permission != acl_permission::any && f.permission != b.permission) return false;
  switch (f.pattern) {
    case pattern_type::any:
      return !f.name || *f.name == b.name;
    case pattern_type::match:
      // Every binding that would apply to a resource of this name.
      if (!f.name) return true;
      if (b.pattern == pattern_type::literal) return b.name == *f.name || b.name == wildcard;
      return b.pattern == pattern_type::prefixed && f.name->starts_with(b.name);
    case pattern_type::literal:
    case pattern_type::prefixed:
      return b.pattern == f.pattern && (!f.name || *f.name == b.name);
    default:
      return false;
  }
}

authorizer::authorizer(std::vector<acl_binding> bindings, std::set<std::string> super_users,
                       bool allow_if_no_acl)
    : bindings_(std::move(bindings)),
      super_users_(super_users.begin(), super_users.end()),
      allow_if_no_acl_(allow_if_no_acl) {
  addresses_.reserve(bindings_.size());
  for (const auto& b : bindings_) addresses_.push_back(parse_ip_address(b.host));
}

bool authorizer::host_matches(std::size_t i, const client_host& host) const {
  const auto& b = bindings_[i];
  // A host that is no address (a name, say) applies to a client address written exactly so.
  if (b.host == wildcard || b.host == host.text()) return true;
  return host.address() && host.address() == addresses_[i];
}

bool authorizer::is_super_user(std::string_view principal) const {
  return super_users_.find(principal) != super_users_.end();
}

bool authorizer::allowed(std::string_view principal, const client_host& host, acl_operation op,
                         resource_type type, std::string_view name) const {
  if (is_super_user(principal)) return true;
  bool any_for_resource = false, allow = false;
  for (std::size_t i = 0; i < bindings_.size(); ++i) {
    const auto& b = bindings_[i];
    if (!resource_matches(b, type, name)) continue;
    any_for_resource = true;
    if (!principal_matches(b, principal) || !host_matches(i, host)) continue;
    if (b.permission == acl_permission::deny && (b.operation == op || b.operation == acl_operation::all))
      return false;
    if (b.permission == acl_permission::allow && implies(b.operation, op)) allow = true;
  }
  return allow || (!any_for_resource && allow_if_no_acl_);
}

bool authorizer::allowed_on_some(std::string_view principal, const client_host& host, acl_operation op,
                                 resource_type type) const {
  // Kafka's check by resource type (KIP-679): first as for one resource no binding names
  // (super users, a "*" ALLOW, or no bindings at all with allow_if_no_acl) ...
  if (allowed(principal, host, op, type, "\x01no topic has this name")) return true;
  // ... then some ALLOW naming resources that a DENY does not wholly cover: a literal ALLOW
  // denied by the same literal, or by a DENY prefix of its name, covers nothing; nor does a
  // prefixed ALLOW under a DENY prefix of its own prefix.
  std::set<std::string_view> denied_literals, denied_prefixes;
  std::vector<const acl_binding*> allows;
  for (std::size_t i = 0; i < bindings_.size(); ++i) {
    const auto& b = bindings_[i];
    if (b.resource != type || !principal_matches(b, principal) || !host_matches(i, host)) continue;
    if (b.operation != op && b.operation != acl_operation::all) continue;
    if (b.permission == acl_permission::deny) {
      if (b.pattern == pattern_type::literal && b.name == wildcard) return false;
      (b.pattern == pattern_type::literal ? denied_literals : denied_prefixes).insert(b.name);
    } else if (b.permission == acl_permission::allow) {
      allows.push_back(&b);
    }
  }
  return std::any_of(allows.begin(), allows.end(), [&](const acl_binding* b) {
    if (b->pattern == pattern_type::literal && denied_literals.contains(b->name)) return false;
    for (std::size_t n = 1; n <= b->name.size(); ++n)
      if (denied_prefixes.contains(std::string_view(b->name).substr(0, n))) return false;
    return true;
  });
}

std::string_view to_string(resource_type t) noexcept { return name_of(t, resource_names); }
std::string_view to_string(acl_operation o) noexcept { return name_of(o, operation_names); }
std::string_view to_string(pattern_type p) noexcept { return name_of(p, pattern_names); }
std::string_view to_string(acl_permission p) noexcept { return name_of(p, permission_names); }
std::optional<resource_type> resource_type_named(std::string_view s) { return named(s, resource_names); }
std::optional<acl_operation> acl_operation_named(std::string_view s) { return named(s, operation_names); }
std::optional<pattern_type> pattern_type_named(std::string_view s) { return named(s, pattern_names); }
std::optional<acl_permission> acl_permission_named(std::string_view s) { return named(s, permission_names); }

}  // namespace portask::protocol::security
