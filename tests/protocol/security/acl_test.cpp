// Kafka's authorization rules over a set of bindings: literal, wildcard and prefixed
// patterns, deny beats allow, implied DESCRIBE, super users, hosts (compared as addresses,
// however written), the no-ACL default; and the filters DescribeAcls and DeleteAcls select by.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/security/acl.hpp"

using namespace portask::protocol::security;

namespace {

acl_binding bind(resource_type r, std::string name, pattern_type p, std::string principal,
                 acl_operation op, acl_permission perm = acl_permission::allow, std::string host = "*") {
  return {r, std::move(name), p, std::move(principal), std::move(host), op, perm};
}

constexpr auto topic = resource_type::topic;
constexpr auto group = resource_type::group;
constexpr auto literal = pattern_type::literal;
constexpr auto prefixed = pattern_type::prefixed;

}  // namespace

TEST(Acl, ALiteralAllowGrantsThatOperationOnThatResourceOnly) {
  authorizer a({bind(topic, "A", literal, "User:alice", acl_operation::read)}, {}, false);
  const client_host peer("1.2.3.4");
  EXPECT_TRUE(a.allowed("User:alice", peer, acl_operation::read, topic, "A"));
  EXPECT_FALSE(a.allowed("User:alice", peer, acl_operation::read, topic, "B"));
  EXPECT_FALSE(a.allowed("User:alice", peer, acl_operation::write, topic, "A"));
  EXPECT_FALSE(a.allowed("User:bob", peer, acl_operation::read, topic, "A"));
  EXPECT_FALSE(a.allowed("User:alice", peer, acl_operation::read, group, "A"));
  // READ implies DESCRIBE, not the reverse.
  EXPECT_TRUE(a.allowed("User:alice", client_host("h"), acl_operation::describe, topic, "A"));
}

TEST(Acl, PrefixedAndWildcardPatterns) {
  authorizer a({bind(topic, "logs-", prefixed, "User:alice", acl_operation::write),
                bind(group, "*", literal, "User:*", acl_operation::read)},
               {}, false);
  const client_host h("h");
  EXPECT_TRUE(a.allowed("User:alice", h, acl_operation::write, topic, "logs-app"));
  EXPECT_TRUE(a.allowed("User:alice", h, acl_operation::write, topic, "logs-"));
  EXPECT_FALSE(a.allowed("User:alice", h, acl_operation::write, topic, "log"));
  EXPECT_TRUE(a.allowed("User:anyone", h, acl_operation::read, group, "g1"));
}

TEST(Acl, DenyBeatsAllowAndDenyAllDeniesEverything) {
  authorizer a({bind(topic, "*", literal, "User:*", acl_operation::all),
                bind(topic, "secret", literal, "User:eve", acl_operation::read, acl_permission::deny),
                bind(topic, "vault-", prefixed, "User:eve", acl_operation::all, acl_permission::deny)},
               {}, false);
  const client_host h("h");
  EXPECT_TRUE(a.allowed("User:eve", h, acl_operation::read, topic, "public"));
  EXPECT_FALSE(a.allowed("User:eve", h, acl_operation::read, topic, "secret"));
  EXPECT_TRUE(a.allowed("User:eve", h, acl_operation::write, topic, "secret"));
  EXPECT_FALSE(a.allowed("User:eve", h, acl_operation::describe, topic, "vault-1"));
  EXPECT_TRUE(a.allowed("User:bob", h, acl_operation::read, topic, "secret"));
}

TEST(Acl, HostsSuperUsersAndTheNoAclDefault) {
  const std::vector<acl_binding> bs{bind(topic, "A", literal, "User:alice", acl_operation::read,
                                         acl_permission::allow, "10.0.0.1")};
  authorizer deny_default(bs, {"User:admin"}, false);
  const client_host bound("10.0.0.1");
  const client_host h("h");
  EXPECT_TRUE(deny_default.allowed("User:alice", bound, acl_operation::read, topic, "A"));
  EXPECT_FALSE(deny_default.allowed("User:alice", client_host("10.0.0.2"), acl_operation::read, topic, "A"));
  EXPECT_TRUE(deny_default.allowed("User:admin", client_host("x"), acl_operation::alter, resource_type::cluster,
                                   cluster_resource_name));
  EXPECT_FALSE(deny_default.allowed("User:alice", bound, acl_operation::read, topic, "unnamed"));
  authorizer allow_default(bs, {}, true);
  EXPECT_TRUE(allow_default.allowed("User:bob", h, acl_operation::write, topic, "unnamed"));
  // A resource some binding names is governed by its bindings even then.
  EXPECT_FALSE(allow_default.allowed("User:bob", h, acl_operation::read, topic, "A"));
}

TEST(Acl, AddressesAreParsedWithIPv4MappedIPv6AsIPv4) {
  const auto v4 = parse_ip_address("127.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->size, 4);
  EXPECT_EQ(parse_ip_address("::ffff:127.0.0.1"), v4);
  EXPECT_EQ(parse_ip_address("::FFFF:7f00:1"), v4);
  EXPECT_EQ(parse_ip_address("0:0:0:0:0:ffff:127.0.0.1"), v4);
  const auto loopback6 = parse_ip_address("::1");
  ASSERT_TRUE(loopback6);
  EXPECT_EQ(loopback6->size, 16);
  EXPECT_EQ(parse_ip_address("0:0:0:0:0:0:0:1"), loopback6);
  EXPECT_EQ(parse_ip_address("0000:0000:0000:0000:0000:0000:0000:0001"), loopback6);
  EXPECT_EQ(parse_ip_address("2001:DB8::A"), parse_ip_address("2001:db8:0:0:0:0:0:a"));
  EXPECT_NE(parse_ip_address("::1"), v4);
  // The deprecated IPv4-compatible form is another IPv6 address, not the IPv4 one.
  EXPECT_NE(parse_ip_address("::127.0.0.1"), v4);
  EXPECT_NE(parse_ip_address("::ffff:127.0.0.2"), v4);
  const std::vector<std::string> not_addresses{
      "", "*", "localhost", "broker.example", "127.0.0.256", "127.1", " 127.0.0.1", "127.0.0.1 ", "fe80::1%eth0",
      "[::1]", "::1::2", "1:2:3:4:5:6:7:8:9", std::string(64, '1'), std::string("127.0.0.1\0junk", 14)};
  for (const auto& text : not_addresses)
    EXPECT_FALSE(parse_ip_address(text)) << "'" << text << "'";
}

// A dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d, and IPv6 has many spellings of
// one address: a binding applies to its host however either side writes it.
TEST(Acl, BindingHostsMatchClientsAsAddresses) {
  authorizer a({bind(topic, "v4", literal, "User:alice", acl_operation::read, acl_permission::allow, "127.0.0.1"),
                bind(topic, "v6", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "0:0:0:0:0:0:0:1"),
                bind(topic, "mapped", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "::ffff:10.0.0.5"),
                bind(topic, "any", literal, "User:alice", acl_operation::read),
                bind(topic, "named", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "broker.example"),
                bind(topic, "*", literal, "User:alice", acl_operation::write),
                bind(topic, "v4", literal, "User:alice", acl_operation::write, acl_permission::deny,
                     "::FFFF:127.0.0.1")},
               {}, false);
  const auto read = acl_operation::read;
  EXPECT_TRUE(a.allowed("User:alice", client_host("127.0.0.1"), read, topic, "v4"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("::ffff:127.0.0.1"), read, topic, "v4"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("127.0.0.2"), read, topic, "v4"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("::1"), read, topic, "v4"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("::1"), read, topic, "v6"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("0::1"), read, topic, "v6"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("::2"), read, topic, "v6"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("0.0.0.1"), read, topic, "v6"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("10.0.0.5"), read, topic, "mapped"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("::ffff:10.0.0.5"), read, topic, "mapped"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("10.0.0.6"), read, topic, "mapped"));
  // "*" is every client, also one whose address is unknown.
  for (const char* host : {"127.0.0.1", "::1", "unknown", ""})
    EXPECT_TRUE(a.allowed("User:alice", client_host(host), read, topic, "any")) << host;
  // Text that is no address matches only itself (names are not resolved).
  EXPECT_TRUE(a.allowed("User:alice", client_host("broker.example"), read, topic, "named"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("Broker.example"), read, topic, "named"));
  EXPECT_FALSE(a.allowed("User:alice", client_host("127.0.0.1"), read, topic, "named"));
  // A DENY's host is matched the same way: written as mapped, it holds the IPv4 client back.
  EXPECT_FALSE(a.allowed("User:alice", client_host("127.0.0.1"), acl_operation::write, topic, "v4"));
  EXPECT_TRUE(a.allowed("User:alice", client_host("127.0.0.2"), acl_operation::write, topic, "v4"));
  authorizer some({bind(topic, "t", literal, "User:p", acl_operation::write, acl_permission::allow, "::1")}, {},
                  false);
  EXPECT_TRUE(some.allowed_on_some("User:p", client_host("0:0:0:0:0:0:0:1"), acl_operation::write, topic));
  EXPECT_FALSE(some.allowed_on_some("User:p", client_host("127.0.0.1"), acl_operation::write, topic));
}

// A connection parses its peer once (client_host) and checks every request with it: the
// decisions are those for its text parsed anew for each check, for every kind of host,
// however often the one client_host is used.
TEST(Acl, AClientHostParsedOnceDecidesAsItsText) {
  authorizer a({bind(topic, "v4", literal, "User:alice", acl_operation::read, acl_permission::allow, "10.0.0.5"),
                bind(topic, "mapped", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "::ffff:10.0.0.5"),
                bind(topic, "v6", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "0:0:0:0:0:0:0:1"),
                bind(topic, "named", literal, "User:alice", acl_operation::read, acl_permission::allow,
                     "broker.example"),
                bind(topic, "any", literal, "User:alice", acl_operation::read),
                bind(topic, "denied", literal, "User:alice", acl_operation::read),
                bind(topic, "denied", literal, "User:alice", acl_operation::read, acl_permission::deny, "::1"),
                bind(group, "g", literal, "User:alice", acl_operation::read, acl_permission::allow, "::1")},
               {}, false);
  const std::vector<std::string> topics{"v4", "mapped", "v6", "named", "any", "denied"};
  struct expected {
    std::string host;
    std::vector<bool> on_topics;  ///< READ on each of `topics`
    bool on_some_group;
  };
  const std::vector<expected> cases{
      {"10.0.0.5", {true, true, false, false, true, true}, false},
      {"::ffff:10.0.0.5", {true, true, false, false, true, true}, false},
      {"::1", {false, false, true, false, true, false}, true},
      {"0:0:0:0:0:0:0:1", {false, false, true, false, true, false}, true},
      {"broker.example", {false, false, false, true, true, true}, false},
      {"10.0.0.6", {false, false, false, false, true, true}, false},
      {"*", {false, false, false, false, true, true}, false},
  };
  for (const auto& c : cases) {
    const client_host host(c.host);
    EXPECT_EQ(host.text(), c.host);
    EXPECT_EQ(host.address(), parse_ip_address(c.host)) << c.host;
    for (int round = 0; round < 2; ++round) {
      for (std::size_t t = 0; t < topics.size(); ++t) {
        EXPECT_EQ(a.allowed("User:alice", host, acl_operation::read, topic, topics[t]), c.on_topics[t])
            << c.host << " " << topics[t];
        EXPECT_EQ(a.allowed("User:alice", client_host(c.host), acl_operation::read, topic, topics[t]),
                  c.on_topics[t])
            << c.host << " " << topics[t] << " parsed anew";
      }
      EXPECT_EQ(a.allowed_on_some("User:alice", host, acl_operation::read, group), c.on_some_group) << c.host;
      EXPECT_EQ(a.allowed_on_some("User:alice", client_host(c.host), acl_operation::read, group), c.on_some_group)
          << c.host << " parsed anew";
    }
  }
  // A connection's host before it is known is empty text and no address: only "*" applies.
  const client_host unknown{};
  EXPECT_FALSE(unknown.address());
  EXPECT_TRUE(a.allowed("User:alice", unknown, acl_operation::read, topic, "any"));
  EXPECT_FALSE(a.allowed("User:alice", unknown, acl_operation::read, topic, "v4"));
}

// Kafka accepts any host text in CreateAcls, so Portask does; it keeps the text as given.
TEST(Acl, AnyHostTextButAnEmptyOneMayBeCreated) {
  for (const char* host : {"*", "127.0.0.1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "broker.example"})
    EXPECT_EQ(invalid_binding(bind(topic, "t", literal, "User:x", acl_operation::read, acl_permission::allow, host)),
              "")
        << host;
  EXPECT_NE(invalid_binding(bind(topic, "t", literal, "User:x", acl_operation::read, acl_permission::allow, "")),
            "");
}

// A filter's host finds every binding for that host, however either writes it: DeleteAcls for
// 127.0.0.1 must not leave a binding for ::ffff:127.0.0.1 in force. "*" selects the bindings
// for any host, not every binding, as in Kafka.
TEST(Acl, FilterHostsSelectBindingsForTheSameAddress) {
  const auto v4 = bind(topic, "t", literal, "User:a", acl_operation::read, acl_permission::allow, "127.0.0.1");
  const auto mapped = bind(topic, "t", literal, "User:a", acl_operation::read, acl_permission::allow,
                           "::ffff:127.0.0.1");
  const auto v6 = bind(topic, "t", literal, "User:a", acl_operation::read, acl_permission::allow, "0:0:0:0:0:0:0:1");
  const auto any = bind(topic, "t", literal, "User:a", acl_operation::read);
  const auto named = bind(topic, "t", literal, "User:a", acl_operation::read, acl_permission::allow, "broker.example");
  acl_filter f;
  f.host = "127.0.0.1";
  EXPECT_TRUE(matches(f, v4));
  EXPECT_TRUE(matches(f, mapped));
  EXPECT_FALSE(matches(f, v6));
  EXPECT_FALSE(matches(f, any));
  EXPECT_FALSE(matches(f, named));
  f.host = "::1";
  EXPECT_TRUE(matches(f, v6));
  EXPECT_FALSE(matches(f, v4));
  f.host = "*";
  EXPECT_TRUE(matches(f, any));
  EXPECT_FALSE(matches(f, v4));
  f.host = "broker.example";
  EXPECT_TRUE(matches(f, named));
  EXPECT_FALSE(matches(f, any));
  EXPECT_TRUE(same_host("::FFFF:127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(same_host("*", "127.0.0.1"));
}

TEST(Acl, AlterConfigsImpliesDescribeConfigs) {
  authorizer a({bind(topic, "t", literal, "User:o", acl_operation::alter_configs)}, {}, false);
  const client_host h("h");
  EXPECT_TRUE(a.allowed("User:o", h, acl_operation::describe_configs, topic, "t"));
  EXPECT_FALSE(a.allowed("User:o", h, acl_operation::alter, topic, "t"));
}

TEST(Acl, AllowedOnSomeResourceOfAType) {
  authorizer a({bind(topic, "A", literal, "User:p", acl_operation::write),
                bind(topic, "*", literal, "User:q", acl_operation::write, acl_permission::deny),
                bind(topic, "B", literal, "User:q", acl_operation::write)},
               {}, false);
  const client_host h("h");
  EXPECT_TRUE(a.allowed_on_some("User:p", h, acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:p", h, acl_operation::read, topic));
  EXPECT_FALSE(a.allowed_on_some("User:q", h, acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:r", h, acl_operation::write, topic));
}

TEST(Acl, AllowedOnSomeIsRefusedWhereDenialsCoverEveryAllow) {
  const auto deny = acl_permission::deny;
  authorizer a({// p: its one ALLOW is denied by the same literal
                bind(topic, "A", literal, "User:p", acl_operation::write),
                bind(topic, "A", literal, "User:p", acl_operation::write, deny),
                // q: a DENY prefix covers the ALLOW's name, and another covers its prefix
                bind(topic, "orders", literal, "User:q", acl_operation::write),
                bind(topic, "ord", prefixed, "User:q", acl_operation::write, deny),
                bind(topic, "logs-eu", prefixed, "User:q", acl_operation::write),
                bind(topic, "logs-", prefixed, "User:q", acl_operation::all, deny),
                // r: a DENY prefix longer than the ALLOW prefix leaves some names allowed
                bind(topic, "m", prefixed, "User:r", acl_operation::write),
                bind(topic, "metrics", prefixed, "User:r", acl_operation::write, deny),
                // s: ALL allows; an implied operation does not count, as in Kafka
                bind(topic, "x", literal, "User:s", acl_operation::all),
                bind(topic, "y", literal, "User:t", acl_operation::write)},
               {}, false);
  const client_host h("h");
  EXPECT_FALSE(a.allowed_on_some("User:p", h, acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:q", h, acl_operation::write, topic));
  EXPECT_TRUE(a.allowed_on_some("User:r", h, acl_operation::write, topic));
  EXPECT_TRUE(a.allowed_on_some("User:s", h, acl_operation::write, topic));
  EXPECT_FALSE(a.allowed_on_some("User:t", h, acl_operation::describe, topic));
  // A denial for another host or principal does not count.
  authorizer b({bind(topic, "A", literal, "User:p", acl_operation::write),
                bind(topic, "A", literal, "User:other", acl_operation::write, deny)},
               {}, false);
  EXPECT_TRUE(b.allowed_on_some("User:p", h, acl_operation::write, topic));
  // With allow_if_no_acl, a topic no binding names will do; a DENY of "*" names them all.
  authorizer c({bind(topic, "A", literal, "User:p", acl_operation::write, deny)}, {}, true);
  EXPECT_TRUE(c.allowed_on_some("User:p", h, acl_operation::write, topic));
  authorizer d({bind(topic, "*", literal, "User:*", acl_operation::write, deny)}, {}, true);
  EXPECT_FALSE(d.allowed_on_some("User:p", h, acl_operation::write, topic));
}

TEST(Acl, InvalidBindingsAreNamed) {
  auto good = bind(topic, "t", literal, "User:x", acl_operation::read);
  EXPECT_EQ(invalid_binding(good), "");
  auto b = good;
  b.pattern = pattern_type::match;
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.principal = "Group:x";
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.resource = resource_type::cluster;
  EXPECT_NE(invalid_binding(b), "");
  b.name = "kafka-cluster";
  EXPECT_EQ(invalid_binding(b), "");
  b = good;
  b.operation = acl_operation::any;
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.permission = acl_permission::any;
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.pattern = prefixed;
  b.name = "*";
  EXPECT_NE(invalid_binding(b), "");
  // Listed back in Kafka strings: each at most 32,767 bytes.
  b = good;
  b.name = std::string(32767, 'n');
  EXPECT_EQ(invalid_binding(b), "");
  b.name += 'n';
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.principal = "User:" + std::string(32763, 'p');
  EXPECT_NE(invalid_binding(b), "");
  b = good;
  b.host = std::string(32768, 'h');
  EXPECT_NE(invalid_binding(b), "");
}

TEST(Acl, FiltersSelectAsDescribeAclsDoes) {
  const auto lit = bind(topic, "orders", literal, "User:a", acl_operation::read);
  const auto wild = bind(topic, "*", literal, "User:a", acl_operation::read);
  const auto pre = bind(topic, "ord", prefixed, "User:b", acl_operation::write, acl_permission::deny);
  acl_filter any;
  EXPECT_TRUE(matches(any, lit) && matches(any, wild) && matches(any, pre));
  acl_filter m;
  m.pattern = pattern_type::match;
  m.name = "orders";
  EXPECT_TRUE(matches(m, lit) && matches(m, wild) && matches(m, pre));
  m.name = "other";
  EXPECT_FALSE(matches(m, lit));
  EXPECT_TRUE(matches(m, wild));
  EXPECT_FALSE(matches(m, pre));
  acl_filter l;
  l.pattern = literal;
  l.name = "orders";
  EXPECT_TRUE(matches(l, lit));
  EXPECT_FALSE(matches(l, wild));
  acl_filter by_principal;
  by_principal.principal = "User:b";
  EXPECT_FALSE(matches(by_principal, lit));
  EXPECT_TRUE(matches(by_principal, pre));
  acl_filter perm;
  perm.permission = acl_permission::deny;
  EXPECT_TRUE(matches(perm, pre));
  EXPECT_FALSE(matches(perm, lit));
}

TEST(Acl, NamesReadAsKafkaToolsWriteThem) {
  EXPECT_EQ(acl_operation_named("Read"), acl_operation::read);
  EXPECT_EQ(acl_operation_named("DESCRIBE_CONFIGS"), acl_operation::describe_configs);
  EXPECT_EQ(acl_operation_named("describe-configs"), acl_operation::describe_configs);
  EXPECT_EQ(acl_operation_named("Delete"), acl_operation::remove);
  EXPECT_EQ(resource_type_named("topic"), resource_type::topic);
  EXPECT_EQ(pattern_type_named("Prefixed"), pattern_type::prefixed);
  EXPECT_EQ(acl_permission_named("deny"), acl_permission::deny);
  EXPECT_FALSE(acl_operation_named("fly"));
  EXPECT_EQ(to_string(acl_operation::idempotent_write), "IDEMPOTENT_WRITE");
}
