// portask-cli against the real `portask` executable: every command with valid and invalid
// input (exit codes 0 / 1 / 2 and their messages), JSON output that parses, consumption from
// every kind of start position, a consumer group that commits and resumes, group lag, and
// keys landing on the partitions librdkafka's murmur2_random partitioner picks (kcat).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "old_store.hpp"
#include "protocol/partitioner.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

namespace portask::test {
namespace {

using json = nlohmann::json;


class Cli : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server.start({"--default-partitions", "1"})); }

  // Runs portask-cli with `args` against the broker; exit status and stdout (+ stderr when
  // `with_stderr`).
  std::pair<int, std::string> cli(const std::string& args, bool with_stderr = true) {
    return run_shell(std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port()) +
                     " --http-port " + std::to_string(server.http_port()) + " " + args +
                     (with_stderr ? " 2>&1" : " 2>/dev/null") + " </dev/null");
  }
  std::pair<int, std::string> cli_stdin(const std::string& input, const std::string& args) {
    return run_shell("printf '" + input + "' | " + std::string(PORTASK_CLI_BINARY) + " --port " +
                     std::to_string(server.port()) + " " + args + " 2>&1");
  }
  // Every stdout line parsed as JSON (a line that is not JSON fails the test).
  std::vector<json> json_lines(const std::string& args) {
    auto [rc, out] = cli(args, false);
    EXPECT_EQ(rc, 0) << args;
    std::vector<json> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
      lines.push_back(std::move(j));
    }
    return lines;
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(server.kafka_port()); }

  // The CLI's command line up to the command: the binary and the broker's ports.
  std::string cli_command() const { return cli_command(server); }
  static std::string cli_command(const server_process& broker) {
    return std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(broker.port()) + " --http-port " +
           std::to_string(broker.http_port());
  }
  struct outputs {
    int rc;
    std::string out;
    std::string err;
  };
  // Runs portask-cli with `args` (which may redirect its stdout); exit status, stdout and
  // stderr apart.
  outputs cli_apart(const std::string& args) { return cli_apart(server, args); }
  // The same against another broker.
  outputs cli_apart(const server_process& broker, const std::string& args) {
    const std::string err_file = dir.path() + "/cli.err";
    auto [rc, out] = run_shell(cli_command(broker) + " " + args + " 2>" + err_file + " </dev/null");
    return {rc, out, file_text(err_file)};
  }
  // Runs portask-cli with `args` against the broker's native port and the HTTP server at
  // `http_port` (bounded: a CLI that hangs is killed, exit 124); exit status, stdout, stderr.
  outputs cli_with_http_port(std::uint16_t http_port, const std::string& args) {
    const std::string err_file = dir.path() + "/cli.err";
    auto [rc, out] = run_shell("timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --port " +
                               std::to_string(server.port()) + " --http-port " + std::to_string(http_port) + " " +
                               args + " 2>" + err_file + " </dev/null");
    return {rc, out, file_text(err_file)};
  }
  static std::string file_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
};

TEST_F(Cli, UsageErrorsExitTwoWithAMessageAndNeverCrash) {
  struct bad {
    const char* args;
    const char* says;
  };
  for (const auto& b : {bad{"", "A subcommand is required"},
                        bad{"consume t --from beginningx", "--from 'beginningx'"},
                        bad{"consume t --from committed", "needs --group"},
                        bad{"consume t --from @yesterday", "--from '@yesterday'"},
                        bad{"consume t --format xml", "--format 'xml'"},
                        bad{"consume t -p -1", "-p"},
                        bad{"produce t --codec nope v", "unknown codec"},
                        bad{"produce t --compression lzma v", "unknown compression"},
                        bad{"topics", "A subcommand is required"},
                        bad{"topics list --format yaml", "--format"},
                        bad{"topics create t --partitions -5", "--partitions"},
                        bad{"topics add-partitions t 0", "total"},
                        bad{"topics alter-config t", "nothing to change"},
                        bad{"topics create t --config nokey", "expected key=value"},
                        bad{"topics alter-config t --set retention.ms=", "--delete retention.ms"},
                        bad{"--user '' topics list", "--user"},
                        bad{"groups reset-offsets g --topic t --to committed", "--to 'committed'"},
                        bad{"groups reset-offsets g --topic t", "--to"},
                        bad{"frobnicate", "unknown command 'frobnicate'"},
                        bad{"--port 1 frobnicate", "unknown command 'frobnicate'"},
                        bad{"--timeout 0 topics list", "--timeout"},
                        bad{"--tls-key-file k.pem topics list", "--tls-key-file needs --tls-cert-file"},
                        bad{"consume t --group g -p 1", "excludes"},
                        bad{"consume t --idle-timeout 100", "--idle-timeout requires --follow"},
                        bad{"produce t -p -5 v", "--partition -5"},
                        // Integers are decimal only (CLI11 alone reads 0x10 as 16 and 010 as
                        // 8) and never negative for a count: -1 is not "unlimited".
                        bad{"consume t -p 0x10", "--partition"},
                        bad{"produce t --batch -1 v", "--batch"},
                        bad{"produce t --batch 0 v", "--batch"},
                        bad{"produce t --batch 100001 v", "--batch"},
                        // A batch carries at least one message; the client encodes no more.
                        bad{"produce t --max-batch-bytes 1023 v", "--max-batch-bytes"},
                        bad{"produce t --max-batch-bytes 17825793 v", "--max-batch-bytes"},
                        // ... whatever the frame limit: up to it, not past it.
                        bad{"--max-frame-bytes 100000 produce t --max-batch-bytes 100001 v", "--max-frame-bytes 100000"},
                        bad{"--max-frame-bytes 1023 topics list", "--max-frame-bytes"},
                        bad{"--max-frame-bytes 0x100000 topics list", "--max-frame-bytes"},
                        bad{"--max-frame-bytes 4294967296 topics list", "--max-frame-bytes"},
                        // -K takes kcat's escapes; an empty one never split anything.
                        bad{"produce t -K '' v", "-K '': an empty delimiter"},
                        bad{"produce t -K '\\q' v", "unknown escape \\q"},
                        bad{"produce t -K '\\x4' v", "two hex digits"},
                        // --format reads the same escapes as -K: one the CLI does not take
                        // is refused, not printed without its backslash.
                        bad{"consume t --format '%s\\q'", "unknown escape \\q"},
                        bad{"consume t -n -1", "--max"},
                        bad{"consume t --follow --idle-timeout -5", "--idle-timeout"},
                        bad{"--timeout 0x10 topics list", "--timeout"},
                        bad{"topics delete-records t -p -1 --offset 0", "--partition"},
                        bad{"groups reset-offsets g --topic t -p 08x --to earliest", "--partition"},
                        // A header needs a name and an '=', as --config's key=value does.
                        bad{"produce t -H =v v", "header '=v'"},
                        bad{"produce t -H name v", "header 'name'"},
                        bad{"groups reset-offsets g --topic t --to earliest --shift-by 1", "excludes"},
                        // HTTP Basic credentials over plain HTTP go to loopback hosts only.
                        bad{"--host 192.0.2.1 --user bob stats", "loopback"},
                        bad{"--host 192.0.2.1 --user bob cluster info", "loopback"},
                        bad{"--host 192.0.2.1 --user bob cluster nodes", "loopback"},
                        bad{"acls create --principal User:a --topic t --host 10.0.0.1", "--acl-host"}}) {
    auto [rc, out] = cli(b.args);
    EXPECT_EQ(rc, 2) << b.args << "\n" << out;
    EXPECT_NE(out.find(b.says), std::string::npos) << b.args << "\n" << out;
  }
  auto [rc, help] = cli("--help");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(help.find("7070"), std::string::npos) << "defaults shown: " << help;
  std::tie(rc, help) = cli("consume --help");
  EXPECT_EQ(rc, 0);
  EXPECT_NE(help.find("earliest"), std::string::npos) << help;
}

// Kafka refuses an AlterConfigs naming a key twice; the CLI says so before sending anything.
TEST_F(Cli, AlterConfigRefusesAKeyGivenTwice) {
  auto [rc, out] = cli("topics create twice --config retention.ms=7000");
  ASSERT_EQ(rc, 0) << out;
  for (const auto* args : {"topics alter-config twice --set retention.ms=5000 --delete retention.ms",
                           "topics alter-config twice --set retention.ms=5000 --set retention.ms=6000"}) {
    std::tie(rc, out) = cli(args);
    EXPECT_EQ(rc, 2) << args << "\n" << out;
    EXPECT_NE(out.find("config 'retention.ms' given more than once"), std::string::npos) << args << "\n" << out;
  }
  std::tie(rc, out) = cli("topics describe twice");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("retention.ms = 7000"), std::string::npos) << "unchanged: " << out;
}

TEST_F(Cli, RuntimeErrorsExitOneNamingTheCause) {
  auto [rc, out] = cli("topics describe missing");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("describe missing"), std::string::npos) << out;
  std::tie(rc, out) = cli("groups describe nobody");
  EXPECT_EQ(rc, 1) << out;
  const auto closed = "127.0.0.1:" + std::to_string(free_port());
  std::tie(rc, out) = run_shell(std::string(PORTASK_CLI_BINARY) + " --port " +
                                closed.substr(closed.find(':') + 1) + " topics list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  // One line naming the address once, and why.
  EXPECT_EQ(out.find("cannot connect to " + closed), out.rfind("cannot connect")) << out;
  EXPECT_NE(out.find("cannot connect to " + closed), std::string::npos) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  // stats asks the host it is given, not the local broker.
  std::tie(rc, out) = cli("--host no-such-host.invalid stats");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("no-such-host.invalid"), std::string::npos) << out;
  std::tie(rc, out) = cli("produce keyless-unknown -k user1 v");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("topics create"), std::string::npos) << out;
}

TEST_F(Cli, ConsumesEveryPartitionWithEveryFieldAsJsonLines) {
  ASSERT_EQ(cli("topics create orders --partitions 3").first, 0);
  std::string input;
  for (int i = 0; i < 30; ++i) input += "user" + std::to_string(i % 7) + ":v" + std::to_string(i) + "\\n";
  auto [rc, out] = cli_stdin(input, "produce orders -K: -H trace=abc");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("\r"), std::string::npos) << "no progress line without a TTY: " << out;
  const auto lines = json_lines("consume orders --format json");
  ASSERT_EQ(lines.size(), 30u);
  std::set<int> partitions;
  for (const auto& j : lines) {
    const std::string key = j["key"];
    EXPECT_EQ(j["partition"], protocol::partition_for_key(key, 3)) << key;
    partitions.insert(j["partition"].get<int>());
    EXPECT_EQ(j["topic"], "orders");
    EXPECT_GT(j["timestamp"].get<std::int64_t>(), 1'600'000'000'000);
    EXPECT_EQ(j["headers"][0]["key"], "trace");
    EXPECT_EQ(j["headers"][0]["value"], "abc");
    EXPECT_EQ(j["value"].get<std::string>().substr(0, 1), "v");
  }
  EXPECT_EQ(partitions.size(), 3u) << "seven keys over three partitions";

  // Text: one line per record, tab-separated, newlines in values escaped.
  ASSERT_EQ(cli("produce notes -p 0 'two\nlines'").first, 0);
  std::tie(rc, out) = cli("consume notes", false);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("\ttwo\\nlines\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(0, 4), "0\t0\t");
  std::tie(rc, out) = cli("consume notes --format '%t:%p:%o:%s\\n'", false);
  EXPECT_EQ(out, "notes:0:0:two\\nlines\n");

  // Every codec and compression the broker has: the consumer sees the same values.
  ASSERT_EQ(cli("produce packed -p 0 --codec json --compression zstd --batch 2 a b c").first, 0);
  ASSERT_EQ(cli("produce packed -p 0 --codec msgpack --compression lz4 d").first, 0);
  std::tie(rc, out) = cli("consume packed --format '%s '", false);
  EXPECT_EQ(out, "a b c d ");
  std::tie(rc, out) = cli("stats", false);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("portask_messages_in_total{protocol=\"portask\"}"), std::string::npos) << out;
}

TEST_F(Cli, StartsFromEveryKindOfPosition) {
  ASSERT_EQ(cli("topics create log --partitions 2").first, 0);
  for (int p = 0; p < 2; ++p) {
    std::string values;
    for (int i = 0; i < 10; ++i) values += " p" + std::to_string(p) + "-" + std::to_string(i);
    ASSERT_EQ(cli("produce log -p " + std::to_string(p) + values).first, 0);
  }
  EXPECT_EQ(json_lines("consume log --format json --from earliest").size(), 20u);
  EXPECT_EQ(json_lines("consume log --format json --from latest").size(), 0u);
  const auto tail = json_lines("consume log --format json --from -3");
  ASSERT_EQ(tail.size(), 6u) << "three per partition";
  for (const auto& j : tail) EXPECT_GE(j["offset"].get<int>(), 7);
  const auto from7 = json_lines("consume log -p 1 --format json --from 7");
  ASSERT_EQ(from7.size(), 3u);
  EXPECT_EQ(from7[0]["value"], "p1-7");
  EXPECT_EQ(json_lines("consume log -p 0 --format json -n 4").size(), 4u);
  // By time: everything is stamped after an hour ago, nothing after an hour from now.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_EQ(json_lines("consume log --format json --from @" + std::to_string(now_ms - 3600000)).size(),
            20u);
  EXPECT_EQ(json_lines("consume log --format json --from @" + std::to_string(now_ms + 3600000)).size(),
            0u);
}

TEST_F(Cli, AGroupCommitsResumesShowsLagAndResets) {
  ASSERT_EQ(cli("topics create jobs --partitions 2").first, 0);
  // Two keys on different partitions.
  const std::string a = "a";
  std::string b = "b";
  while (protocol::partition_for_key(b, 2) == protocol::partition_for_key(a, 2)) b += "b";
  ASSERT_EQ(cli("produce jobs -k " + a + " j1 j2 j3").first, 0);
  ASSERT_EQ(cli("produce jobs -k " + b + " j4 j5").first, 0);
  // Stopped by -n inside what it fetched, a member commits what it printed and no more: the
  // next run prints the rest.
  const auto first = json_lines("consume jobs --group partial --format json -n 1");
  ASSERT_EQ(first.size(), 1u);
  const auto the_rest = json_lines("consume jobs --group partial --format json");
  EXPECT_EQ(the_rest.size(), 4u);
  std::set<std::string> seen;
  for (const auto& m : first) seen.insert(m["value"].get<std::string>());
  for (const auto& m : the_rest) seen.insert(m["value"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"j1", "j2", "j3", "j4", "j5"}));
  EXPECT_EQ(json_lines("consume jobs --group billing --format json").size(), 5u);
  ASSERT_EQ(cli("produce jobs -k " + a + " j6").first, 0);
  // The second run resumes from what the first committed.
  const auto resumed = json_lines("consume jobs --group billing --format json --from committed");
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0]["value"], "j6");
  ASSERT_EQ(cli("produce jobs -k " + b + " j7 j8").first, 0);

  auto described = json_lines("groups describe billing --format json");
  ASSERT_EQ(described.size(), 1u);
  const auto& d = described[0];
  EXPECT_EQ(d["state"], "Empty");
  EXPECT_EQ(d["lag"], 2);
  ASSERT_EQ(d["partitions"].size(), 2u);
  for (const auto& p : d["partitions"]) {
    EXPECT_EQ(p["lag"].get<int>(),
              protocol::partition_for_key(b, 2) == p["partition"].get<int>() ? 2 : 0)
        << p.dump();
  }
  auto [rc, table] = cli("groups describe billing", false);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(table.find("LAG"), std::string::npos) << table;

  const auto groups = json_lines("groups list --format json");
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_TRUE(groups[0].is_array());
  bool listed = false;
  for (const auto& g : groups[0]) listed = listed || g["group"] == "billing";
  EXPECT_TRUE(listed) << groups[0].dump();

  auto [reset_rc, reset_out] = cli("groups reset-offsets billing --topic jobs --to earliest");
  EXPECT_EQ(reset_rc, 0) << reset_out;
  EXPECT_EQ(json_lines("groups describe billing --format json")[0]["lag"], 8);
  EXPECT_EQ(json_lines("consume jobs --group billing --format json").size(), 8u);

  auto [del_rc, del_out] = cli("groups delete billing");
  EXPECT_EQ(del_rc, 0) << del_out;
  EXPECT_EQ(cli("groups describe billing").first, 1);
}

// A following group member gets messages produced while it waits, and stops at --max.
TEST_F(Cli, AFollowingGroupMemberReceivesNewMessages) {
  ASSERT_EQ(cli("topics create live --partitions 3").first, 0);
  const std::string cli_bin = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port());
  const std::string out_file = dir.path() + "/followed.jsonl";
  // The member exits by itself after six messages; the shell waits for that exit.
  auto [rc, out] = run_shell("timeout 60 " + cli_bin +
                             " consume live --group watchers --follow -n 6 --format json > " +
                             out_file + " & member=$!; " + cli_bin + " produce live -k k1 a b c && " +
                             cli_bin + " produce live -k k2 d e f && wait $member && cat " + out_file);
  EXPECT_EQ(rc, 0) << out;
  std::istringstream lines(out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n)
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
  EXPECT_EQ(n, 6) << out;
  // Everything it printed was committed.
  EXPECT_EQ(json_lines("groups describe watchers --format json")[0]["lag"], 0);
}

// What scripts rely on: a --follow that ends after a quiet spell (exit 0); a reader that goes
// away (`| head`) ends the consumer quietly with 141, as a SIGPIPE death would, instead of
// reading on forever; a group on a topic that does not exist is an error, not an empty
// success; -Z sends empty lines as null values (tombstones).
TEST_F(Cli, ScriptsGetBoundedFollowsClosedOutputAndTombstones) {
  ASSERT_EQ(cli("topics create quiet --partitions 2").first, 0);
  ASSERT_EQ(cli("produce quiet a b c").first, 0);
  auto [rc, out] = run_shell("timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --port " +
                             std::to_string(server.port()) + " consume quiet --follow --idle-timeout 10000 --format '%s\\n' 2>&1 | sort | tr '\\n' ' '");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "a b c ") << "everything, then a clean end";
  // The reader takes one line and leaves; the consumer, following, notices and stops.
  const std::string status = dir.path() + "/status", err = dir.path() + "/head.err";
  std::tie(rc, out) = run_shell("( timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --port " +
                                std::to_string(server.port()) + " consume quiet --follow --format '%s\\n' 2>" + err +
                                "; echo \"status $?\" > " + status + " ) | head -1 >/dev/null; cat " + status + " " + err);
  EXPECT_EQ(out, "status 141\n") << "not 124 (timeout) nor 0, and nothing on stderr: " << out;
  std::tie(rc, out) = cli("consume no-such-topic --group g");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("no-such-topic"), std::string::npos) << out;
  // -Z: the empty line is a null value, the others stay as they are.
  ASSERT_EQ(cli_stdin("k1:v1\\nk1:\\nk2:\\n", "produce quiet -K: -Z").first, 0);
  std::map<std::string, json> last_by_key;
  for (const auto& line : json_lines("consume quiet --format json"))
    if (line["key"].is_string()) last_by_key[line["key"]] = line["value"];
  ASSERT_EQ(last_by_key.size(), 2u);
  EXPECT_TRUE(last_by_key["k1"].is_null()) << last_by_key["k1"];
  EXPECT_TRUE(last_by_key["k2"].is_null()) << last_by_key["k2"];
  ASSERT_EQ(cli_stdin("k3:\\n", "produce quiet -K:").first, 0);
  bool found = false;
  for (const auto& line : json_lines("consume quiet --format json")) {
    if (line["key"] == "k3") {
      found = true;
      EXPECT_EQ(line["value"], "") << "without -Z an empty line is an empty value";
    }
  }
  EXPECT_TRUE(found);
}

// A broker that never answers the connection (its accept queue is full, so the system drops
// the SYNs, as a host that drops packets does): --timeout bounds the connect, where a
// blocking connect() would wait for the system's SYN retries (about two minutes).
TEST_F(Cli, AConnectThatIsNeverAnsweredGivesUpAtTheTimeout) {
  const loopback_listener listener{0};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(listener.port);
  const socklen_t len = sizeof addr;
  // Never accepted: these fill the queue, and the next SYNs are dropped.
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
    fillers.push_back(fd);
  }
  auto [rc, out] = run_shell("timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --timeout 500 --port " +
                             std::to_string(listener.port) + " topics list 2>&1");
  EXPECT_EQ(rc, 1) << "exit 1, not 124 (killed by timeout): " << out;
  EXPECT_NE(out.find("cannot connect"), std::string::npos) << out;
  for (int fd : fillers) ::close(fd);
}

TEST_F(Cli, TopicsAdministrationWithTablesAndJson) {
  auto [rc, out] = cli("topics create admin --partitions 2 --config retention.ms=60000");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = cli("topics create defaulted");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("(1 partitions)"), std::string::npos) << "the broker's default: " << out;
  ASSERT_EQ(cli("produce admin -p 1 hello world").first, 0);
  std::tie(rc, out) = cli("topics list", false);
  EXPECT_EQ(out.substr(0, 5), "TOPIC") << out;
  auto list = json_lines("topics list --format json");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].size(), 2u);

  EXPECT_EQ(cli("topics alter-config admin --set retention.ms=1000 --set cleanup.policy=compact").first, 0);
  std::tie(rc, out) = cli("topics alter-config admin --set retention.ms=soon");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("retention.ms"), std::string::npos) << out;
  EXPECT_EQ(cli("topics alter-config admin --delete cleanup.policy").first, 0);
  EXPECT_EQ(cli("topics add-partitions admin 4").first, 0);
  std::tie(rc, out) = cli("topics add-partitions admin 3");
  EXPECT_EQ(rc, 1) << "cannot shrink: " << out;
  EXPECT_NE(out.find("The topic admin currently has 4 partition(s); 3 would not be an increase."), std::string::npos)
      << "the reason, not only the code: " << out;

  auto d = json_lines("topics describe admin --format json");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["partitions"].size(), 4u);
  EXPECT_EQ(d[0]["partitions"][1]["messages"], 2);
  EXPECT_GT(d[0]["partitions"][1]["bytes"].get<int>(), 0);
  EXPECT_EQ(d[0]["configs"]["retention.ms"], "1000");
  EXPECT_FALSE(d[0]["configs"].contains("cleanup.policy"));

  EXPECT_EQ(cli("topics delete-records admin -p 1 --offset 1").first, 0);
  EXPECT_EQ(json_lines("consume admin -p 1 --format json").size(), 1u);
  EXPECT_EQ(cli("topics delete admin").first, 0);
  EXPECT_EQ(cli("topics describe admin").first, 1);

  auto info = json_lines("cluster info --format json");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]["broker"]["port"], server.port());
  EXPECT_EQ(info[0]["health"]["status"], "ok");
}

// The same keys, produced by kcat with librdkafka's murmur2_random partitioner and by the
// CLI, land on the same partitions.
TEST_F(Cli, KeysLandWhereLibrdkafkasMurmur2RandomPutsThem) {
  ASSERT_EQ(cli("topics create by-kcat --partitions 6").first, 0);
  ASSERT_EQ(cli("topics create by-cli --partitions 6").first, 0);
  std::string lines;
  for (int i = 0; i < 60; ++i) lines += "key-" + std::to_string(i * 7919) + ":v\\n";
  auto [rc, out] = run_shell("printf '" + lines + "' | kcat -b " + bootstrap() +
                             " -P -t by-kcat -K: -X partitioner=murmur2_random 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = cli_stdin(lines, "produce by-cli -K:");
  ASSERT_EQ(rc, 0) << out;
  std::map<std::string, int> kcat_partition, cli_partition;
  for (const auto& j : json_lines("consume by-kcat --format json"))
    kcat_partition[j["key"]] = j["partition"];
  for (const auto& j : json_lines("consume by-cli --format json"))
    cli_partition[j["key"]] = j["partition"];
  ASSERT_EQ(kcat_partition.size(), 60u);
  EXPECT_EQ(cli_partition, kcat_partition);
  std::set<int> used;
  for (const auto& [k, p] : cli_partition) used.insert(p);
  EXPECT_EQ(used.size(), 6u);
}

// A producer fed by a pipe that stays open (`tail -f app.log | portask-cli produce logs`)
// sends what it read once no more input is ready, not when a batch fills or stdin ends; a
// SIGTERM while it waits for input ends it with the summary, then by that signal (so a
// script running it stops too; its shell reports 143).
TEST_F(Cli, AProducerOnAnOpenPipeSendsWhatItReadAndStopsOnSigterm) {
  ASSERT_EQ(cli("topics create tailed --partitions 1").first, 0);
  auto c = server.connect();
  const auto stored = [&c]() -> std::int64_t {
    auto b = c.list_offsets("tailed", 0);
    return client::ok(b) ? std::get<0>(b).high_watermark : -1;
  };
  const std::string pid_file = dir.path() + "/producer.pid", err_file = dir.path() + "/producer.err";
  // The shell writes its pid and becomes the CLI (exec), so the pid is the CLI's.
  const std::string command =
      "echo $$ > " + pid_file + "; exec " + cli_command() + " produce tailed >/dev/null 2>" + err_file;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> in(::popen(command.c_str(), "w"), ::pclose);
    ASSERT_NE(in.get(), nullptr);
    ASSERT_GE(std::fputs("one\ntwo\nthree\n", in.get()), 0);
    ASSERT_EQ(std::fflush(in.get()), 0);
    // Stdin is still open: the lines must arrive without an end of input.
    EXPECT_TRUE(wait_until([&] { return stored() == 3; }, std::chrono::seconds(60)))
        << stored() << " stored; " << file_text(err_file);
    const int status = ::pclose(in.release());  // closes stdin: the CLI ends
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << file_text(err_file);
    EXPECT_NE(file_text(err_file).find("produced 3 messages"), std::string::npos) << file_text(err_file);
  }
  {
    std::unique_ptr<FILE, int (*)(FILE*)> in(::popen(command.c_str(), "w"), ::pclose);
    ASSERT_NE(in.get(), nullptr);
    ASSERT_GE(std::fputs("four\nfive\n", in.get()), 0);
    ASSERT_EQ(std::fflush(in.get()), 0);
    // Stored means the CLI is reading stdin, its handler in place.
    ASSERT_TRUE(wait_until([&] { return stored() == 5; }, std::chrono::seconds(60)))
        << stored() << " stored; " << file_text(err_file);
    const pid_t pid = std::stoi(file_text(pid_file));
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    const int status = ::pclose(in.release());
    ASSERT_TRUE(WIFSIGNALED(status)) << status << ": " << file_text(err_file);
    EXPECT_EQ(WTERMSIG(status), SIGTERM) << file_text(err_file);
    EXPECT_NE(file_text(err_file).find("produced 2 messages"), std::string::npos) << file_text(err_file);
  }
  EXPECT_EQ(stored(), 5);
}

// Lines end at "\n" with one "\r" before it dropped (Kafka's console producer reads lines
// with Java's readLine), and a last line without a newline is a line too.
TEST_F(Cli, ProducedLinesLoseACarriageReturnBeforeTheNewline) {
  ASSERT_EQ(cli("topics create crlf --partitions 1").first, 0);
  auto [rc, out] = cli_stdin("a\\r\\nb\\r\\nc", "produce crlf");
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> values;
  for (const auto& j : json_lines("consume crlf --format json")) values.push_back(j["value"].get<std::string>());
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
}

// A line longer than one read of stdin (64 KiB) arrives whole, and the lines after it too: the
// reader keeps what it has searched for a newline across reads.
TEST_F(Cli, ALineLongerThanSeveralReadsArrivesWholeAndTheNextLinesAfterIt) {
  ASSERT_EQ(cli("topics create long-lines --partitions 1").first, 0);
  auto [rc, out] = run_shell("{ head -c 300000 /dev/zero | tr '\\0' x; printf '\\nshort\\nlast'; } | " +
                             std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port()) +
                             " produce long-lines 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> values;
  for (const auto& j : json_lines("consume long-lines --format json")) values.push_back(j["value"].get<std::string>());
  EXPECT_EQ(values, (std::vector<std::string>{std::string(300000, 'x'), "short", "last"}));
}

// Keyed and unkeyed lines mixed reach a partition in the order they were read (as a Kafka
// producer keeps send order per partition): an unkeyed line joins the batch of the partition
// it is given, so no batch overtakes another of the same partition.
TEST_F(Cli, MixedKeyedAndUnkeyedLinesKeepTheirOrderInEveryPartition) {
  ASSERT_EQ(cli("topics create ord --partitions 1").first, 0);
  auto [rc, out] = cli_stdin("a:1\\n2\\nb:3\\n4\\nc:5\\n6\\n", "produce ord -K:");
  ASSERT_EQ(rc, 0) << out;
  std::vector<std::string> records;
  for (const auto& j : json_lines("consume ord --format json"))
    records.push_back((j["key"].is_null() ? std::string("(null)") : j["key"].get<std::string>()) + ":" +
                      j["value"].get<std::string>());
  EXPECT_EQ(records, (std::vector<std::string>{"a:1", "(null):2", "b:3", "(null):4", "c:5", "(null):6"}));

  // Over three partitions, in small batches that fill at different times: each partition
  // holds its lines in the order read.
  ASSERT_EQ(cli("topics create ord3 --partitions 3").first, 0);
  std::string input;
  for (int i = 0; i < 300; ++i)
    input += (i % 3 == 0 ? "" : "k" + std::to_string(i % 7) + ":") + std::to_string(i) + "\\n";
  std::tie(rc, out) = cli_stdin(input, "produce ord3 -K: --batch 5");
  ASSERT_EQ(rc, 0) << out;
  std::map<int, std::vector<int>> by_partition;
  std::size_t n = 0;
  for (const auto& j : json_lines("consume ord3 --format json")) {
    by_partition[j["partition"].get<int>()].push_back(std::stoi(j["value"].get<std::string>()));
    ++n;
  }
  EXPECT_EQ(n, 300u);
  for (const auto& [partition, values] : by_partition)
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << "partition " << partition;
}

// A hot key with unkeyed lines among it: the unkeyed ones go to one partition until its
// batch is sent (sticky), so neither kind cuts the other's batches short. Read from a file
// (always ready, so nothing is sent for want of input), every batch sent before the end is
// full: 2000 lines in batches of 100 take at most 20 of them, plus one per partition at the
// end. Each partition holds its lines in the order read.
TEST_F(Cli, AHotKeyAndUnkeyedLinesFillWholeBatchesInOrder) {
  ASSERT_EQ(cli("topics create hot --partitions 4").first, 0);
  const std::string input = dir.path() + "/hot";
  {
    std::ofstream lines(input);
    for (int i = 0; i < 2000; ++i) lines << (i % 10 == 0 ? "" : "hot:") << i << "\n";
  }
  const std::string err_file = dir.path() + "/hot.err";
  auto [rc, out] = run_shell(cli_command() + " produce hot -K: --batch 100 2>" + err_file + " <" + input);
  const auto err = file_text(err_file);
  ASSERT_EQ(rc, 0) << out << err;
  const auto at = err.find("produced 2000 messages in ");
  ASSERT_NE(at, std::string::npos) << err;
  const auto batches = std::stoul(err.substr(at + std::string("produced 2000 messages in ").size()));
  EXPECT_LE(batches, 24u) << err;

  std::map<int, std::vector<int>> by_partition;
  std::set<int> unkeyed_partitions;
  std::size_t n = 0;
  for (const auto& j : json_lines("consume hot --format json")) {
    const int partition = j["partition"].get<int>();
    const int value = std::stoi(j["value"].get<std::string>());
    by_partition[partition].push_back(value);
    if (j["key"].is_null())
      unkeyed_partitions.insert(partition);
    else
      EXPECT_EQ(partition, protocol::partition_for_key("hot", 4)) << value;
    ++n;
  }
  EXPECT_EQ(n, 2000u);
  for (const auto& [partition, values] : by_partition)
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << "partition " << partition;
  // 200 unkeyed lines do not fit one batch of 100: they move on to another partition.
  EXPECT_GE(unkeyed_partitions.size(), 2u);
}

// -k '' is an empty key, as -K's empty key part is; without -k the key is null.
TEST_F(Cli, AnEmptyKeyGivenWithDashKIsEmptyNotNull) {
  ASSERT_EQ(cli("topics create empties --partitions 1").first, 0);
  ASSERT_EQ(cli("produce empties -k '' v1").first, 0);
  ASSERT_EQ(cli("produce empties v2").first, 0);
  ASSERT_EQ(cli_stdin(":v3\\n", "produce empties -K:").first, 0);
  auto r = cli_apart("consume empties --format '%K:%s '");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0:v1 -1:v2 0:v3 ") << "key lengths: 0 empty, -1 null";
}

// -K reads kcat's escapes: '\t' splits at a tab (it split at a backslash and a 't'), '\x1f'
// at that byte, '\\' at a backslash. --format reads the same ('\x1f' printed "x1f").
TEST_F(Cli, KeyDelimiterTakesKcatsEscapes) {
  ASSERT_EQ(cli("topics create delimited --partitions 1").first, 0);
  ASSERT_EQ(cli_stdin("k1\\tv1\\tx\\n", "produce delimited -K '\\t'").first, 0);
  ASSERT_EQ(cli_stdin("k2\\037v2\\n", "produce delimited -K '\\x1f'").first, 0);
  ASSERT_EQ(cli_stdin("k3\\\\v3\\n", "produce delimited -K '\\\\'").first, 0);
  auto r = cli_apart("consume delimited --format '%k=%s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "k1=v1\\tx\nk2=v2\nk3=v3\n") << "split at the first delimiter only";
  r = cli_apart("consume delimited --format '%k\\x1f%s\\\\\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "k1\x1f" "v1\\tx\\\nk2\x1f" "v2\\\nk3\x1f" "v3\\\n");
}

// A record over the CLI's frame limit fails the read at once, saying how large its frame is
// and which flag raises the limit (it was fetched again for the whole --timeout, then said
// "bad frame from broker"), and no more: a read has no outcome to be unsure of (it said the
// fetch's outcome was unknown). A follower hears the same rather than subscribing again
// without end. With the limit raised the record is read.
TEST_F(Cli, ARecordOverTheFrameLimitFailsAtOnceNamingTheFlagThatRaisesIt) {
  ASSERT_EQ(cli("topics create bulky --partitions 1").first, 0);
  auto [rc, out] = run_shell("head -c 200000 /dev/zero | tr '\\0' x | " + cli_command() + " produce bulky 2>&1");
  ASSERT_EQ(rc, 0) << out;
  const auto started = std::chrono::steady_clock::now();
  auto r = cli_apart("--max-frame-bytes 100000 consume bulky");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.err.find("fetch bulky: frame of "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bytes from the broker exceeds the client's limit of 100000 (--max-frame-bytes)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("outcome is unknown"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("retriable"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20)) << "not fetched again until --timeout";
  std::tie(rc, out) =
      run_shell("timeout 60 " + cli_command() + " --max-frame-bytes 100000 consume bulky --follow 2>&1 </dev/null");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("exceeds the client's limit of 100000 (--max-frame-bytes)"), std::string::npos) << out;
  r = cli_apart("--max-frame-bytes 1000000 consume bulky --format '%S\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "200000\n");
}

// Two lines of 9 MB each fit the broker's default max_frame_bytes (16 MiB) but not together:
// they go as two batches, where one would have made the broker close the connection.
TEST_F(Cli, TwoLinesThatFitAFrameOnlyAloneAreSentInTwoBatches) {
  ASSERT_EQ(cli("topics create big-lines --partitions 1").first, 0);
  auto [rc, out] = run_shell("{ head -c 9000000 /dev/zero | tr '\\0' a; echo; head -c 9000000 /dev/zero | tr '\\0' b; } | " +
                             cli_command() + " produce big-lines 2>&1");
  ASSERT_EQ(rc, 0) << out;
  auto r = cli_apart("consume big-lines --format '%o:%S\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0:9000000\n1:9000000\n");
}

// Every partition's new offset is worked out before anything is committed: naming one that
// does not exist changes nothing. --shift-by moves from the committed offset and, like --to,
// is clamped to the log with a warning.
TEST_F(Cli, AResetNamingAMissingPartitionCommitsNothing) {
  ASSERT_EQ(cli("topics create resets --partitions 3").first, 0);
  for (int p = 0; p < 3; ++p) ASSERT_EQ(cli("produce resets -p " + std::to_string(p) + " a b").first, 0);
  ASSERT_EQ(json_lines("consume resets --group keep --format json").size(), 6u);
  const auto committed = [this]() -> std::map<int, std::int64_t> {
    const auto described = json_lines("groups describe keep --format json");
    std::map<int, std::int64_t> by_partition;
    if (described.empty()) return by_partition;
    for (const auto& p : described[0]["partitions"])
      by_partition[p["partition"].get<int>()] = p["committed"].is_null() ? -1 : p["committed"].get<std::int64_t>();
    return by_partition;
  };
  const auto before = committed();
  ASSERT_EQ(before, (std::map<int, std::int64_t>{{0, 2}, {1, 2}, {2, 2}}));
  auto r = cli_apart("groups reset-offsets keep --topic resets -p 0 -p 1 -p 9 --to earliest");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("partition 9"), std::string::npos) << r.err;
  EXPECT_EQ(committed(), before) << "partitions 0 and 1 keep their offsets";

  r = cli_apart("groups reset-offsets keep --topic resets -p 0 --shift-by -5");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("below the log start 0"), std::string::npos) << r.err;
  r = cli_apart("groups reset-offsets keep --topic resets -p 1 --shift-by -1");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "") << "nothing clamped";
  // --to -N: N before the end of each partition.
  r = cli_apart("groups reset-offsets keep --topic resets -p 2 --to -1 --dry-run");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("dry run"), std::string::npos) << r.out;
  EXPECT_EQ(committed(), (std::map<int, std::int64_t>{{0, 0}, {1, 1}, {2, 2}}));
}

// A committed offset below the log start (delete-records or retention moved it) would fail
// every fetch: the member starts at the log start instead and says so. An explicit --from
// outside the log is an error naming its bounds.
TEST_F(Cli, AGroupWhoseCommittedOffsetWasDeletedStartsAtTheLogStart) {
  ASSERT_EQ(cli("topics create trimmed --partitions 1").first, 0);
  ASSERT_EQ(cli("produce trimmed -p 0 m0 m1 m2 m3 m4").first, 0);
  ASSERT_EQ(json_lines("consume trimmed --group behind --format json -n 2").size(), 2u);
  auto [rc, out] = cli("topics delete-records trimmed -p 0 --offset 4");
  ASSERT_EQ(rc, 0) << out;
  auto r = cli_apart("consume trimmed --group behind --format '%o:%s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "4:m4\n");
  EXPECT_NE(r.err.find("committed offset 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("log start 4"), std::string::npos) << r.err;
  // What it printed was committed: the next run has nothing to read and nothing to say.
  r = cli_apart("consume trimmed --group behind --format '%o:%s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");

  r = cli_apart("consume trimmed --from 1");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.err.find("log start is 4"), std::string::npos) << r.err;
  r = cli_apart("consume trimmed --from 9");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.err.find("high watermark 5"), std::string::npos) << r.err;
  r = cli_apart("consume trimmed --from 5");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

// Output that cannot be written fails the command (exit 1, said on stderr), whichever the
// command; a reader that went away after what it wanted (`| head -1`) ends it quietly with
// 141, as a SIGPIPE death would, and no more is read.
TEST_F(Cli, OutputThatCannotBeWrittenFailsAndAReaderThatLeftEndsItQuietly) {
  auto r = cli_apart("topics list --format json > /dev/full");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot write to standard output: No space left on device"), std::string::npos) << r.err;

  // More than a pipe holds, so that the CLI is still writing when head has left.
  ASSERT_EQ(cli("topics create wide --partitions 1").first, 0);
  auto [rc, out] = run_shell("yes " + std::string(200, 'x') + " | head -n 4000 | " + cli_command() +
                             " produce wide -p 0 2>&1");
  ASSERT_EQ(rc, 0) << out;
  // Output larger than a buffer: the write that failed was an earlier one than the last flush,
  // and its reason is still said.
  r = cli_apart("consume wide --format '%s\\n' > /dev/full");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot write to standard output: No space left on device"), std::string::npos) << r.err;
  const std::string status = dir.path() + "/status", err = dir.path() + "/head.err";
  std::tie(rc, out) = run_shell("( timeout 60 " + cli_command() + " consume wide --format '%s\\n' 2>" + err +
                                "; echo \"status $?\" > " + status + " ) | head -1; cat " + status + " " + err);
  EXPECT_EQ(out, std::string(200, 'x') + "\nstatus 141\n") << "one line, then 141 and nothing on stderr";
}

// cluster info's health is an object whatever happens: the broker's /health, or
// {"status": "unreachable", "error": ...} when the HTTP port does not answer (exit 0: the
// information was reported).
TEST_F(Cli, ClusterInfoHealthIsAlwaysAnObject) {
  auto [rc, out] = run_shell(std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port()) +
                             " --http-port " + std::to_string(free_port()) + " cluster info --format json 2>/dev/null");
  EXPECT_EQ(rc, 0) << out;
  const auto j = json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  ASSERT_TRUE(j.contains("health") && j.at("health").is_object()) << out;
  EXPECT_EQ(j.at("health").value("status", ""), "unreachable") << out;
  EXPECT_TRUE(j.at("health").contains("error") && j.at("health").at("error").is_string()) << out;
}

// Numbers with leading zeros are decimal: -p 010 is partition 10, not 8 (octal).
TEST_F(Cli, LeadingZerosAreDecimal) {
  ASSERT_EQ(cli("topics create octal --partitions 1").first, 0);
  auto [rc, out] = cli("consume octal -p 010");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("octal/10"), std::string::npos) << out;
  std::tie(rc, out) = cli("consume octal -p 00 --format json");
  EXPECT_EQ(rc, 0) << out;
}

// Names from the broker are printed as text: a newline stays on its row and a terminal
// escape code is shown, not obeyed; JSON output survives names that are not UTF-8. Such a
// name is a group id a Kafka client chose, kept as it was sent by an older broker (today's
// reads a Kafka string as Kafka does, with U+FFFD): the test runs a broker on such a store.
TEST_F(Cli, NamesFromTheBrokerAreEscapedInTablesAndJson) {
  redis_server redis;
  ASSERT_TRUE(redis.start());
  ASSERT_NO_FATAL_FAILURE(commit_as_an_old_broker(redis.port(), "not-utf8-\xff", "names", 0, 0));
  server_process old{redis.url(), dir.path() + "/old-store.log"};
  ASSERT_TRUE(old.start());
  ASSERT_EQ(cli_apart(old, "topics create names --partitions 1").rc, 0);
  auto c = old.connect();
  ASSERT_TRUE(client::ok(c.commit("two\nlines\x1b[31m", "names", 0, 0)));
  auto r = cli_apart(old, "groups list");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("two\\nlines\\x1b[31m"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not-utf8-\\xff"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) ++rows;
  EXPECT_EQ(rows, 3) << "a header and one row per group: " << r.out;
  r = cli_apart(old, "groups list --format json");
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << r.out;
  std::set<std::string> groups;
  for (const auto& g : j) groups.insert(g.value("group", std::string("(none)")));
  EXPECT_TRUE(groups.contains("two\nlines\x1b[31m")) << r.out;
  EXPECT_TRUE(groups.contains("not-utf8-\xef\xbf\xbd")) << "replaced by U+FFFD: " << r.out;
  print_log_if_failed(old.log_path());
}

// A consumed record's C1 controls (U+0080..U+009F: C2 9B is CSI, which a terminal obeys as it
// does ESC [) and bytes that are not UTF-8 are escaped in text output like the other control
// bytes; well-formed UTF-8 text is kept.
TEST_F(Cli, ConsumedTextEscapesC1ControlsAndBytesThatAreNotUtf8) {
  ASSERT_EQ(cli("topics create raw --partitions 1").first, 0);
  auto c = server.connect();
  protocol::message_batch b;
  b.messages.push_back({});
  b.messages.back().key = std::string("k\xc2\x9b" "2J");
  b.messages.back().value = std::string("csi\xc2\x9b" "31m caf\xc3\xa9 bad\xff lone\xc3 end\xe2\x82");
  ASSERT_TRUE(client::ok(c.publish("raw", 0, b)));
  auto r = cli_apart("consume raw");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\tk\\xc2\\x9b2J\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\tcsi\\xc2\\x9b31m caf\xc3\xa9 bad\\xff lone\\xc3 end\\xe2\\x82\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << r.out;
  r = cli_apart("consume raw --format '%k %s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "k\\xc2\\x9b2J csi\\xc2\\x9b31m caf\xc3\xa9 bad\\xff lone\\xc3 end\\xe2\\x82\n");
}

// An HTTP server on loopback for one connection: it reads the request's head, sends `answer`,
// then closes, or (`hold`) keeps the connection open until the client closes it. What the
// CLI makes of answers the broker would not give (cut short, never finished).
class canned_http_server {
 public:
  canned_http_server(std::string answer, bool hold)
      : answer_(std::move(answer)), hold_(hold), thread_([this] { serve(); }) {}
  ~canned_http_server() { thread_.join(); }
  canned_http_server(const canned_http_server&) = delete;
  canned_http_server& operator=(const canned_http_server&) = delete;
  std::uint16_t port() const noexcept { return listener_.port; }

 private:
  void serve() {
    pollfd p{listener_.fd, POLLIN, 0};
    if (poll(&p, 1, 60000) != 1) return;  // bounded: a CLI that never came ends the test anyway
    const int fd = accept(listener_.fd, nullptr, nullptr);
    if (fd < 0) return;
    const timeval limit{60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    std::string request;
    char buf[1024];
    for (ssize_t n; request.find("\r\n\r\n") == std::string::npos && (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      request.append(buf, static_cast<std::size_t>(n));
    (void)!send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    if (hold_)
      while (recv(fd, buf, sizeof buf, 0) > 0) {
      }
    close(fd);
  }

  loopback_listener listener_{4};
  std::string answer_;
  bool hold_;
  std::thread thread_;  // last: it serves with the members above
};

// A refusal reaches stderr with the reason the broker gave ({"error": ...}), not its status
// alone: a 403 names the setting to change.
TEST_F(Cli, AnHttpRefusalSaysWhatTheBrokerSaid) {
  const std::string why = "the Host this request names is not one of this broker's (add it to http.allowed_hosts)";
  const std::string body = "{\"error\":\"" + why + "\"}\n";
  canned_http_server refusing{"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                              false};
  const auto r = cli_with_http_port(refusing.port(), "cluster nodes");
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("GET /api/cluster: HTTP status 403: " + why), std::string::npos) << r.err;
}

// An answer is whole or it is an error: a body the server cut short, an answer not finished
// within --timeout on a connection held open, and no answer at all each exit 1 saying so
// (what had come is not taken for the answer). A chunked answer is read whole.
TEST_F(Cli, AnHttpAnswerCutShortOrNeverFinishedIsAnError) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n";
  {
    canned_http_server cut{head + "portask_up 1\n", false};
    const auto r = cli_with_http_port(cut.port(), "stats");
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("closed after 13 of the answer's 100 bytes"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << "nothing of a cut answer is printed";
  }
  {
    canned_http_server stalled{head + "portask_up 1\n", true};
    const auto r = cli_with_http_port(stalled.port(), "--timeout 500 stats");
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("within --timeout 500 ms"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  {
    canned_http_server silent{"", false};
    const auto r = cli_with_http_port(silent.port(), "stats");
    EXPECT_EQ(r.rc, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("the connection closed without an answer"), std::string::npos) << r.err;
  }
  {
    // The broker sends a Content-Length; a proxy in front of it may chunk instead.
    canned_http_server chunked{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "7\r\nportask\r\nc;ext=1\r\n_up 1\n# end\n\r\n0\r\n\r\n",
                               false};
    const auto r = cli_with_http_port(chunked.port(), "stats");
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, "portask_up 1\n") << r.err;
  }
}

// An empty new password is refused before anything is sent.
TEST_F(Cli, AnEmptyNewPasswordIsAUsageError) {
  auto [rc, out] = run_shell("PORTASK_NEW_PASSWORD= " + cli_command() + " users create alice 2>&1 </dev/null");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("empty"), std::string::npos) << out;
}

// A broker that reads no frame over 1 MiB, with produce told so (--max-batch-bytes).
class CliWithSmallFrames : public Cli {
 protected:
  void SetUp() override { ASSERT_TRUE(server.start({"--default-partitions", "1", "--max-frame-bytes", "1048576"})); }

  // Runs `produce args --max-batch-bytes 1048576` reading stdin from `file`; exit status,
  // stdout and stderr apart.
  outputs produce_from(const std::string& file, const std::string& args) {
    const std::string err_file = dir.path() + "/produce.err";
    auto [rc, out] =
        run_shell(cli_command() + " produce " + args + " --max-batch-bytes 1048576 2>" + err_file + " <" + file);
    return {rc, out, file_text(err_file)};
  }
};

// Five lines of 300,000 bytes: each fits a frame, all together do not (three do in binary,
// two in JSON, which carries them as base64). Every codec's batches stay within the frame
// the broker reads, and the lines are stored whole and in order.
TEST_F(CliWithSmallFrames, LinesLargerTogetherThanAFrameAreAllStoredInOrderWithEveryCodec) {
  const std::string input = dir.path() + "/lines";
  ASSERT_EQ(run_shell("for c in a b c d e; do head -c 300000 /dev/zero | tr '\\0' $c; echo; done > " + input).first, 0);
  std::string expected;
  for (const char c : std::string("abcde")) expected += std::string(300000, c) + "\n";
  for (const std::string codec : {"binary", "json", "cbor", "msgpack"}) {
    const std::string topic = "sized-" + codec;
    ASSERT_EQ(cli("topics create " + topic + " --partitions 1").first, 0);
    auto r = produce_from(input, topic + " --codec " + codec);
    ASSERT_EQ(r.rc, 0) << codec << ": " << r.err;
    r = cli_apart("consume " + topic + " --format '%s\\n'");
    EXPECT_EQ(r.rc, 0) << codec << ": " << r.err;
    EXPECT_TRUE(r.out == expected) << codec << ": " << r.out.size() << " bytes consumed, " << expected.size()
                                   << " expected";
  }
}

// A line larger than a batch may be fails the command naming its size and the limit (not a
// connection the broker closed); the lines before it are stored. This one is shorter than
// the limit, but not with what its message and batch add.
TEST_F(CliWithSmallFrames, ALineLargerThanTheBatchLimitFailsAfterTheLinesBeforeIt) {
  ASSERT_EQ(cli("topics create oversize --partitions 1").first, 0);
  const std::string input = dir.path() + "/oversize";
  ASSERT_EQ(run_shell("{ printf 'a\\nb\\n'; head -c 1048500 /dev/zero | tr '\\0' x; printf '\\nc\\n'; } > " + input).first, 0);
  auto r = produce_from(input, "oversize");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("line 3 is too large to send: its message takes up to "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("over the limit of 1048576"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 messages before it were acknowledged"), std::string::npos) << r.err;
  r = cli_apart("consume oversize --format '%s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\n");
}

// A line that never ends (no newline comes) is refused once it is longer than any message
// may be, not read whole first: here it would be read for ever. The lines before it are
// stored.
TEST_F(CliWithSmallFrames, ALineWithNoEndIsRefusedOnceLongerThanABatch) {
  ASSERT_EQ(cli("topics create endless --partitions 1").first, 0);
  const std::string err_file = dir.path() + "/endless.err";
  // Bounded: a producer that kept reading would be ended by timeout (124).
  auto [rc, out] = run_shell("{ printf 'a\\nb\\n'; cat /dev/zero; } | timeout 60 " + cli_command() +
                             " produce endless --max-batch-bytes 1048576 2>" + err_file);
  const auto err = file_text(err_file);
  EXPECT_EQ(rc, 1) << out << err;
  EXPECT_NE(err.find("line 3 is too large to send: it is longer than 1048576 bytes, over the limit of 1048576"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("2 messages before it were acknowledged"), std::string::npos) << err;
  auto r = cli_apart("consume endless --format '%s\\n'");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\n");
}

}  // namespace
}  // namespace portask::test
