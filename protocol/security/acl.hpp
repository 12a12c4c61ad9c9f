#pragma once
/// Access control lists with Kafka's model (facts from Apache Kafka's CreateAcls,
/// DescribeAcls and DeleteAcls definitions; enum values are Kafka's): a binding allows or
/// denies one principal, from one host or any, one operation on a resource pattern (a
/// literal name, "*" for every name, or a prefix). The decision rules are Kafka's
/// authorizer's: super users may do anything; any matching DENY wins; otherwise a matching
/// ALLOW for the operation (or ALL, or one that implies it: READ, WRITE, DELETE or ALTER
/// imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows; otherwise a resource no
/// binding names is allowed only when `allow_if_no_acl` says so.

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portask::protocol::security {

enum class resource_type : std::int8_t {
  unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactional_id = 5,
  delegation_token = 6, user = 7,
};
enum class pattern_type : std::int8_t { unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4 };
enum class acl_operation : std::int8_t {
  unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, remove = 6, alter = 7,
  describe = 8, cluster_action = 9, describe_configs = 10, alter_configs = 11,
  idempotent_write = 12, create_tokens = 13, describe_tokens = 14,
};
enum class acl_permission : std::int8_t { unknown = 0, any = 1, deny = 2, allow = 3 };

/// The one cluster resource's name, as Kafka names it.
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";
inline constexpr std::string_view wildcard = "*";

struct acl_binding {
  resource_type resource = resource_type::topic;
  std::string name;
  pattern_type pattern = pattern_type::literal;
  std::string principal;  ///< "User:alice", or "User:*"
  /// "*", an IPv4 or IPv6 address in any spelling (kept as given), or other text, which
  /// applies only to a client address written exactly so (Kafka accepts any text here;
  /// host names are not resolved).
  std::string host = "*";
  acl_operation operation = acl_operation::all;
  acl_permission permission = acl_permission::allow;
  auto operator<=>(const acl_binding&) const = default;
};

/// What Describe/DeleteAcls select by; a field left empty matches anything.
struct acl_filter {
  resource_type resource = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  acl_operation operation = acl_operation::any;
  acl_permission permission = acl_permission::any;
  friend bool operator==(const acl_filter&, const acl_filter&) = default;
};

/// A host as ACLs compare hosts: an address's bytes, 4 for IPv4 (and for an IPv4-mapped IPv6
/// address, as a dual-stack listener sees an IPv4 client), 16 for IPv6. So "127.0.0.1" and
/// "::ffff:127.0.0.1" are one host, and "::1" and "0:0:0:0:0:0:0:1" another.
struct ip_address {
  std::array<unsigned char, 16> bytes{};  ///< the first `size` used, the rest zero
  std::uint8_t size = 0;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};
/// The address `text` writes (inet_pton's IPv4 and IPv6 forms); none for anything else: "*",
/// a host name, an address with a zone ("fe80::1%eth0") or with spaces around it.
std::optional<ip_address> parse_ip_address(std::string_view text);
/// A client's host as bindings are matched against it: the text of its address and that
/// address parsed (none if the text is no address). A connection builds it once from its
/// peer, so that no check parses the host again.
class client_host {
 public:
  client_host() = default;
  explicit client_host(std::string host) : text_(std::move(host)), address_(parse_ip_address(text_)) {}
  const std::string& text() const noexcept { return text_; }
  const std::optional<ip_address>& address() const noexcept { return address_; }

 private:
  std::string text_;
  std::optional<ip_address> address_;
};
/// Whether two hosts are one: the same address however written, or else the same text. "*"
/// is text here; it is a wildcard where a binding is applied to a client, not in a filter.
bool same_host(std::string_view a, std::string_view b);

/// Why a binding cannot be created (empty: it can): an unknown or ANY/MATCH value, a
/// principal not of the form "User:<name>", an empty name, a cluster resource not named
/// "kafka-cluster", or a prefixed wildcard.
std::string invalid_binding(const acl_binding& b);
/// A filter's host selects the bindings for that host however they write it (same_host):
/// "127.0.0.1" finds a binding stored as "::ffff:127.0.0.1", so that DeleteAcls for a host
/// removes every binding that applies to it. (Kafka compares the text.)
bool matches(const acl_filter& f, const acl_binding& b);

/// The decisions for one set of bindings; immutable once built, so connections share it.
class authorizer {
 public:
  authorizer(std::vector<acl_binding> bindings, std::set<std::string> super_users, bool allow_if_no_acl);

  /// Whether `principal` ("User:alice") connecting from `host` (its address, in any
  /// spelling) may do `op` on the resource.
  bool allowed(std::string_view principal, const client_host& host, acl_operation op,
               resource_type type, std::string_view name) const;
  /// Whether some resource of `type` allows `op` (Kafka's check by resource type, KIP-679,
  /// used where any topic will do: an idempotent producer needs WRITE on some topic): an
  /// ALLOW of the operation (or ALL) that no DENY covers wholly, and no DENY of every
  /// resource of the type ("*"). Implied operations do not count here, as in Kafka.
  bool allowed_on_some(std::string_view principal, const client_host& host, acl_operation op,
                       resource_type type) const;
  bool is_super_user(std::string_view principal) const;
  const std::vector<acl_binding>& bindings() const noexcept { return bindings_; }

 private:
  /// Whether bindings_[i] applies to a client at `host`.
  bool host_matches(std::size_t i, const client_host& host) const;

  std::vector<acl_binding> bindings_;
  /// Each binding's host as an address (parsed once here, not on every check).
  std::vector<std::optional<ip_address>> addresses_;
  std::set<std::string, std::less<>> super_users_;
  bool allow_if_no_acl_;
};

std::string_view to_string(resource_type t) noexcept;
std::string_view to_string(acl_operation o) noexcept;
std::string_view to_string(pattern_type p) noexcept;
std::string_view to_string(acl_permission p) noexcept;
/// Case-insensitive names as Kafka's tools write them ("topic", "Read", "prefixed", ...).
std::optional<resource_type> resource_type_named(std::string_view s);
std::optional<acl_operation> acl_operation_named(std::string_view s);
std::optional<pattern_type> pattern_type_named(std::string_view s);
std::optional<acl_permission> acl_permission_named(std::string_view s);

}  // namespace portask::protocol::security
