// portask-cli users (list, create, delete) and acls (list, create, delete): users' SCRAM
// credentials and Kafka-model ACL bindings, over the native protocol's UserAdmin and
// AclAdmin messages. The caller needs ALTER (changes) or DESCRIBE (listings) on the cluster.
//   PORTASK_NEW_PASSWORD=... portask-cli --user admin users create alice
//   portask-cli --user admin acls create --principal User:alice --operation read --topic orders
//   portask-cli --user admin acls list --principal User:alice --format json
#include <iostream>
#include <nlohmann/json.hpp>

#include "protocol/security/acl.hpp"
#include "protocol/security/scram.hpp"
#include "tools/cli/cli.hpp"

namespace portask::cli {
namespace {

namespace native = protocol::native;
namespace sec = protocol::security;

struct user_options {
  std::string user;
  std::vector<std::string> mechanisms{"SCRAM-SHA-512", "SCRAM-SHA-256"};
  std::int32_t iterations = 4096;  // as kafka-configs; an unknown name's decoy uses the same
  listing format = listing::text;
};

struct acl_options {
  std::string principal;
  std::string host;
  std::string misplaced_host;  ///< a --host given after the command (refused)
  std::string operation;
  std::string permission;  ///< allow | deny
  std::string topic, group, transactional_id;
  bool cluster = false;
  std::string pattern;  ///< literal | prefixed (create); also any | match (list, delete)
  listing format = listing::text;
};

void list_users(const common_options& o, const user_options& u) {
  auto c = open(o);
  const auto creds = check(c.list_users(), "list users");
  if (u.format == listing::json) {
    auto out = nlohmann::json::array();
    for (const auto& x : creds)
      out.push_back({{"user", x.user}, {"mechanism", x.mechanism}, {"iterations", x.iterations}});
    std::cout << json_text(out) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{{"USER", "MECHANISM", "ITERATIONS"}};
  for (const auto& x : creds) rows.push_back({x.user, x.mechanism, std::to_string(x.iterations)});
  print_table(rows);
}

// A binding (create) or a filter (list, delete) from the options; for a filter what is not
// given matches anything.
native::acl_entry entry_of(const acl_options& a, bool filter) {
  native::acl_entry e;
  auto code = [](auto v) { return static_cast<std::uint8_t>(v); };
  const int resources = !a.topic.empty() + !a.group.empty() + !a.transactional_id.empty() + a.cluster;
  if (resources > 1) throw usage_error("name one resource: --topic, --group, --transactional-id or --cluster");
  if (resources == 0 && !filter) throw usage_error("a binding needs a resource: --topic, --group, --transactional-id or --cluster");
  e.resource_type = code(sec::resource_type::any);
  if (!a.topic.empty()) e.resource_type = code(sec::resource_type::topic), e.resource_name = a.topic;
  if (!a.group.empty()) e.resource_type = code(sec::resource_type::group), e.resource_name = a.group;
  if (!a.transactional_id.empty())
    e.resource_type = code(sec::resource_type::transactional_id), e.resource_name = a.transactional_id;
  if (a.cluster) e.resource_type = code(sec::resource_type::cluster), e.resource_name = std::string(sec::cluster_resource_name);
  const auto pattern = a.pattern.empty() ? (filter ? "any" : "literal") : a.pattern;
  const auto p = sec::pattern_type_named(pattern);
  if (!p) throw usage_error("unknown pattern '" + pattern + "' (literal, prefixed; filters also any, match)");
  e.pattern_type = code(*p);
  if (!filter && a.principal.empty()) throw usage_error("a binding needs --principal User:NAME");
  e.principal = a.principal;
  e.host = a.host.empty() && !filter ? std::string(sec::wildcard) : a.host;
  const auto operation = a.operation.empty() ? (filter ? "any" : "") : a.operation;
  if (operation.empty()) throw usage_error("a binding needs --operation (read, write, create, delete, alter, describe, ...)");
  const auto op = sec::acl_operation_named(operation);
  if (!op) throw usage_error("unknown operation '" + operation + "'");
  e.operation = code(*op);
  const auto permission = a.permission.empty() ? (filter ? "any" : "allow") : a.permission;
  const auto perm = sec::acl_permission_named(permission);
  if (!perm) throw usage_error("unknown permission '" + permission + "' (allow, deny)");
  e.permission = code(*perm);
  return e;
}

void print_acls(const std::vector<native::acl_entry>& entries, listing format) {
  auto name = [](auto v, auto type) { return std::string(sec::to_string(static_cast<decltype(type)>(v))); };
  if (format == listing::json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries)
      out.push_back({{"resource_type", name(e.resource_type, sec::resource_type{})},
                     {"resource_name", e.resource_name},
                     {"pattern_type", name(e.pattern_type, sec::pattern_type{})},
                     {"principal", e.principal},
                     {"host", e.host},
                     {"operation", name(e.operation, sec::acl_operation{})},
                     {"permission", name(e.permission, sec::acl_permission{})}});
    std::cout << json_text(out) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{{"PRINCIPAL", "HOST", "PERMISSION", "OPERATION", "RESOURCE", "NAME", "PATTERN"}};
  for (const auto& e : entries)
    rows.push_back({e.principal, e.host, name(e.permission, sec::acl_permission{}), name(e.operation, sec::acl_operation{}),
                    name(e.resource_type, sec::resource_type{}), e.resource_name, name(e.pattern_type, sec::pattern_type{})});
  print_table(rows);
}

void add_acl_options(CLI::App* cmd, acl_options& a, bool filter) {
  cmd->add_option("--principal", a.principal, "User:NAME (User:* for everyone)");
  // Not --host, which names the broker to talk to (a global flag, also taken after the command).
  cmd->add_option("--acl-host", a.host, filter ? "the binding's client address" : "the binding's client address (default: * any)");
  // --host after an acls command once set the binding's host. Taken for the broker now, an old
  // script's binding would silently get every host: refused instead (hidden from --help).
  cmd->add_option("--host", a.misplaced_host)
      ->group("")
      ->check(CLI::Validator(
          [](std::string&) {
            return std::string("after an acls command: the binding's host is --acl-host; the broker's --host goes before 'acls'");
          },
          ""));
  cmd->add_option("--operation", a.operation,
                  "all, read, write, create, delete, alter, describe, cluster_action, describe_configs, "
                  "alter_configs, idempotent_write");
  cmd->add_option("--permission", a.permission, filter ? "allow or deny" : "allow (default) or deny");
  cmd->add_option("--topic", a.topic, "a topic (or prefix, with --pattern prefixed)");
  cmd->add_option("--group", a.group, "a consumer group");
  cmd->add_option("--transactional-id", a.transactional_id, "a transactional id");
  cmd->add_flag("--cluster", a.cluster, "the cluster");
  cmd->add_option("--pattern", a.pattern, filter ? "any, match, literal or prefixed" : "literal (default) or prefixed");
}

}  // namespace

void add_security_commands(CLI::App& app, const common_options& o) {
  auto u = std::make_shared<user_options>();
  auto* users = app.add_subcommand("users", "users' SCRAM credentials: list, create (or change), delete");
  users->require_subcommand(1);
  auto* ls = users->add_subcommand("list", "every user and mechanism with a credential");
  add_listing_format(ls, u->format);
  ls->callback([u, &o] { list_users(o, *u); });
  auto* create = users->add_subcommand(
      "create", "set a user's password (PORTASK_NEW_PASSWORD or a prompt); only a salted form is sent");
  create->add_option("user", u->user, "user name")->required();
  create->add_option("--mechanism", u->mechanisms, "SCRAM-SHA-512 and/or SCRAM-SHA-256 (default: both)")
      ->check(CLI::IsMember({"SCRAM-SHA-512", "SCRAM-SHA-256"}));
  create->add_option("--iterations", u->iterations, "PBKDF2 iterations (4096 to 16384; default 4096, as Kafka's tools)")
      ->transform(decimal(sec::scram_min_iterations, sec::scram_max_iterations));
  create->callback([u, &o] {
    const auto password = read_secret("PORTASK_NEW_PASSWORD", "new password for " + u->user);
    // An empty PORTASK_NEW_PASSWORD, or Enter at the prompt, is a slip, not a password.
    if (password.empty()) throw usage_error("the new password for " + u->user + " is empty");
    auto c = open(o);
    for (const auto& m : u->mechanisms)
      check(c.upsert_user(u->user, password, m, u->iterations), "set " + m + " credential of " + u->user);
  });
  auto* remove = users->add_subcommand("delete", "delete a user's credentials");
  remove->add_option("user", u->user, "user name")->required();
  remove->add_option("--mechanism", u->mechanisms, "SCRAM-SHA-512 and/or SCRAM-SHA-256 (default: both)")
      ->check(CLI::IsMember({"SCRAM-SHA-512", "SCRAM-SHA-256"}));
  remove->callback([u, &o] {
    auto c = open(o);
    const auto have = check(c.list_users(), "list users");
    bool any = false;
    for (const auto& m : u->mechanisms)
      for (const auto& x : have)
        if (x.user == u->user && x.mechanism == m) {
          check(c.delete_user(u->user, m), "delete " + m + " credential of " + u->user);
          any = true;
        }
    if (!any) throw runtime_error("user " + u->user + " has no such credential");
  });

  auto a = std::make_shared<acl_options>();
  auto* acls = app.add_subcommand("acls", "ACL bindings (Kafka's model): list, create, delete");
  acls->require_subcommand(1);
  auto* acl_list = acls->add_subcommand("list", "the bindings matching the options (none: all)");
  add_acl_options(acl_list, *a, true);
  add_listing_format(acl_list, a->format);
  acl_list->callback([a, &o] {
    auto c = open(o);
    print_acls(check(c.list_acls({entry_of(*a, true)}), "list ACLs"), a->format);
  });
  auto* acl_create = acls->add_subcommand("create", "add one binding");
  add_acl_options(acl_create, *a, false);
  acl_create->callback([a, &o] {
    const auto binding = entry_of(*a, false);
    auto c = open(o);
    check(c.create_acls({binding}), "create ACL");
  });
  auto* acl_delete = acls->add_subcommand("delete", "delete every binding matching the options; prints them");
  add_acl_options(acl_delete, *a, true);
  add_listing_format(acl_delete, a->format);
  acl_delete->callback([a, &o] {
    const auto filter = entry_of(*a, true);
    if (a->principal.empty() && a->topic.empty() && a->group.empty() && a->transactional_id.empty() && !a->cluster)
      throw usage_error("delete needs at least --principal or a resource (deleting every binding is not a typo away)");
    auto c = open(o);
    print_acls(check(c.delete_acls({filter}), "delete ACLs"), a->format);
  });
}

}  // namespace portask::cli
