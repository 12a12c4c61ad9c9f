// Burrow (LinkedIn's consumer-lag monitor, Debian's 1.2.1, on sarama 1.22) against Portask:
// it learns groups and their commits only by reading __consumer_offsets, and their lag from
// ListOffsets. A group that read 2 of 3 messages must show up with a lag of 1, every record
// of the topic decoded. Burrow needs ZooKeeper for itself; Debian's runs beside it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server_process.hpp"

using namespace portask;
using namespace portask::test;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Burrow, SeesEveryGroupsLagThroughConsumerOffsets) {
  ASSERT_TRUE(std::ifstream("/usr/bin/Burrow")) << "burrow is not installed: run tools/setup --test";
  ASSERT_TRUE(std::ifstream("/usr/share/zookeeper/bin/zkServer.sh"))
      << "zookeeper is not installed: run tools/setup --test";
  temp_dir dir;
  const auto zk_port = free_port();
  std::ofstream(dir.path() + "/zoo.cfg") << "tickTime=2000\ndataDir=" << dir.path()
                                         << "/zk\nclientPort=" << zk_port
                                         << "\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n";
  child_process zk({"/usr/bin/env", "ZOO_LOG_DIR=" + dir.path(),
                    "/usr/share/zookeeper/bin/zkServer.sh", "start-foreground", dir.path() + "/zoo.cfg"},
                   dir.path() + "/zookeeper.log");
  ASSERT_TRUE(wait_until([&] { return port_accepts(zk_port); }, std::chrono::seconds(60)))
      << read_file(dir.path() + "/zookeeper.log");

  server_process broker("memory", dir.path() + "/portask.log");
  ASSERT_TRUE(broker.start());
  const auto bootstrap = "127.0.0.1:" + std::to_string(broker.kafka_port());
  auto [rc, out] = run_shell("printf 'a\\nb\\nc\\n' | kcat -b " + bootstrap + " -P -t lagging -p 0 2>&1");
  ASSERT_EQ(rc, 0) << out;
  // Reads two of the three and commits as it leaves: lag 1.
  std::tie(rc, out) = run_shell("kcat -b " + bootstrap + " -G burrowed lagging -o beginning -c 2 -q " +
                                "-X enable.auto.commit=true -X auto.commit.interval.ms=100 2>&1");
  ASSERT_EQ(rc, 0) << out;

  const auto http_port = free_port();
  std::ofstream(dir.path() + "/burrow.toml")
      << "[general]\npidfile=\"" << dir.path() << "/burrow.pid\"\n"
      << "[logging]\nlevel=\"info\"\n"
      << "[zookeeper]\nservers=[\"127.0.0.1:" << zk_port << "\"]\ntimeout=6\nroot-path=\"/burrow\"\n"
      << "[client-profile.portask]\nclient-id=\"burrow\"\nkafka-version=\"0.10.2\"\n"
      << "[cluster.local]\nclass-name=\"kafka\"\nservers=[\"" << bootstrap << "\"]\n"
      << "client-profile=\"portask\"\ntopic-refresh=2\noffset-refresh=1\n"
      << "[consumer.local]\nclass-name=\"kafka\"\ncluster=\"local\"\nservers=[\"" << bootstrap << "\"]\n"
      << "client-profile=\"portask\"\nstart-latest=false\n"
      << "[httpserver.default]\naddress=\"127.0.0.1:" << http_port << "\"\n"
      << "[storage.default]\nclass-name=\"inmemory\"\nworkers=2\nintervals=10\n"
      << "expire-group=604800\nmin-distance=1\n";
  child_process burrow({"/usr/bin/Burrow", "--config-dir", dir.path()}, dir.path() + "/burrow.log");

  // Burrow polls on its own schedule (offsets every second here): wait for its answer.
  std::string lag;
  const bool seen = wait_until(
      [&] {
        auto [status, body] = http_get(http_port, "/v3/kafka/local/consumer/burrowed/lag");
        lag = body;
        return status == 200 && body.find("\"current_lag\":1") != std::string::npos;
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(seen) << "Burrow's view: " << lag << "\n--- burrow log ---\n"
                    << read_file(dir.path() + "/burrow.log");
  EXPECT_NE(lag.find("\"topic\":\"lagging\""), std::string::npos) << lag;
  EXPECT_NE(lag.find("\"offset\":2"), std::string::npos) << "the committed offset: " << lag;
  const auto log = read_file(dir.path() + "/burrow.log");
  EXPECT_EQ(log.find("failed to decode"), std::string::npos) << "every record read:\n" << log;
  burrow.stop(SIGTERM);
  zk.stop(SIGTERM);
}
