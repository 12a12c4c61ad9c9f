#include "actors/interfaces.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace portask {

caf::error make_caf_error(errc e) {
  return caf::error{static_cast<std::uint8_t>(e), caf::atom("portask")};
}

void configure_actor_system(caf::actor_system_config& cfg) {
  // CAF 0.17 fills its defaults (scheduler, streaming intervals) only when parsing; an empty
  // argument list and an empty INI stream keep the process's own flags and files out of it.
  std::istringstream no_ini;
  if (auto err = cfg.parse(caf::actor_system_config::string_list{}, no_ini))
    throw std::runtime_error("CAF configuration: " + caf::to_string(err));
  // Work stealing polls idle workers with short sleeps (50 us, then 10 ms): on two cores
  // that costs CPU at high load and milliseconds of latency at low load. The sharing
  // policy parks idle workers on a condition variable and wakes one per enqueued job.
  if (const char* policy = std::getenv("PORTASK_CAF_SCHEDULER"))
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
  else
    cfg.set("scheduler.policy", caf::atom("sharing"));
  // One worker per core (CAF's default is at least four): on our two-core machines the extra
  // workers only added context switches (about 5% of the broker's CPU under a Kafka produce
  // load). Store I/O and the registry run on detached actors, never on these workers.
  std::size_t workers = std::max(2u, std::thread::hardware_concurrency());
  if (const char* threads = std::getenv("PORTASK_CAF_THREADS"))
    workers = std::max<std::size_t>(1, std::strtoul(threads, nullptr, 10));
  cfg.set("scheduler.max-threads", workers);
  cfg.add_error_category(caf::atom("portask"),
                         [](std::uint8_t code, caf::atom_value, const caf::message&) {
                           return std::string("portask:") +
                                  std::string(to_string(static_cast<errc>(code)));
                         });
}

errc to_errc(const caf::error& e) noexcept {
  if (!e) return errc::ok;
  if (e.category() == caf::atom("portask")) return static_cast<errc>(e.code());
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      case caf::sec::request_timeout:
        return errc::timeout;
      default:
        // The receiving actor died or is restarting (broken promise, receiver down).
        return errc::not_ready;
    }
  }
  return errc::internal;
}

bool receiver_gone(const caf::error& e) noexcept {
  return e && e.category() == caf::atom("system") &&
         static_cast<caf::sec>(e.code()) == caf::sec::request_receiver_down;
}

}  // namespace portask
