// portask-chaos: idempotent producers against the real broker on a real redis-server
// (append-only, fsync always) while faults are injected, then every partition is read back.
//
// Producers: librdkafka idempotent producers (acks=all) and native idempotent producers
// (client::idempotent_producer), each writing values "<producer>-<n>" to a fixed partition
// per n. Faults, one at a time, chosen at random (seeded): the broker SIGKILLed and
// restarted; redis SIGKILLed and restarted on its append-only file; redis SIGSTOPped past the
// broker's store timeout; the broker SIGSTOPped; the broker's store connections dropped
// (CLIENT KILL). After each fault the time to the next acknowledged message is the recovery.
//
// The verdict: every acknowledged message is stored exactly once, at its acknowledged offset;
// no value is stored twice; each producer's values are stored in order on each partition, and
// none it sent before an acknowledged one (and was not told had failed) is missing.
// Exit status 0 only when all of that holds. Everything runs on loopback, bounded in time.
#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "client/client.hpp"
#include "client/idempotent_producer.hpp"
#include "process.hpp"
#include "redis_server.hpp"

using namespace portask;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::string portask = PORTASK_SERVER_BINARY;
  int faults = 30;
  unsigned seed = 1;
  int kafka_producers = 2;
  int native_producers = 1;
  int kafkajs_producers = 0;  ///< node + kafkajs idempotent producers (child processes)
  std::string kafkajs_dir = PORTASK_KAFKAJS_DIR;
  int partitions = 4;
  int rate = 1000;  ///< messages per second per producer
  int store_timeout_ms = 1000;
  std::string keep_logs;  ///< copy the broker and redis logs here
  std::string kafka_debug;  ///< librdkafka's eos/msg debug log goes to this file
  std::vector<std::string> kinds{"broker_kill", "redis_kill", "redis_stop", "broker_stop",
                                 "store_connections_dropped"};
};

// One acknowledged message: where the broker said it is.
struct ack {
  std::int32_t partition;
  std::int64_t offset;
  std::string value;
};

// What all producers report, shared with the fault loop.
struct ledger {
  std::mutex mutex;
  std::vector<ack> acked;
  std::set<std::string> failed;  ///< values a producer was told were not stored
  std::map<std::string, std::uint64_t> errors;  ///< retried errors seen, by name
  std::atomic<std::uint64_t> ack_count{0};
  std::uint64_t fatal = 0;
  void record(ack a) {
    std::lock_guard lock{mutex};
    acked.push_back(std::move(a));
    ++ack_count;
  }
  void record_failure(const std::string& value, const std::string& why) {
    std::lock_guard lock{mutex};
    failed.insert(value);
    ++errors["failed: " + why];
  }
};

std::int32_t partition_of(std::uint64_t n, int partitions) {
  return static_cast<std::int32_t>(n % static_cast<std::uint64_t>(partitions));
}

// The broker as a child process on fixed (once free) loopback ports, restartable.
class broker {
 public:
  broker(const settings& s, const std::string& store, const std::string& log)
      : s_(s), store_(store), log_(log), port_(test::free_port()), kafka_port_(test::free_port()) {}
  bool start() {
    process_ = test::child_process(
        {s_.portask, "--store", store_, "--port", std::to_string(port_), "--kafka-port",
         std::to_string(kafka_port_), "--http-port", "0", "--store-timeout-ms",
         std::to_string(s_.store_timeout_ms), "--log-level", "info"},
        log_);
    return test::wait_until([&] { return test::port_accepts(port_) && test::port_accepts(kafka_port_); },
                            60s);
  }
  void kill() { process_.stop(SIGKILL); }
  void signal(int sig) { ::kill(process_.pid(), sig); }
  std::uint16_t port() const { return port_; }
  std::uint16_t kafka_port() const { return kafka_port_; }

 private:
  const settings& s_;
  std::string store_, log_;
  std::uint16_t port_, kafka_port_;
  test::child_process process_;
};

// -- librdkafka idempotent producer ------------------------------------------------------------

struct kafka_producer_ctx {
  ledger* book;
  std::string name;
};

void delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* ctx = static_cast<kafka_producer_ctx*>(opaque);
  std::string value(static_cast<const char*>(m->payload), m->len);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
    ctx->book->record({m->partition, m->offset, std::move(value)});
  else
    ctx->book->record_failure(value, rd_kafka_err2name(m->err));
}

void kafka_error(rd_kafka_t*, int err, const char*, void* opaque) {
  auto* ctx = static_cast<kafka_producer_ctx*>(opaque);
  std::lock_guard lock{ctx->book->mutex};
  ++ctx->book->errors[std::string("kafka: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))];
}

std::FILE* kafka_debug_file = nullptr;

rd_kafka_t* make_kafka_producer(std::uint16_t port, kafka_producer_ctx* ctx,
                                bool debug = false) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::vector<std::pair<const char*, std::string>> kv{
      {"bootstrap.servers", "127.0.0.1:" + std::to_string(port)},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // never give up: the verdict counts what was acknowledged
      {"linger.ms", "5"},
      {"retry.backoff.ms", "50"},
      {"reconnect.backoff.ms", "20"},
      {"reconnect.backoff.max.ms", "500"},
      {"socket.timeout.ms", "10000"},
      {"log_level", "3"},
  };
  for (const auto& [k, v] : kv)
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::cerr << "chaos: librdkafka " << k << ": " << err << "\n";
      std::exit(2);
    }
  rd_kafka_conf_set_opaque(conf, ctx);
  rd_kafka_conf_set_dr_msg_cb(conf, delivered);
  rd_kafka_conf_set_error_cb(conf, kafka_error);
  // Connection failures are the point of the exercise; they are counted, not printed.
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char* fac, const char* buf) {
    if (kafka_debug_file) std::fprintf(kafka_debug_file, "%s %s\n", fac, buf);
  });
  if (debug) rd_kafka_conf_set(conf, "debug", "eos,msg,protocol", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::cerr << "chaos: librdkafka: " << err << "\n";
    std::exit(2);
  }
  return rk;
}

void run_kafka_producer(const settings& s, std::uint16_t port, ledger& book, std::string name,
                        const std::atomic<bool>& stop) {
  kafka_producer_ctx ctx{&book, name};
  rd_kafka_t* rk = make_kafka_producer(port, &ctx, !s.kafka_debug.empty());
  const auto interval = std::chrono::microseconds(1'000'000 / std::max(1, s.rate));
  auto next = clock_type::now();
  for (std::uint64_t n = 0; !stop.load(); ++n) {
    const std::string value = name + "-" + std::to_string(n);
    // Keep what is in flight bounded while the broker is down.
    while (rd_kafka_outq_len(rk) > 20000 && !stop.load()) rd_kafka_poll(rk, 50);
    if (stop.load()) break;
    const auto rc = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC("chaos"), RD_KAFKA_V_PARTITION(partition_of(n, s.partitions)),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    char fatal[512];
    if (rc == RD_KAFKA_RESP_ERR__FATAL ||
        rd_kafka_fatal_error(rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_fatal_error(rk, fatal, sizeof fatal);
      std::lock_guard lock{book.mutex};
      ++book.fatal;
      std::cerr << "chaos: " << name << " fatal: " << fatal << "\n";
      break;
    }
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
      book.record_failure(value, rd_kafka_err2name(rc));
      continue;
    }
    rd_kafka_poll(rk, 0);
    next += interval;
    const auto now = clock_type::now();
    if (next > now) std::this_thread::sleep_for(next - now);
    else if (now - next > 1s) next = now;  // fell behind during a fault: no burst to catch up
  }
  // Drain: everything still queued is retried until acknowledged (bounded).
  if (rd_kafka_flush(rk, 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    std::cerr << "chaos: " << name << ": " << rd_kafka_outq_len(rk) << " messages unflushed\n";
  rd_kafka_destroy(rk);
}

// -- native idempotent producer ------------------------------------------------------------

void run_native_producer(const settings& s, std::uint16_t port, ledger& book, std::string name,
                         const std::atomic<bool>& stop) {
  client::options o;
  o.port = port;
  o.timeout = 10s;
  std::optional<client::idempotent_producer> p;
  while (!p && !stop.load()) {
    auto opened = client::idempotent_producer::open(o, 120s);
    if (client::ok(opened)) p.emplace(std::move(std::get<0>(opened)));
    else std::this_thread::sleep_for(100ms);
  }
  const auto interval = std::chrono::microseconds(1'000'000 / std::max(1, s.rate));
  auto next = clock_type::now();
  for (std::uint64_t n = 0; p && !stop.load(); ++n) {
    const std::string value = name + "-" + std::to_string(n);
    protocol::message_batch batch;
    protocol::message m;
    m.value = value;
    batch.messages.push_back(std::move(m));
    const auto partition = partition_of(n, s.partitions);
    auto r = p->publish("chaos", partition, batch);
    if (client::ok(r))
      book.record({partition, std::get<0>(r).base_offset, value});
    else
      book.record_failure(value, "native " + std::string(to_string(client::error_of(r).code)));
    next += interval;
    const auto now = clock_type::now();
    if (next > now) std::this_thread::sleep_for(next - now);
    else if (now - next > 1s) next = now;
  }
}

// -- kafkajs idempotent producer (a node child process) --------------------------------------

struct kafkajs_producer {
  std::string out;
  test::child_process process;
};

kafkajs_producer start_kafkajs(const settings& s, std::uint16_t port, const std::string& dir,
                               const std::string& name) {
  kafkajs_producer p;
  p.out = dir + "/" + name + ".acks";
  p.process = test::child_process(
      {"node", s.kafkajs_dir + "/idempotent_producer.js", "127.0.0.1:" + std::to_string(port),
       "chaos", std::to_string(s.partitions), name, p.out, std::to_string(s.rate)},
      dir + "/" + name + ".log");
  return p;
}

// SIGTERM lets it finish the send in flight; then its acknowledgements join the ledger.
void finish_kafkajs(kafkajs_producer& p, ledger& book) {
  p.process.stop(SIGTERM, 60s);
  std::ifstream in(p.out);
  std::string kind;
  while (in >> kind) {
    if (kind == "ACK") {
      ack a;
      in >> a.partition >> a.offset >> a.value;
      book.record(std::move(a));
    } else if (kind == "FAIL") {
      std::string value, why;
      in >> value >> why;
      book.record_failure(value, "kafkajs " + why);
    } else {
      std::string rest;
      std::getline(in, rest);
      std::lock_guard lock{book.mutex};
      ++book.fatal;
      std::cerr << "chaos: kafkajs " << kind << rest << "\n";
    }
  }
}

// -- verdict -----------------------------------------------------------------------------------

struct verdict {
  std::uint64_t acked = 0, stored = 0, lost = 0, misplaced = 0, duplicates = 0, gaps = 0,
                out_of_order = 0, acked_without_offset = 0;
  std::vector<std::string> examples;  ///< the first anomalies, for the report
  void example(std::string e) {
    if (examples.size() < 40) examples.push_back(std::move(e));
  }
  bool ok() const { return lost == 0 && misplaced == 0 && duplicates == 0 && gaps == 0 && out_of_order == 0; }
};

verdict check(const settings& s, std::uint16_t port, ledger& book) {
  verdict v;
  client::options o;
  o.port = port;
  o.timeout = 30s;
  auto c = client::connection::open(o);
  if (!client::ok(c)) {
    std::cerr << "chaos: cannot connect to read back\n";
    std::exit(2);
  }
  auto& conn = std::get<0>(c);
  // (partition, offset) -> value, and value -> how often stored.
  std::map<std::pair<std::int32_t, std::int64_t>, std::string> at;
  std::map<std::string, std::vector<std::pair<std::int32_t, std::int64_t>>> copies;
  // producer -> partition -> stored sequence numbers in offset order
  std::map<std::string, std::map<std::int32_t, std::vector<std::uint64_t>>> order;
  for (std::int32_t p = 0; p < s.partitions; ++p) {
    std::int64_t offset = 0;
    for (int guard = 0; guard < 10'000'000; ++guard) {
      auto f = conn.fetch("chaos", p, offset, 4 << 20, 0);
      if (!client::ok(f)) {
        std::cerr << "chaos: read back failed: " << client::error_of(f).message << "\n";
        std::exit(2);
      }
      auto& got = std::get<0>(f);
      for (auto& m : got.messages) {
        const std::string value = m.value ? *m.value : std::string();
        at[{p, m.offset}] = value;
        copies[value].emplace_back(p, m.offset);
        ++v.stored;
        const auto dash = value.rfind('-');
        order[value.substr(0, dash)][p].push_back(std::stoull(value.substr(dash + 1)));
      }
      if (got.next_offset >= got.high_watermark || got.next_offset == offset) break;
      offset = got.next_offset;
    }
  }
  auto where = [&](const std::string& value) {
    std::string w;
    for (const auto& [part, off] : copies[value])
      w += " " + std::to_string(part) + "@" + std::to_string(off);
    return w.empty() ? std::string(" nowhere") : w;
  };
  for (const auto& [value, places] : copies)
    if (places.size() > 1) {
      v.duplicates += places.size() - 1;
      v.example("duplicate " + value + ": stored at" + where(value));
    }
  std::map<std::string, std::map<std::int32_t, std::uint64_t>> max_acked;
  for (const auto& a : book.acked) {
    ++v.acked;
    auto it = at.find({a.partition, a.offset});
    const auto acked_at = std::to_string(a.partition) + "@" + std::to_string(a.offset);
    if (copies.find(a.value) == copies.end()) {
      ++v.lost;
      v.example("lost " + a.value + ": acknowledged at " + acked_at);
    } else if (a.offset < 0) {
      // librdkafka acknowledges a message whose request failed ambiguously once a later
      // one succeeds (it is then known to be stored), without an offset: it must be there.
      ++v.acked_without_offset;
    } else if (it == at.end() || it->second != a.value) {
      ++v.misplaced;
      v.example("misplaced " + a.value + ": acknowledged at " + acked_at + ", stored at" +
                where(a.value) + (it == at.end() ? "" : ", that offset holds " + it->second));
    }
    const auto dash = a.value.rfind('-');
    auto& m = max_acked[a.value.substr(0, dash)][a.partition];
    m = std::max<std::uint64_t>(m, std::stoull(a.value.substr(dash + 1)));
  }
  for (auto& [producer, parts] : order)
    for (auto& [p, seqs] : parts)
      for (std::size_t i = 1; i < seqs.size(); ++i)
        if (seqs[i] <= seqs[i - 1]) {
          ++v.out_of_order;
          v.example("out of order on partition " + std::to_string(p) + ": " + producer + "-" +
                    std::to_string(seqs[i]) + " after " + producer + "-" +
                    std::to_string(seqs[i - 1]));
        }
  // Gaps: a value sent to a partition before that producer's last acknowledged one there,
  // not stored, and not reported as failed.
  for (const auto& [producer, parts] : max_acked)
    for (const auto& [p, top] : parts) {
      std::set<std::uint64_t> have(order[producer][p].begin(), order[producer][p].end());
      for (std::uint64_t n = static_cast<std::uint64_t>(p); n <= top;
           n += static_cast<std::uint64_t>(s.partitions))
        if (!have.count(n) && !book.failed.count(producer + "-" + std::to_string(n))) {
          ++v.gaps;
          v.example("gap: " + producer + "-" + std::to_string(n) + " missing on partition " +
                    std::to_string(p));
        }
    }
  return v;
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"portask-chaos: idempotent producers vs. broker and store faults"};
  app.add_option("--portask", s.portask, "the portask binary")->capture_default_str();
  app.add_option("--faults", s.faults, "faults to inject")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--seed", s.seed, "random seed (the fault sequence)")->capture_default_str();
  app.add_option("--kafka-producers", s.kafka_producers, "librdkafka idempotent producers")
      ->capture_default_str()->check(CLI::Range(0, 16));
  app.add_option("--native-producers", s.native_producers, "native idempotent producers")
      ->capture_default_str()->check(CLI::Range(0, 16));
  app.add_option("--kafkajs-producers", s.kafkajs_producers,
                 "kafkajs idempotent producers (node child processes)")
      ->capture_default_str()->check(CLI::Range(0, 16));
  app.add_option("--partitions", s.partitions, "partitions of the topic")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--rate", s.rate, "messages per second per producer")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--store-timeout-ms", s.store_timeout_ms, "the broker's store timeout")
      ->capture_default_str()->check(CLI::Range(100, 60000));
  app.add_option("--kinds", s.kinds, "the faults to choose from")
      ->capture_default_str()
      ->check(CLI::IsMember({"broker_kill", "redis_kill", "redis_stop", "broker_stop",
                             "store_connections_dropped"}));
  app.add_option("--kafka-debug", s.kafka_debug, "write librdkafka's eos/msg debug log here");
  app.add_option("--keep-logs", s.keep_logs, "copy the broker's and redis' logs into this folder");
  CLI11_PARSE(app, argc, argv);
  if (s.kafka_producers + s.native_producers == 0) {
    std::cerr << "chaos: at least one librdkafka or native producer (they pace the faults)\n";
    return 2;
  }

  if (!s.kafka_debug.empty()) kafka_debug_file = std::fopen(s.kafka_debug.c_str(), "w");
  test::temp_dir dir;
  test::redis_server redis;
  if (!redis.start()) {
    std::cerr << "chaos: redis-server did not start\n";
    return 2;
  }
  broker b{s, redis.url(), dir.path() + "/portask.log"};
  if (!b.start()) {
    std::cerr << "chaos: portask did not start\n";
    return 2;
  }
  {
    client::options o;
    o.port = b.port();
    auto c = client::connection::open(o);
    if (!client::ok(c) || !client::ok(std::get<0>(c).create_topic("chaos", s.partitions))) {
      std::cerr << "chaos: cannot create the topic\n";
      return 2;
    }
  }

  ledger book;
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int i = 0; i < s.kafka_producers; ++i)
    producers.emplace_back(run_kafka_producer, std::cref(s), b.kafka_port(), std::ref(book),
                           "k" + std::to_string(i), std::cref(stop));
  for (int i = 0; i < s.native_producers; ++i)
    producers.emplace_back(run_native_producer, std::cref(s), b.port(), std::ref(book),
                           "n" + std::to_string(i), std::cref(stop));
  std::vector<kafkajs_producer> node_producers;
  for (int i = 0; i < s.kafkajs_producers; ++i)
    node_producers.push_back(start_kafkajs(s, b.kafka_port(), dir.path(), "j" + std::to_string(i)));

  // Wait for traffic before the first fault.
  if (!test::wait_until([&] { return book.ack_count.load() > 100; }, 60s)) {
    std::cerr << "chaos: no acknowledgements before the first fault\n";
    stop = true;
    for (auto& t : producers) t.join();
    return 1;
  }

  std::mt19937 rng{s.seed};
  auto uniform_ms = [&](int lo, int hi) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  const auto& kinds = s.kinds;
  std::map<std::string, int> injected;
  std::vector<double> recovery_ms;
  int unrecovered = 0;
  const auto started = clock_type::now();
  for (int i = 0; i < s.faults; ++i) {
    const auto& kind = kinds[std::uniform_int_distribution<std::size_t>(0, kinds.size() - 1)(rng)];
    ++injected[kind];
    if (kind == "broker_kill") {
      b.kill();
      if (!b.start()) {
        std::cerr << "chaos: the broker did not restart\n";
        return 1;
      }
    } else if (kind == "redis_kill") {
      redis.kill();
      if (!redis.start()) {
        std::cerr << "chaos: redis did not restart\n";
        return 1;
      }
    } else if (kind == "redis_stop") {
      redis.pause();
      std::this_thread::sleep_for(uniform_ms(s.store_timeout_ms / 2, s.store_timeout_ms * 3));
      redis.resume();
    } else if (kind == "broker_stop") {
      b.signal(SIGSTOP);
      std::this_thread::sleep_for(uniform_ms(200, 2000));
      b.signal(SIGCONT);
    } else {
      test::run_shell("redis-cli -p " + std::to_string(redis.port()) +
                      " CLIENT KILL TYPE normal >/dev/null 2>&1");
    }
    // Recovery: from the end of the fault to the next acknowledgement.
    const auto fault_end = clock_type::now();
    const auto before = book.ack_count.load();
    if (test::wait_until([&] { return book.ack_count.load() > before; }, 60s))
      recovery_ms.push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - fault_end).count());
    else
      ++unrecovered;
    std::this_thread::sleep_for(uniform_ms(100, 600));
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  stop = true;
  for (auto& t : producers) t.join();
  for (auto& p : node_producers) finish_kafkajs(p, book);

  const auto v = check(s, b.port(), book);
  std::ostringstream faults;
  for (const auto& [k, n] : injected) faults << " " << k << "=" << n;
  std::cout << "chaos: " << s.faults << " faults in " << static_cast<int>(seconds) << " s ("
            << faults.str().substr(1) << "), seed " << s.seed << "\n";
  std::cout << "chaos: acked " << v.acked << " (" << v.acked_without_offset
            << " without an offset), stored " << v.stored << ", lost " << v.lost
            << ", misplaced " << v.misplaced << ", duplicates " << v.duplicates << ", gaps "
            << v.gaps << ", out of order " << v.out_of_order << ", reported failed "
            << book.failed.size() << ", fatal producer errors " << book.fatal << "\n";
  std::cout << "chaos: recovery p50 " << static_cast<int>(percentile(recovery_ms, 0.5))
            << " ms, p99 " << static_cast<int>(percentile(recovery_ms, 0.99)) << " ms, max "
            << static_cast<int>(percentile(recovery_ms, 1.0)) << " ms, unrecovered "
            << unrecovered << "\n";
  for (const auto& [e, n] : book.errors) std::cout << "chaos:   " << e << " x" << n << "\n";
  for (const auto& e : v.examples) std::cout << "chaos: ! " << e << "\n";
  if (!s.keep_logs.empty()) {
    test::run_shell("mkdir -p '" + s.keep_logs + "' && cp '" + dir.path() + "/portask.log' '" +
                    redis.dir() + "/redis.log' '" + s.keep_logs + "/'");
  }
  const bool pass = v.ok() && unrecovered == 0 && book.fatal == 0 && v.acked > 0;
  std::cout << "chaos: " << (pass ? "PASS" : "FAIL") << "\n";
  return pass ? 0 : 1;
}
