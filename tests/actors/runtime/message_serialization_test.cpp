// Every type a message carries between actors goes through CAF's binary serialisation and
// comes back equal: as a value, and inside a caf::message read back by its registered name.
// That is what sending them between nodes needs. Which types: every element of every typed
// interface (a compile-time check below), plus what untyped actors receive.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "actors/interfaces.hpp"

using namespace portask;

namespace {

// -- the types -------------------------------------------------------------------------------

/// Every typed interface of interfaces.hpp (the test below checks that none is missing).
using interfaces = all_interfaces;

/// Every type tested: what the interfaces carry, what untyped actors receive (a session's
/// frames and framing errors: frame_atom, closed_atom), and the element types of the vectors
/// (registering T registers std::vector<T>).
using message_types = caf::detail::type_list<
    // the pipeline
    publish_batch, std::vector<publish_batch>, publish_result, publish_reply,
    std::vector<publish_reply>, framed_batch, std::vector<framed_batch>, append_set,
    append_outcome, fetch_request,
    fetch_result, partition_recovery, stored_group, producer_summary, std::vector<producer_summary>,
    topic_description, partition_actor,
    // the store's types
    topic_partition, std::vector<topic_partition>, storage::topic_info,
    std::vector<storage::topic_info>, storage::topic_id, storage::config_entries,
    storage::partition_bounds, storage::producer_snapshot, storage::stored_batch,
    std::vector<storage::stored_batch>, storage::compacted_batch,
    std::vector<storage::compacted_batch>, storage::log_compaction, storage::committed_offset, storage::group_offset,
    std::vector<storage::group_offset>, storage::group_metadata, storage::group_listing,
    std::vector<storage::group_listing>,
    // consumer groups
    join_group_request, join_group_result, sync_group_request, sync_group_result, member_ref,
    std::vector<member_ref>, commit_offsets_request, group_description,
    std::vector<group_description>, group_coordinator_actor, std::vector<std::int32_t>,
    // the supervisor's directory, and the cluster actor it is told of
    actor_directory, cluster_actor, directory_follower_actor,
    // hook events and subscriptions
    connect_event, disconnect_event, message_event, connect_subscriber_actor,
    disconnect_subscriber_actor, message_subscriber_actor,
    // an HTTP request
    http_request,
    // credentials and ACLs
    storage::user_credential, protocol::security::scram_credential, protocol::security::scram_mechanism,
    protocol::security::acl_binding, std::vector<protocol::security::acl_binding>,
    protocol::security::acl_filter, std::vector<protocol::security::acl_filter>,
    // a session's frames and framing errors
    protocol::buffer, std::vector<protocol::buffer>, errc>;

template <class T, class List>
struct contains;
template <class T, class... Ts>
struct contains<T, caf::detail::type_list<Ts...>> : std::disjunction<std::is_same<T, Ts>...> {};

/// Whether a message element is ours to make serialisable: CAF's builtin types (they have a
/// type number) and atoms need nothing.
template <class T>
constexpr bool ours =
    !std::is_void_v<T> && !caf::is_atom_constant<T>::value && caf::type_nr<T>::value == 0;

// One function per element type, so a failure names the type.
template <class T>
constexpr bool tested() {
  static_assert(!ours<T> || contains<T, message_types>::value,
                "an interface carries a type missing from message_types (and probably from "
                "configure_actor_system and message_inspect.hpp)");
  return true;
}

template <class Signature>
struct signature_tested;
template <class... In, class... Out>
struct signature_tested<caf::typed_mpi<caf::detail::type_list<In...>, caf::output_tuple<Out...>>> {
  static constexpr bool value = (tested<In>() && ...) && (tested<Out>() && ...);
};

template <class Interface>
struct interface_tested;
template <class... Signatures>
struct interface_tested<caf::typed_actor<Signatures...>> {
  static constexpr bool value = (signature_tested<Signatures>::value && ...);
};

template <class... Interfaces>
constexpr bool every_element_tested(caf::detail::type_list<Interfaces...>) {
  return (interface_tested<Interfaces>::value && ...);
}
static_assert(every_element_tested(interfaces{}));

// Serialisable through inspect(), not let through as an unsafe type.
template <class... Ts>
constexpr bool all_serialisable(caf::detail::type_list<Ts...>) {
  return ((caf::detail::is_serializable<Ts>::value &&
           !caf::allowed_unsafe_message_type<Ts>::value) &&
          ...);
}
static_assert(all_serialisable(message_types{}));

// -- a value of each, every field set --------------------------------------------------------

template <class T>
struct tag {};

template <class T>
struct named {
  std::string name;  ///< the name configure_actor_system registers it under
  T value;           ///< no field left at its default
};

topic_partition partition() { return {"orders", 3}; }
protocol::shared_bytes frame() {
  return protocol::shared_bytes::adopt({0x50, 0x4f, 0x52, 0x54, 1});
}
producer_sequence sequence() { return {7, 2, 40, 44}; }
protocol::message_batch messages() {
  protocol::message m{42, "orders", 3, "key", "value", {{"trace", "abc"}},
                      1'700'000'000'000, 5, 1'700'000'600'000, 12};
  return {{m}};
}
storage::stored_batch stored() {
  return {100, 3, 1'700'000'000'000, frame(), {7, 2, 40}, 4096, 1'700'000'000'500};
}
storage::partition_bounds bounds() { return {10, 103, 512, 4096, 1'700'000'000'500}; }
storage::producer_batch producer_batch() { return {7, 2, 40, 44, 100, 3, 1'700'000'000'000}; }
storage::topic_info topic() {
  return {"orders", 6, {{"retention.ms", "60000"}},
          {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
}
storage::group_offset group_offset() {
  return {partition(), {55, "checkpoint", 7, 1'700'000'000'000, 1'700'000'060'000}};
}
member_ref member() { return {"member-1", "instance-1", 4}; }
group_member_description member_description() {
  return {"member-1", "instance-1", "client-1", "10.0.0.1", "metadata", "assignment", 30000, 60000};
}

// Actor handles: an actor that is never asked anything. Its arguments go through spawn():
// CAF 0.17 binds a null argument tuple for a functor without arguments, which UBSan reports.
caf::behavior idle(caf::event_based_actor*, int) {
  return {[](tick_atom) {}};
}

/// A handle to an idle actor; without a system, an invalid one (for the name alone).
template <class Handle>
Handle idle_handle(caf::actor_system* sys) {
  return sys ? caf::actor_cast<Handle>(sys->spawn(idle, 0)) : Handle{};
}

named<publish_batch> sample(tag<publish_batch>) {
  return {"portask.publish_batch",
          {partition(), messages(), protocol_kind::kafka, false, 1234, sequence(), true, frame(),
           protocol::buffer{9, 8, 7, 1, 5, 3}, 3, protocol::binary_batch_scan{1, 2, 10, 20, true, true, true, true, 5}}};
}
named<publish_result> sample(tag<publish_result>) {
  return {"portask.publish_result", {3, 100, 3, true, 10}};
}
named<publish_reply> sample(tag<publish_reply>) {
  return {"portask.publish_reply", {errc::backpressure, {3, 100, 3, true, 10}}};
}
named<framed_batch> sample(tag<framed_batch>) {
  return {"portask.framed_batch", {frame(), 3, 1'700'000'000'000, sequence(), frame(), true}};
}
named<append_set> sample(tag<append_set>) {
  return {"portask.append_set", {partition(), {stored()}, "2:7:run-token"}};
}
named<append_outcome> sample(tag<append_outcome>) {
  return {"portask.append_outcome", {{errc::timeout, errc::offset_conflict}}};
}
named<fetch_request> sample(tag<fetch_request>) {
  return {"portask.fetch_request", {partition(), 100, 4096, 500, protocol_kind::kafka, false, 9}};
}
named<fetch_result> sample(tag<fetch_result>) {
  return {"portask.fetch_result", {3, 103, 10, {stored()}, {frame()}}};
}
named<partition_recovery> sample(tag<partition_recovery>) {
  return {"portask.partition_recovery", {bounds(), {90, {producer_batch()}}}};
}
named<stored_group> sample(tag<stored_group>) {
  return {"portask.stored_group", {{"connect", 7}, {group_offset()}}};
}
named<producer_summary> sample(tag<producer_summary>) {
  return {"portask.producer_summary", {7, 2, 44, 1'700'000'000'000}};
}
named<topic_description> sample(tag<topic_description>) {
  return {"portask.topic_description", {topic(), {bounds()}}};
}
named<partition_actor> sample(tag<partition_actor>, caf::actor_system* sys) {
  return {"portask.partition_actor", idle_handle<partition_actor>(sys)};
}
named<connect_subscriber_actor> sample(tag<connect_subscriber_actor>, caf::actor_system* sys) {
  return {"portask.connect_subscriber_actor", idle_handle<connect_subscriber_actor>(sys)};
}
named<disconnect_subscriber_actor> sample(tag<disconnect_subscriber_actor>,
                                          caf::actor_system* sys) {
  return {"portask.disconnect_subscriber_actor", idle_handle<disconnect_subscriber_actor>(sys)};
}
named<message_subscriber_actor> sample(tag<message_subscriber_actor>, caf::actor_system* sys) {
  return {"portask.message_subscriber_actor", idle_handle<message_subscriber_actor>(sys)};
}
named<topic_partition> sample(tag<topic_partition>) {
  return {"portask.topic_partition", partition()};
}
named<storage::topic_info> sample(tag<storage::topic_info>) {
  return {"portask.topic_info", topic()};
}
named<storage::topic_id> sample(tag<storage::topic_id>) {
  return {"portask.topic_id", topic().id};
}
named<storage::config_entries> sample(tag<storage::config_entries>) {
  return {"portask.config_entries", {{"retention.ms", "60000"}, {"cleanup.policy", "delete"}}};
}
named<storage::partition_bounds> sample(tag<storage::partition_bounds>) {
  return {"portask.partition_bounds", bounds()};
}
named<storage::producer_snapshot> sample(tag<storage::producer_snapshot>) {
  return {"portask.producer_snapshot", {90, {producer_batch()}, {8}}};
}
named<storage::stored_batch> sample(tag<storage::stored_batch>) {
  return {"portask.stored_batch", stored()};
}
named<storage::compacted_batch> sample(tag<storage::compacted_batch>) {
  return {"portask.compacted_batch", {stored(), true}};
}
named<storage::log_compaction> sample(tag<storage::log_compaction>) {
  return {"portask.log_compaction", {100, 103, 4096, {{stored(), true}}, "2:7:run-token"}};
}
named<storage::committed_offset> sample(tag<storage::committed_offset>) {
  return {"portask.committed_offset", {55, "checkpoint", 7, 1'700'000'000'000, 1'700'000'060'000}};
}
named<storage::group_offset> sample(tag<storage::group_offset>) {
  return {"portask.group_offset", group_offset()};
}
named<storage::group_metadata> sample(tag<storage::group_metadata>) {
  return {"portask.group_metadata", {"connect", 7}};
}
named<storage::group_listing> sample(tag<storage::group_listing>) {
  return {"portask.group_listing", {"group-1", {"connect", 7}}};
}
named<join_group_request> sample(tag<join_group_request>) {
  return {"portask.join_group_request",
          {"member-1", "instance-1", "client-1", "10.0.0.1", 30000, 60000, "consumer",
           {{"range", "metadata"}}, true, true}};
}
named<join_group_result> sample(tag<join_group_result>) {
  return {"portask.join_group_result",
          {errc::member_id_required, 4, "consumer", "range", "member-1", "member-2",
           {{"member-1", "instance-1", "metadata"}}, true}};
}
named<sync_group_request> sample(tag<sync_group_request>) {
  return {"portask.sync_group_request",
          {"member-1", "instance-1", 4, "consumer", "range", {{"member-1", "assignment"}}}};
}
named<sync_group_result> sample(tag<sync_group_result>) {
  return {"portask.sync_group_result",
          {errc::rebalance_in_progress, "consumer", "range", "assignment"}};
}
named<member_ref> sample(tag<member_ref>) { return {"portask.member_ref", member()}; }
named<commit_offsets_request> sample(tag<commit_offsets_request>) {
  return {"portask.commit_offsets_request", {member(), {group_offset()}}};
}
named<group_description> sample(tag<group_description>) {
  return {"portask.group_description",
          {"group-1", errc::rebalance_in_progress, "PreparingRebalance", "consumer", "range", 4,
           "member-1", {member_description()}}};
}
named<group_coordinator_actor> sample(tag<group_coordinator_actor>, caf::actor_system* sys) {
  return {"portask.group_coordinator_actor", idle_handle<group_coordinator_actor>(sys)};
}
named<std::vector<std::int32_t>> sample(tag<std::vector<std::int32_t>>) {
  return {"portask.int32_vector", {78, 79}};
}
named<connect_event> sample(tag<connect_event>) {
  return {"portask.connect_event", {protocol_kind::kafka, "10.0.0.1:50000"}};
}
named<disconnect_event> sample(tag<disconnect_event>) {
  return {"portask.disconnect_event", {protocol_kind::kafka, "10.0.0.1:50000"}};
}
named<message_event> sample(tag<message_event>) {
  return {"portask.message_event",
          {protocol_kind::kafka, partition(), 100,
           std::make_shared<const protocol::message_batch>(messages())}};
}
named<http_request> sample(tag<http_request>) {
  return {"portask.http_request", {"POST", "/api/topics?x=1", R"({"name":"orders"})"}};
}
named<protocol::buffer> sample(tag<protocol::buffer>) { return {"portask.buffer", {1, 2, 3}}; }
named<errc> sample(tag<errc>) { return {"portask.errc", errc::storage_unavailable}; }
protocol::security::scram_credential scram_credential() {
  return {protocol::security::scram_mechanism::sha512, "salt", 8192, std::string(64, 's'), std::string(64, 'k')};
}
named<protocol::security::scram_credential> sample(tag<protocol::security::scram_credential>) {
  return {"portask.scram_credential", scram_credential()};
}
named<storage::user_credential> sample(tag<storage::user_credential>) {
  return {"portask.user_credential", {"alice", scram_credential()}};
}
named<protocol::security::scram_mechanism> sample(tag<protocol::security::scram_mechanism>) {
  return {"portask.scram_mechanism", protocol::security::scram_mechanism::sha512};
}
named<protocol::security::acl_binding> sample(tag<protocol::security::acl_binding>) {
  namespace sec = protocol::security;
  return {"portask.acl_binding",
          {sec::resource_type::group, "g-", sec::pattern_type::prefixed, "User:alice", "10.0.0.1",
           sec::acl_operation::read, sec::acl_permission::deny}};
}
named<protocol::security::acl_filter> sample(tag<protocol::security::acl_filter>) {
  namespace sec = protocol::security;
  return {"portask.acl_filter",
          {sec::resource_type::topic, "orders", sec::pattern_type::match, "User:bob", "10.0.0.2",
           sec::acl_operation::write, sec::acl_permission::allow}};
}

named<cluster_actor> sample(tag<cluster_actor>, caf::actor_system* sys) {
  return {"portask.cluster_actor", idle_handle<cluster_actor>(sys)};
}
named<directory_follower_actor> sample(tag<directory_follower_actor>, caf::actor_system* sys) {
  return {"portask.directory_follower_actor", idle_handle<directory_follower_actor>(sys)};
}
named<actor_directory> sample(tag<actor_directory>, caf::actor_system* sys) {
  return {"portask.actor_directory",
          {{idle_handle<storage_writer_actor>(sys)},
           {idle_handle<storage_reader_actor>(sys), idle_handle<storage_reader_actor>(sys)},
           {idle_handle<protocol_bridge_actor>(sys)},
           idle_handle<topic_registry_actor>(sys),
           idle_handle<group_directory_actor>(sys),
           idle_handle<hooks_actor>(sys),
           idle_handle<security_actor>(sys),
           idle_handle<cluster_actor>(sys)}};
}

// A vector registered with its element type: one element.
template <class T>
named<std::vector<T>> sample(tag<std::vector<T>>) {
  auto element = sample(tag<T>{});
  return {"std::vector<" + element.name + ">", {element.value}};
}

template <class T>
named<T> make_sample(caf::actor_system* sys) {
  if constexpr (requires { sample(tag<T>{}, sys); })
    return sample(tag<T>{}, sys);
  else
    return sample(tag<T>{});
}

// -- every field set, every member inspected -------------------------------------------------

/// Hands the arguments of the f(...) call an inspect() overload makes to `fn`.
template <class F>
struct field_visitor {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  F& fn;
  template <class... Ts>
  void operator()(Ts&&... xs) {
    fn(xs...);
  }
};

template <class T, class F>
void visit_fields(const T& x, F fn) {
  field_visitor<F> v{fn};
  inspect(v, const_cast<T&>(x));  // a reading inspector: nothing is written
}

/// Converts to any member type: an aggregate takes as many of these as it has members.
struct any_member {
  template <class T>
  operator T&() const&&;  // unevaluated only
};

template <class T, class... Members>
constexpr std::size_t member_count() {
  if constexpr (requires { T{Members{}..., any_member{}}; })
    return member_count<T, Members..., any_member>();
  else
    return sizeof...(Members);
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_shared_ptr : std::false_type {};
template <class T>
struct is_shared_ptr<std::shared_ptr<T>> : std::true_type {};
template <class T>
struct is_pair : std::false_type {};
template <class F, class S>
struct is_pair<std::pair<F, S>> : std::true_type {};

struct no_op {
  template <class... Ts>
  void operator()(Ts&...) const {}
};
/// A struct with an inspect() overload of ours (CAF's own types are leaves here).
template <class T>
constexpr bool has_fields = requires(field_visitor<no_op>& v, T& x) { inspect(v, x); };

template <class T>
void find_unset(const T& set, const T& unset, const std::string& where,
                std::vector<std::string>& out);

template <class T>
void find_unset_fields(const T& set, const T& unset, const std::string& where,
                       std::vector<std::string>& out) {
  visit_fields(set, [&](auto&... s) {
    visit_fields(unset, [&](auto&... u) {
      constexpr std::size_t named_fields =
          (std::size_t{0} + ... +
           (caf::meta::is_annotation<std::decay_t<decltype(s)>>::value ? 0 : 1));
      static_assert(named_fields == member_count<T>(),
                    "an inspect() overload leaves out a member (or names one twice)");
      std::size_t i = 0;
      auto field = [&](const auto& a, const auto& b) {
        if constexpr (!caf::meta::is_annotation<std::decay_t<decltype(a)>>::value)
          find_unset(a, b, where + "." + std::to_string(i++), out);
      };
      (field(s, u), ...);
    });
  });
}

/// Adds to `out` where `set` still holds what a default-constructed value holds (`unset`):
/// empty containers, absent optionals, fields equal to their default.
template <class T>
void find_unset(const T& set, const T& unset, const std::string& where,
                std::vector<std::string>& out) {
  if constexpr (caf::is_typed_actor<T>::value) {
    if (set == unset) out.push_back(where);
  } else if constexpr (is_vector<T>::value) {
    if (set.empty()) out.push_back(where + " (empty)");
    for (std::size_t i = 0; i < set.size(); ++i)
      find_unset(set[i], typename T::value_type{}, where + "[" + std::to_string(i) + "]", out);
  } else if constexpr (is_optional<T>::value) {
    if (!set) return out.push_back(where + " (absent)");
    find_unset(*set, unset ? *unset : typename T::value_type{}, where, out);
  } else if constexpr (is_shared_ptr<T>::value) {
    if (!set) return out.push_back(where + " (null)");
    using value_type = std::remove_const_t<typename T::element_type>;
    find_unset<value_type>(*set, unset ? *unset : value_type{}, where, out);
  } else if constexpr (is_pair<T>::value) {
    find_unset(set.first, unset.first, where + ".first", out);
    find_unset(set.second, unset.second, where + ".second", out);
  } else if constexpr (std::is_same_v<T, protocol::shared_bytes>) {
    if (set.empty() || set == unset) out.push_back(where);
  } else if constexpr (has_fields<T>) {
    find_unset_fields(set, unset, where, out);
  } else {
    if (set == unset) out.push_back(where);
  }
}

// -- saving and loading ----------------------------------------------------------------------

/// `x` saved and loaded again through CAF's binary format.
template <class T>
T round_trip(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto saved = x;
  if (auto err = sink(saved)) {
    ADD_FAILURE() << "save: " << sys.render(err);
    return {};
  }
  caf::binary_deserializer source{sys, buf};
  T loaded{};
  if (auto err = source(loaded)) {
    ADD_FAILURE() << "load: " << sys.render(err);
    return {};
  }
  EXPECT_EQ(source.remaining(), 0u) << "every byte written is read back";
  return loaded;
}

template <class T>
class MessageSerialization : public ::testing::Test {
 protected:
  MessageSerialization() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    sampled = make_sample<T>(sys.get());
  }
  // Serialising a handle registers its actor with the system, which then holds it: each
  // sampled actor is stopped, or the system's shutdown would wait for it forever.
  ~MessageSerialization() override {
    auto stop = [](const auto& handle) {
      if (handle) caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    };
    if constexpr (caf::is_typed_actor<T>::value) {
      stop(sampled.value);
    } else if constexpr (std::is_same_v<T, actor_directory>) {
      const auto& d = sampled.value;
      for (const auto& h : d.writers) stop(h);
      for (const auto& h : d.readers) stop(h);
      for (const auto& h : d.bridges) stop(h);
      stop(d.registry);
      stop(d.groups);
      stop(d.hooks);
      stop(d.security);
      stop(d.cluster);
    }
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  named<T> sampled;
};

template <class List>
struct gtest_types;
template <class... Ts>
struct gtest_types<caf::detail::type_list<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

// Test names after the registered names.
struct registered_names {
  template <class T>
  static std::string GetName(int) {
    auto name = make_sample<T>(nullptr).name;
    for (auto& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
  }
};

}  // namespace

TYPED_TEST_SUITE(MessageSerialization, gtest_types<message_types>::type, registered_names);

TYPED_TEST(MessageSerialization, SampleSetsEveryField) {
  std::vector<std::string> unset;
  find_unset(this->sampled.value, TypeParam{}, this->sampled.name, unset);
  for (const auto& where : unset) ADD_FAILURE() << where << " holds its default";
}

TYPED_TEST(MessageSerialization, RoundTripsAsAValue) {
  const auto& value = this->sampled.value;
  auto loaded = round_trip(*this->sys, value);
  EXPECT_TRUE(loaded == value) << "saved:  " << caf::deep_to_string(value)
                               << "\nloaded: " << caf::deep_to_string(loaded);
}

// Absent optionals, a null batch, a frame that owns no bytes: the other branch of each.
TYPED_TEST(MessageSerialization, RoundTripsItsDefault) {
  const TypeParam value{};
  auto loaded = round_trip(*this->sys, value);
  EXPECT_TRUE(loaded == value) << "saved:  " << caf::deep_to_string(value)
                               << "\nloaded: " << caf::deep_to_string(loaded);
}

TYPED_TEST(MessageSerialization, IsRegisteredUnderItsName) {
  EXPECT_EQ(this->sys->types().portable_name(0, &typeid(TypeParam)), this->sampled.name);
}

// A message names its elements' types and the receiver creates them by name: this fails for
// a type configure_actor_system did not register.
TYPED_TEST(MessageSerialization, RoundTripsInsideAMessage) {
  auto msg = caf::make_message(publish_atom::value, this->sampled.value);
  caf::message loaded;
  {
    std::vector<char> buf;
    caf::binary_serializer sink{*this->sys, buf};
    auto err = sink(msg);
    ASSERT_FALSE(err) << "save: " << this->sys->render(err);
    caf::binary_deserializer source{*this->sys, buf};
    err = source(loaded);
    ASSERT_FALSE(err) << "load: " << this->sys->render(err);
  }
  ASSERT_EQ(loaded.size(), 2u);
  ASSERT_TRUE(loaded.match_element<caf::atom_value>(0));
  EXPECT_EQ(loaded.get_as<caf::atom_value>(0), publish_atom::value);
  ASSERT_TRUE(loaded.match_element<TypeParam>(1)) << caf::to_string(loaded);
  EXPECT_TRUE(loaded.get_as<TypeParam>(1) == this->sampled.value);
}

// The other direction: nothing is registered under a portask name without being tested.
TEST(MessageSerialization, EveryRegisteredTypeIsTested) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  std::set<std::type_index> tested;
  [&]<class... Ts>(caf::detail::type_list<Ts...>) {
    // add_message_type<T> registers std::vector<T> and caf::stream<T> with T
    (tested.insert({typeid(Ts), typeid(std::vector<Ts>), typeid(caf::stream<Ts>)}), ...);
  }(message_types{});
  std::size_t ours = 0;
  for (const auto& [rtti, name] : cfg.type_names_by_rtti) {
    if (name.find("portask.") == std::string::npos) continue;
    ++ours;
    EXPECT_TRUE(tested.count(rtti)) << name << " is registered but not in message_types";
  }
  EXPECT_GE(ours, caf::detail::tl_size<message_types>::value);
}

// An empty frame is not a missing one: operator bool survives the trip.
// all_interfaces is written by hand: a new interface left out of it would escape the checks
// above. Every interface interfaces.hpp defines is a caf::typed_actor<...> or an extension of
// one (a plain alias of another interface defines nothing new).
TEST(MessageSerialization, AllInterfacesNamesEveryInterfaceOfInterfacesHpp) {
  std::ifstream in(PORTASK_SOURCE_DIR "/actors/interfaces.hpp");
  ASSERT_TRUE(in) << "cannot read " PORTASK_SOURCE_DIR "/actors/interfaces.hpp";
  std::stringstream text;
  text << in.rdbuf();
  const std::string source = text.str();
  const std::regex definition(R"(using\s+(\w+_actor)\s*=\s*(caf::typed_actor<|\w+::extend<))");
  std::set<std::string> defined;
  for (std::sregex_iterator it(source.begin(), source.end(), definition), end; it != end; ++it)
    defined.insert((*it)[1].str());
  EXPECT_GE(defined.size(), 10u) << "the pattern no longer finds the definitions";
  EXPECT_EQ(defined.size(), caf::detail::tl_size<all_interfaces>::value)
      << "interfaces.hpp defines an interface that all_interfaces does not list";
}

TEST(MessageSerialization, AnEmptyFrameStaysAttached) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  framed_batch empty{protocol::shared_bytes::adopt({}), 0, 0, {}};
  ASSERT_TRUE(static_cast<bool>(empty.frame));
  EXPECT_TRUE(static_cast<bool>(round_trip(sys, empty).frame));
  EXPECT_FALSE(static_cast<bool>(round_trip(sys, framed_batch{}).frame));
}
