// The Portask broker executable: loads the configuration, starts a broker, and serves until
// SIGINT or SIGTERM. SIGHUP reloads the TLS listeners' certificates, keys and CAs.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <string>
#include <spdlog/spdlog.h>

#include "actors/runtime/broker.hpp"
#include "config_loader.hpp"
#include "logging/loggers.hpp"
#include "portask/version.hpp"

#ifdef PORTASK_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
// jemalloc returns freed pages after a delay, but without a thread of its own only when the
// process next allocates: an idle broker would keep them. Its background thread purges on time.
const char* malloc_conf = "background_thread:true";
#endif

namespace {

// Which allocator serves the process, for the startup log.
std::string describe_allocator() {
#ifdef PORTASK_WITH_JEMALLOC
  const char* version = nullptr;
  std::size_t size = sizeof version;
  bool background = false;
  std::size_t bool_size = sizeof background;
  if (mallctl("version", &version, &size, nullptr, 0) != 0) version = "(version unknown)";
  if (mallctl("background_thread", &background, &bool_size, nullptr, 0) != 0) background = false;
  return std::string("jemalloc ") + version + (background ? ", background purging" : "");
#elif defined(__SANITIZE_ADDRESS__)
  return "AddressSanitizer's (a sanitizer build)";
#else
  return "glibc malloc";
#endif
}

}  // namespace

int main(int argc, char** argv) {
#ifndef PORTASK_WITH_JEMALLOC
  // Request and batch buffers are often hundreds of KiB. glibc serves allocations that
  // large with a fresh mmap, so every request paid page faults to fill new pages (a third of
  // the Kafka produce path's time under perf). Keeping them in the heap avoids that; the
  // trim threshold bounds how much freed memory the process keeps. (jemalloc keeps freed
  // extents for reuse and returns them after a delay by itself.)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  auto loaded = portask::load_config(argc, argv);
  if (auto* stop = std::get_if<portask::config_request_exit>(&loaded)) return stop->code;
  const auto& config = std::get<portask::broker_config>(loaded);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  portask::logging::runtime().info("portask {} starting: {}", portask::version_string, portask::describe(config));
  portask::logging::runtime().info("limits: {}", portask::describe_limits(config));
  portask::logging::runtime().info("data: {}", portask::describe_lifecycle(config));
  portask::logging::runtime().info("security: {}", portask::describe_security(config));
  portask::logging::runtime().info("allocator: {}", describe_allocator());
  bool sasl_in_clear = (config.kafka.sasl && !config.kafka.tls.enabled) ||
                       (config.native.sasl && !config.native.tls.enabled);
  for (const auto& l : config.kafka_listeners) sasl_in_clear = sasl_in_clear || (l.listener.sasl && !l.listener.tls.enabled);
  for (const auto& m : config.security.sasl_mechanisms)
    if (m == "PLAIN" && sasl_in_clear)
      portask::logging::runtime().warn("SASL PLAIN sends passwords in clear text over a listener without TLS");

  // Block the shutdown signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config cfg;
  try {
    portask::configure_actor_system(cfg);
  } catch (const std::exception& e) {
    portask::logging::runtime().critical("cannot start: {}", e.what());
    return 1;
  }
  caf::actor_system system{cfg};
  portask::broker broker{system, config};
  // A failed supervisor (or cluster membership) ends the process as a signal would, with
  // exit status 1.
  static std::atomic<bool> fatal{false};
  broker.on_fatal([](const std::string&) {
    fatal = true;
    kill(getpid(), SIGTERM);
  });
  if (auto ec = broker.start()) {
    portask::logging::runtime().critical("cannot start: {}", ec.message());
    return 1;
  }
  portask::logging::runtime().info("ready: native port {}, kafka port {}, http port {}", broker.native_port(),
               broker.kafka_port(), broker.http_port());
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP && !fatal)
    portask::logging::runtime().info("SIGHUP: reloading TLS files ({} listener(s) failed)", broker.reload_tls());
  if (fatal)
    portask::logging::runtime().critical("shutting down: the supervisor or the cluster membership failed");
  else
    portask::logging::runtime().info("received signal {}; shutting down", received);
  broker.stop();
  return fatal ? 1 : 0;
}
