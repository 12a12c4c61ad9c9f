#include "actors/runtime/broker.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <exception>
#include <random>

#include <boost/asio.hpp>

#include "actors/cluster/cluster_actor.hpp"
#include "actors/connections/kafka/kafka_connection.hpp"
#include "actors/connections/http/http_server.hpp"
#include "actors/connections/transport/kafka_framer.hpp"
#include "actors/connections/native/portask_connection.hpp"
#include "actors/connections/transport/tcp_listener.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/security/security_actor.hpp"
#include "actors/runtime/supervisor.hpp"
#include "logging/loggers.hpp"
#include "storage/memory_store.hpp"
#include "storage/redis_store.hpp"

namespace portask {

struct broker::io {
  boost::asio::io_context context;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
      context.get_executor()};
  std::vector<std::thread> threads;
  std::shared_ptr<tcp_listener> native;
  std::vector<std::shared_ptr<tcp_listener>> kafka;  ///< the first Kafka listener first
  std::shared_ptr<http_server> http;  ///< after `context`, so destroyed before it
  std::vector<std::shared_ptr<tls_server_context>> tls;  ///< one per TLS listener
};

std::uint64_t default_memory_store_bytes() {
  // Half of what the process may use: the machine's memory, or its cgroup's limit if lower.
  std::uint64_t total = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;
    if (std::fscanf(f, "%llu", &limit) == 1 && limit > 0 && limit < total) total = limit;
    std::fclose(f);
  }
  return total / 2;
}

expected<std::pair<storage::store_factory, std::string>> make_store_factory(
    const std::string& url, std::chrono::milliseconds timeout, std::uint64_t memory_capacity) {
  if (url.empty() || url == "memory") {
    if (memory_capacity == 0) memory_capacity = default_memory_store_bytes();
    return std::pair{storage::memory_store::factory(memory_capacity), std::string("memory")};
  }
  auto opts = storage::parse_redis_url(url);
  if (!opts) return opts.error();
  opts->timeout = timeout;
  return std::pair{storage::redis_store::factory(*opts), std::string("redis")};
}

namespace {

// Every connection takes a file descriptor: the listeners' caps must fit in what the process
// may open, or one listener's clients would starve the others (and the store) of
// descriptors. The soft limit is raised to the hard one first (as the JVM does for Kafka);
// a cap that still does not fit is lowered, and the log says so.
std::uint32_t connections_per_listener(std::uint32_t wanted, std::uint32_t listeners) {
  constexpr rlim_t reserved = 64;  // store connections, log files, the runtime's own
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return wanted;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return wanted;
  const auto room = rl.rlim_cur > reserved * 2 ? (rl.rlim_cur - reserved) / listeners : 1;
  if (room >= wanted) return wanted;
  logging::runtime().warn("max_connections {} per listener does not fit the process's limit of {} open "
               "files; each of the {} listeners takes at most {} connections",
               wanted, static_cast<std::uint64_t>(rl.rlim_cur), listeners, static_cast<std::uint64_t>(room));
  return static_cast<std::uint32_t>(room);
}

// Nobody restarts the supervisor: when it fails (it gave up on a child that restarts did not
// mend), the node stops with the reason rather than serving without that child. The same for
// a cluster node's membership: without it the node cannot hold leases. The check runs as the
// watched actor ends (attached to it), so no watcher actor is needed.
template <class Handle>
void stop_node_if_it_fails(caf::actor_system& sys, const Handle& watched, std::string what,
                           std::function<void(const std::string&)> on_fatal) {
  caf::actor_cast<caf::actor>(watched)->attach_functor(
      [&sys, what = std::move(what), on_fatal = std::move(on_fatal)](const caf::error& reason) {
        if (!reason || reason == caf::exit_reason::user_shutdown) return;
        const auto why = sys.render(reason);
        logging::runtime().critical(
            "the {} failed ({}); this node cannot serve correctly and stops", what, why);
        // An exception must not escape into CAF's cleanup of the ended actor.
        try {
          if (on_fatal) on_fatal(why);
        } catch (const std::exception& e) {
          logging::runtime().error("stopping after the {} failed: {}", what, e.what());
        }
      });
}

// Has every partition write its producer snapshot and waits for it (bounded): a clean stop
// leaves the idempotent producers' state in the store as Kafka leaves its producer snapshots
// on shutdown, so that the next start rebuilds it from the snapshot, with each producer's
// last write time (its expiry counts from there), not from the log. Under this node's
// leases: in a cluster, before it gives them up.
void save_producer_snapshots(caf::actor_system& sys, const actor_directory& dir,
                             const broker_config& config) {
  if (!dir.registry) return;
  caf::scoped_actor self{sys};
  self->request(dir.registry, shutdown_snapshot_wait(config) + std::chrono::seconds(1), snapshot_atom::value)
      .receive(
          [](bool all_stored) {
            if (!all_stored)
              logging::pipeline().warn("stopping: not every partition's producer snapshot was written; "
                                       "the next start rebuilds those producers from the log");
          },
          [&](const caf::error& e) {
            logging::pipeline().warn("stopping: the producer snapshots were not written ({}); the next "
                                     "start rebuilds the producers from the log",
                                     sys.render(e));
          });
}

// This node's endpoints as other nodes advertise them to their clients.
node_info advertised_endpoints(const broker_context& ctx) {
  node_info n;
  n.id = ctx.config.cluster.node_id;
  for (const auto& e : ctx.kafka_endpoints)
    n.kafka[e->name] = {e->advertised_host, e->advertised_port.load()};
  const auto& host = ctx.config.cluster.advertised_host;
  n.native = host_port{host.empty() ? ctx.config.native.host : host, ctx.native_port.load()};
  if (ctx.http_port.load() != 0)
    n.http = host_port{host.empty() ? ctx.config.http.host : host, ctx.http_port.load()};
  return n;
}

// A token that tells two runs of one node id apart (in leases and the registration).
std::string run_token() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> dist;
  std::uint64_t a = dist(rd), b = dist(rd);
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return out;
}

}  // namespace

broker::broker(caf::actor_system& sys, broker_config config)
    : sys_(sys), config_(std::move(config)) {}

broker::~broker() { stop(); }

std::error_code broker::start() {
  logging::create_all();  // every module's logger exists (and is listed) from the start
  for (const auto& [what, count] : {std::pair{"storage_writers", config_.storage_writers},
                                    std::pair{"storage_readers", config_.storage_readers}}) {
    if (count < 1 || count > 64) {
      logging::runtime().error("{} must be between 1 and 64 (got {})", what, count);
      return make_error_code(std::errc::invalid_argument);
    }
  }
  auto factory = make_store_factory(config_.store,
                                    std::chrono::milliseconds(config_.store_timeout_ms),
                                    config_.memory_store_max_bytes);
  if (!factory) {
    logging::runtime().error("invalid store '{}'", storage::url_without_credentials(config_.store));
    return factory.error();
  }
  if (factory->second == "memory")
    logging::runtime().info("store: embedded in-process memory store (no store URL configured)");
  else
    logging::runtime().info("store: RESP server at {}", storage::url_without_credentials(config_.store));
  ctx_ = std::make_shared<broker_context>(config_, std::move(factory->first), factory->second);
  if (config_.cluster.enabled()) {
    // A live node with this id: refused before binding anything (the registration after
    // binding checks again, atomically).
    // A node restarted at once after a crash finds its predecessor's registration, which
    // runs out within a lease: it waits that long (a live node renews it, and is refused).
    auto store = ctx_->store_factory();
    const auto lease = std::chrono::milliseconds(config_.cluster.lease_ms);
    const auto give_up_at = std::chrono::steady_clock::now() + lease + std::chrono::milliseconds(config_.cluster.renew_ms);
    for (bool waited = false;; waited = true) {
      auto live = store ? (*store)->live_nodes() : expected<std::vector<storage::node_registration>>(store.error());
      if (!live) {
        logging::cluster().error("cannot join the cluster: the store is unreachable ({})", live.error().message());
        return live.error();
      }
      const bool taken = std::any_of(live->begin(), live->end(),
                                     [&](const auto& n) { return n.node == config_.cluster.node_id; });
      if (!taken) break;
      if (std::chrono::steady_clock::now() >= give_up_at) {
        log_node_id_taken(config_.cluster.node_id, config_.cluster);
        return join_error::node_id_in_use;
      }
      if (!waited)
        logging::cluster().warn("node id {} is registered; waiting up to {} ms for that registration to "
                                "run out (a restarted node's predecessor) before refusing",
                                config_.cluster.node_id, config_.cluster.lease_ms + config_.cluster.renew_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::uint32_t>(20, config_.cluster.renew_ms / 2)));
    }
    // From the first client on, this node owns only what its leases say: nothing until its
    // first lease round.
    auto joining = std::make_shared<cluster_view>();
    joining->self = config_.cluster.node_id;
    joining->token = run_token();
    joining->clustered = true;
    ctx_->publish_cluster(std::move(joining));
  }
  // Credentials and ACLs are in force before the first client connects; when the store
  // cannot be read now, the security actor keeps trying (and nobody authenticates until).
  if (auto store = ctx_->store_factory()) {
    auto loaded = load_security(**store, config_.security, ctx_->access);
    if (loaded) ctx_->access.publish(std::move(*loaded));
  }
  // One bridge per scheduler worker: framing (codec, compression, CRC) runs in the bridges,
  // so that many can frame at once, whatever the core count.
  runtime_sizes sizes;
  sizes.writers = config_.storage_writers;
  sizes.readers = config_.storage_readers;
  sizes.bridges = std::max<std::size_t>(
      1, caf::get_or(sys_.config(), "scheduler.max-threads", caf::defaults::scheduler::max_threads));
  supervisor_ = spawn_supervisor(sys_, ctx_, sizes);
  stop_node_if_it_fails(sys_, supervisor_, "supervisor", on_fatal_);

  io_ = std::make_unique<io>();
  // A TLS listener whose files cannot be used does not start (and neither does the broker).
  auto tls_for = [this](const char* name, const listener_config& l) -> expected<std::shared_ptr<tls_server_context>> {
    if (!l.enabled || !l.tls.enabled) return std::shared_ptr<tls_server_context>{};
    auto c = std::make_shared<tls_server_context>(name, l.tls);
    if (auto why = c->reload()) {
      logging::net().error("{} listener: TLS: {}", name, *why);
      return make_error_code(std::errc::invalid_argument);
    }
    // A certificate outside its validity period starts the listener (Kafka refuses one at
    // startup on its inter-broker listener only); without this line the clients' refusals
    // would be all the log shows.
    if (auto why = c->out_of_date(); !why.empty())
      logging::net().warn("{} listener: TLS {}; clients will refuse it (replace it, then SIGHUP)", name, why);
    io_->tls.push_back(c);
    return c;
  };
  auto native_tls = tls_for("native", config_.native);
  // Every Kafka listener: the first (config.kafka), then config.kafka_listeners.
  std::vector<kafka_listener_config> kafka_listeners;
  if (config_.kafka.enabled)
    kafka_listeners.push_back({config_.kafka_listener_name, config_.kafka, config_.kafka_advertised_host, 0});
  kafka_listeners.insert(kafka_listeners.end(), config_.kafka_listeners.begin(), config_.kafka_listeners.end());
  std::vector<std::shared_ptr<tls_server_context>> kafka_tls;
  for (std::size_t i = 0; i < kafka_listeners.size(); ++i) {
    const auto name = i == 0 && config_.kafka.enabled ? std::string("kafka") : "kafka " + kafka_listeners[i].name;
    auto t = tls_for(name.c_str(), kafka_listeners[i].listener);
    if (!t) return t.error();
    kafka_tls.push_back(*t);
  }
  auto http_tls = tls_for("http", config_.http);
  for (const auto* t : {&native_tls, &http_tls})
    if (!*t) return t->error();
  const auto max_connections = connections_per_listener(
      config_.max_connections,
      1 + kafka_listeners.size() + (config_.http.enabled ? 1 : 0));
  session_limits limits;
  limits.request_timeout = std::chrono::milliseconds(config_.request_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(config_.connections_max_idle_ms);
  limits.max_inflight_bytes = config_.max_inflight_bytes_per_connection;
  limits.max_inflight_requests = config_.max_inflight_requests_per_connection;
  limits.max_queued_output = config_.max_queued_output_bytes_per_connection;
  // One budget for every native and Kafka connection (HTTP requests have their own cap).
  const auto budget_bytes = config_.max_inflight_bytes_per_broker;
  const auto budget = std::make_shared<request_budget>(
      budget_bytes > 0 ? static_cast<std::uint64_t>(budget_bytes) : 0, &ctx_->metrics);
  tcp_listener::options native;
  native.name = "native";
  native.kind = listener_kind::native;
  native.address = config_.native;
  native.max_connections = max_connections;
  native.max_connections_per_address = config_.max_connections_per_address;
  native.limits = limits;
  native.budget = budget;
  const protocol::frame_limits frame_limits{config_.max_frame_bytes};
  native.make_framer = [frame_limits, sasl = config_.native.sasl] {
    return std::make_unique<portask_framer>(frame_limits, sasl);
  };
  native.spawn_connection = [this, ctx = ctx_](std::shared_ptr<tcp_session> s) {
    return spawn_portask_connection(sys_, ctx, supervisor_, std::move(s));
  };
  native.reject_bytes = portask_rejection_frame();
  native.tls = *native_tls;
  io_->native = std::make_shared<tcp_listener>(io_->context, ctx_->metrics, std::move(native));
  auto port = io_->native->start();
  if (!port) return port.error();
  ctx_->native_port = *port;

  for (std::size_t i = 0; i < kafka_listeners.size(); ++i) {
    const auto& l = kafka_listeners[i];
    auto endpoint = std::make_shared<kafka_endpoint>();
    endpoint->name = l.name;
    endpoint->advertised_host = l.advertised_host.empty() ? l.listener.host : l.advertised_host;
    endpoint->sasl = l.listener.sasl;
    tcp_listener::options kafka;
    kafka.name = i == 0 && config_.kafka.enabled ? std::string("kafka") : "kafka " + l.name;
    kafka.kind = listener_kind::kafka;
    kafka.address = l.listener;
    kafka.max_connections = max_connections;
    kafka.max_connections_per_address = config_.max_connections_per_address;
    kafka.limits = limits;
    kafka.budget = budget;
    const auto max = config_.max_frame_bytes;
    kafka.make_framer = [max, sasl = l.listener.sasl] { return std::make_unique<kafka_framer>(max, sasl); };
    kafka.spawn_connection = [this, ctx = ctx_, endpoint](std::shared_ptr<tcp_session> s) {
      return spawn_kafka_connection(sys_, ctx, supervisor_, std::move(s), endpoint);
    };
    kafka.tls = kafka_tls[i];
    auto listener = std::make_shared<tcp_listener>(io_->context, ctx_->metrics, std::move(kafka));
    auto kp = listener->start();
    if (!kp) return kp.error();
    io_->kafka.push_back(std::move(listener));
    endpoint->advertised_port = l.advertised_port ? l.advertised_port : *kp;
    ctx_->kafka_endpoints.push_back(std::move(endpoint));
    if (i == 0) ctx_->kafka_port = *kp;
  }

  if (config_.http.enabled) {
    io_->http = std::make_shared<http_server>(io_->context, sys_, ctx_, supervisor_, max_connections,
                                             *http_tls);
    auto hp = io_->http->start(config_.http);
    if (!hp) return hp.error();
    ctx_->http_port = *hp;
  }
  // One Asio thread: sockets only move bytes; logic runs on CAF's threads.
  io_->threads.emplace_back([ctx = &io_->context] { ctx->run(); });
  if (config_.cluster.enabled()) {
    // Joins once every listener is bound (the registration names their ports); refused
    // while another live node has this id. Partitions get owners at the first lease round:
    // until then this node answers their requests NOT_LEADER_OR_FOLLOWER.
    storage::node_registration me{config_.cluster.node_id, ctx_->cluster()->token,
                                  encode_endpoints(advertised_endpoints(*ctx_))};
    auto store = ctx_->store_factory();
    if (!store) return store.error();
    if (auto refused = register_cluster_node(**store, config_.cluster, me)) return refused;
    logging::cluster().info("node {} joined the cluster (leases {} ms, renewed every {} ms)",
                            me.node, config_.cluster.lease_ms, config_.cluster.renew_ms);
    auto cluster_store = make_store_factory(config_.store, cluster_round_timeout(config_));
    if (!cluster_store) return cluster_store.error();
    cluster_ = spawn_cluster_actor(sys_, ctx_, supervisor_, std::move(me),
                                   std::move(cluster_store->first));
    stop_node_if_it_fails(sys_, cluster_, "cluster membership", on_fatal_);
  }
  return {};
}

actor_directory broker::directory() const {
  actor_directory out;
  if (!supervisor_) return out;
  caf::scoped_actor self{sys_};
  self->request(supervisor_, std::chrono::seconds(5), directory_atom::value)
      .receive([&](actor_directory& d) { out = std::move(d); }, [](const caf::error&) {});
  return out;
}

std::size_t broker::reload_tls() {
  if (!io_) return 0;
  std::size_t failures = 0;
  for (const auto& c : io_->tls) {
    if (auto why = c->reload()) {
      ++failures;
      logging::net().error("{} listener: TLS reload failed, keeping the certificate in use: {}",
                           c->listener(), *why);
    } else if (auto early = c->out_of_date(); !early.empty()) {
      // Taken (it becomes valid by itself), but until then clients refuse it.
      logging::net().warn("{} listener: TLS certificate, key and CA reloaded; new connections use them, but {}: "
                          "clients refuse it until then",
                          c->listener(), early);
    } else {
      logging::net().info("{} listener: TLS certificate, key and CA reloaded; new connections use them",
                          c->listener());
    }
  }
  return failures;
}

void broker::stop() {
  const bool clustered = static_cast<bool>(cluster_);
  if (cluster_) {
    save_producer_snapshots(sys_, directory(), config_);  // while it holds the leases
    // Leaving first: the other nodes take this node's partitions at their next round while
    // its listeners still answer (NOT_LEADER_OR_FOLLOWER sends clients to the new owners).
    caf::scoped_actor self{sys_};
    self->request(cluster_, std::chrono::seconds(5), leave_atom::value)
        .receive([](bool) {},
                 [](caf::error& e) {
                   logging::cluster().warn("leaving the cluster: {}", to_string(to_errc(e)));
                 });
    cluster_ = nullptr;
  }
  if (io_) {
    if (io_->native) io_->native->stop();
    for (const auto& l : io_->kafka) l->stop();
    if (io_->http) io_->http->stop();
    // Connection actors live until their socket closes; end them now, and give their
    // sessions a moment (bounded) to close on the still-running Asio thread. A listener's
    // count drops once a session is wholly destroyed (its socket and timer included).
    // HTTP sessions have no actor of their own, and the actors answering their requests
    // never hold one (http_sessions, http_server.cpp): the server closes them all on the
    // Asio thread, without waiting for any actor, and from now on drops those actors'
    // answers, so none reaches the context stopped below. Started first, they close while
    // the connection actors end.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    if (io_->http) io_->http->stop_connections();
    std::vector<tcp_listener*> listeners{io_->native.get()};
    for (const auto& l : io_->kafka) listeners.push_back(l.get());
    std::uint32_t left = 0;
    for (auto* l : listeners) {
      if (!l) continue;
      l->stop_connections();
      while (l->connections() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      left += l->connections();
    }
    if (io_->http) {
      while (io_->http->connections() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      left += io_->http->connections();
    }
    io_->work.reset();
    io_->context.stop();
    for (auto& t : io_->threads) t.join();
    if (left == 0) {
      // The HTTP server goes before the context (io's members end in reverse order): the
      // backstop that lets go of any HTTP session still waiting for an answer.
      io_.reset();
    } else {
      // A session still held (by an actor that has not finished) would reach into a
      // destroyed Asio context: the process is stopping, so the context is left behind.
      logging::net().error("{} connection(s) still open after 10 s at shutdown; not tearing down their I/O", left);
      static_cast<void>(io_.release());
    }
  }
  if (supervisor_) {
    // With all the connections wrote. (A cluster node wrote them before leaving: the store
    // now refuses its partitions' writes.)
    if (!clustered) save_producer_snapshots(sys_, directory(), config_);
    caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
    supervisor_ = nullptr;
  }
}

}  // namespace portask
