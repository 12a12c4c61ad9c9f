// The Portask broker executable: loads the configuration, starts a broker, and serves until
// SIGINT or SIGTERM. SIGHUP applies the configuration's log level again and reloads the TLS
// listeners' certificates, keys and CAs.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>
#include <spdlog/spdlog.h>

#include "actors/cluster/cluster_actor.hpp"
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

// `text` split at each `separator` outside parentheses and quotes, and not before a quote: a
// parenthesis qualifies the setting before it ("store ... (timeout 5000 ms, 2 writers, 2
// readers)"), and the super users are one setting, each quoted, with commas of their own.
std::vector<std::string> split_outside_brackets(std::string_view text, std::string_view separator) {
  std::vector<std::string> out;
  std::size_t from = 0;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\'') {
      quoted = !quoted;
    } else if (quoted) {
      continue;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      depth = std::max(depth - 1, 0);
    } else if (depth == 0 && text.substr(i, separator.size()) == separator &&
               text.substr(i + separator.size(), 1) != "'") {
      out.emplace_back(text.substr(from, i - from));
      from = i + separator.size();
      i = from - 1;
    }
  }
  out.emplace_back(text.substr(from));
  return out;
}

// "groups: " of "groups: initial rebalance delay 300 ms": lower-case words before ": ";
// empty when the setting opens with none.
std::string heading_of(const std::string& setting) {
  const auto colon = setting.find(": ");
  if (colon == std::string::npos) return {};
  for (std::size_t i = 0; i < colon; ++i)
    if (setting[i] != ' ' && setting[i] != '-' && (setting[i] < 'a' || setting[i] > 'z')) return {};
  return setting.substr(0, colon + 2);
}

// Everything the startup lines describe, one setting each: the lines split at "; ", each
// part at ", " (so that a changed super user does not name the authorization setting beside
// it). A part that opens with a heading ("groups: ") lends it to the settings after its first,
// or "at most 7 members" would not say whose.
std::vector<std::string> described_settings(const portask::broker_config& c) {
  std::vector<std::string> out;
  for (const auto& text : {portask::describe(c), portask::describe_limits(c),
                           portask::describe_lifecycle(c), portask::describe_security(c)}) {
    std::size_t from = 0;
    for (auto to = text.find("; "); ; to = text.find("; ", from)) {
      const auto settings = split_outside_brackets(std::string_view(text).substr(from, to - from), ", ");
      const auto heading = heading_of(settings.front());
      for (std::size_t i = 0; i < settings.size(); ++i) out.push_back(i == 0 ? settings[i] : heading + settings[i]);
      if (to == std::string::npos) break;
      from = to + 2;
    }
  }
  // What the startup lines leave out but a reload could not apply either: where the TLS
  // files are (SIGHUP reads the files again at the paths the broker started with) and the
  // hosts clients are told.
  auto files = [&](const std::string& name, const portask::tls_config& t) {
    if (!t.enabled) return;
    out.push_back(name + " TLS certificate file " + t.certificate_file);
    out.push_back(name + " TLS key file " + t.key_file);
    out.push_back(name + " TLS CA file " + (t.ca_file.empty() ? "none" : t.ca_file));
  };
  files("native", c.native.tls);
  files("http", c.http.tls);
  files("kafka", c.kafka.tls);
  for (const auto& l : c.kafka_listeners) {
    files("kafka listener " + l.name, l.listener.tls);
    out.push_back("kafka listener " + l.name + " advertised as " + l.advertised_host + ":" +
                  std::to_string(l.advertised_port));
  }
  out.push_back("kafka advertised host " + c.kafka_advertised_host);
  std::string hosts = "http allowed hosts:";
  for (const auto& h : c.http_allowed_hosts) hosts += " " + h;
  out.push_back(hosts);
  out.push_back("cluster advertised host " + c.cluster.advertised_host);
  return out;
}

// The Kafka listener a setting belongs to ("EXT" of "kafka listener EXT SSL on ..."); empty
// for the others.
std::string_view listener_of(std::string_view setting) {
  static constexpr std::string_view prefix = "kafka listener ";
  if (!setting.starts_with(prefix)) return {};
  setting.remove_prefix(prefix.size());
  return setting.substr(0, setting.find(' '));
}

// Whether `before` and `after` could be one setting with another value ("topics: 2 partitions
// by default", "topics: 5 ..."): the same first word, and the same Kafka listener. Enough to
// tell a changed setting from one removed beside it, not proof.
bool same_setting(std::string_view before, std::string_view after) {
  return before.substr(0, before.find(' ')) == after.substr(0, after.find(' ')) &&
         listener_of(before) == listener_of(after);
}

// What SIGHUP finds changed, "; "-separated: the new settings the old list does not have, and
// "no longer: " before each old setting that is gone without a new value in its place (a
// listener removed, admin_user left out), which the new list alone would never show. The
// lists are matched in order (their longest common subsequence); between two matched
// settings, an old one and a new one that are the same setting (same_setting) are one change,
// named by its new value.
std::string changed_settings(const std::vector<std::string>& before, const std::vector<std::string>& after) {
  const auto n = before.size(), m = after.size();
  // common[i][j]: how long the longest common subsequence of before[i..] and after[j..] is.
  std::vector<std::vector<std::size_t>> common(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (auto i = n; i-- > 0;)
    for (auto j = m; j-- > 0;)
      common[i][j] = before[i] == after[j] ? common[i + 1][j + 1] + 1 : std::max(common[i + 1][j], common[i][j + 1]);
  std::string out;
  auto name = [&](const std::string& piece) { out += (out.empty() ? "" : "; ") + piece; };
  std::vector<std::string> removed, added;  // between the last matched setting and the next
  auto report = [&] {
    std::vector<bool> replaced(removed.size(), false);
    for (const auto& a : added) {
      name(a);
      for (std::size_t k = 0; k < removed.size(); ++k)
        if (!replaced[k] && same_setting(removed[k], a)) {
          replaced[k] = true;
          break;
        }
    }
    for (std::size_t k = 0; k < removed.size(); ++k)
      if (!replaced[k]) name("no longer: " + removed[k]);
    removed.clear();
    added.clear();
  };
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] == after[j]) {
      report();
      ++i;
      ++j;
    } else if (j < m && (i == n || common[i][j + 1] >= common[i + 1][j])) {
      added.push_back(after[j++]);
    } else {
      removed.push_back(before[i++]);
    }
  }
  report();
  return out;
}

// SIGHUP reads the configuration again (file, environment and flags, with the precedence
// they had at start) and applies what can change while the broker runs: the log level, for
// every module (a module set otherwise through PUT /api/loggers keeps its level unless
// log_level itself changed). Other changed settings, and those the configuration no longer
// has, are named as needing a restart rather than silently left unapplied; a file that no
// longer reads keeps the settings in use.
void reload_settings(int argc, char** argv, portask::broker_config& running) {
  auto& log = portask::logging::runtime();
  auto loaded = portask::load_config(argc, argv);
  auto* fresh = std::get_if<portask::broker_config>(&loaded);
  if (fresh == nullptr) {
    log.error("SIGHUP: the configuration cannot be read again (the reason is on stderr); "
              "keeping the settings in use");
    return;
  }
  if (fresh->log_level != running.log_level) {
    // Said before it applies, at the level in force (a quieter one would hide the line).
    log.info("SIGHUP: log level {} -> {} for every module", running.log_level, fresh->log_level);
    spdlog::set_level(spdlog::level::from_str(fresh->log_level));
    running.log_level = fresh->log_level;
  }
  const auto changed = changed_settings(described_settings(running), described_settings(*fresh));
  if (!changed.empty())
    log.warn("SIGHUP: these settings changed and take effect only when the broker restarts "
             "(not applied): {}", changed);
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
  // Apart from load_config, which a SIGHUP calls again: host names are looked up at startup only.
  if (auto why = portask::listener_host_problem(config)) {
    std::cerr << "portask: " << *why << "\n";
    return 2;
  }
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
  } catch (const std::exception& e) {  // a PORTASK_CAF_* value it cannot use: a config error
    portask::logging::runtime().critical("cannot start: {}", e.what());
    return 2;
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
    // The last line names the cause in words, not an errno's text ("Device or resource busy").
    if (ec == portask::join_error::node_id_in_use)
      portask::logging::runtime().critical("cannot start: node id {} is in use by a live node",
                                           config.cluster.node_id);
    else
      portask::logging::runtime().critical("cannot start: {}", ec.message());
    return 1;
  }
  portask::logging::runtime().info("ready: native port {}, kafka port {}, http port {}", broker.native_port(),
               broker.kafka_port(), broker.http_port());
  portask::broker_config running = config;
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP && !fatal) {
    try {
      reload_settings(argc, argv, running);
    } catch (const std::exception& e) {
      portask::logging::runtime().error("SIGHUP: the configuration cannot be read again ({}); "
                                        "keeping the settings in use", e.what());
    }
    portask::logging::runtime().info("SIGHUP: reloading TLS files ({} listener(s) failed)", broker.reload_tls());
  }
  if (fatal)
    portask::logging::runtime().critical("shutting down: the supervisor or the cluster membership failed");
  else
    portask::logging::runtime().info("received signal {}; shutting down", received);
  broker.stop();
  return fatal ? 1 : 0;
}
