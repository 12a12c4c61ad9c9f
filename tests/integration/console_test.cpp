// The JSON API under /api/ and the web console served by the real `portask` executable:
// every endpoint with valid and invalid input, then the console's pages in headless Chromium
// (Debian's package) showing a topic kcat produced to, its messages, and a group's lag, with
// no console errors. Screenshots go to PORTASK_TEST_ARTIFACT_DIR.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>
#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "server_process.hpp"

namespace portask::test {
namespace {

using json = nlohmann::json;

class Console : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.start());
    // kcat produces five keyed messages with a header; a kcat group member reads the first
    // three and commits, so the group lags by two.
    auto [rc, out] = run_shell("printf 'k1:first\\nk2:{\"n\":2}\\nk3:third\\n' | kcat -b " + bootstrap() +
                               " -P -t orders -p 0 -K: -H trace=abc 2>&1");
    ASSERT_EQ(rc, 0) << out;
    std::tie(rc, out) = run_shell("kcat -b " + bootstrap() +
                                  " -G billing orders -o beginning -c 3 -q -X auto.commit.interval.ms=100 2>&1");
    ASSERT_EQ(rc, 0) << out;
    std::tie(rc, out) = run_shell("printf 'k4:fourth\\nk5:fifth\\n' | kcat -b " + bootstrap() +
                                  " -P -t orders -p 0 -K: 2>&1");
    ASSERT_EQ(rc, 0) << out;
  }

  std::pair<int, json> api(const std::string& method, const std::string& path,
                           const std::string& body = {}) {
    auto [status, text] = http_exchange(
        server.http_port(), method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                                (body.empty() ? std::string()
                                              : "Content-Type: application/json\r\nContent-Length: " +
                                                    std::to_string(body.size()) + "\r\n") +
                                "\r\n" + body);
    auto j = json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << method << " " << path << ": not JSON: " << text;
    return {status, j};
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(server.kafka_port()); }

  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
};

std::string decoded(const json& v) { return *protocol::base64_decode(v.get<std::string>()); }

TEST_F(Console, TheJsonApiAnswersEveryEndpoint) {
  auto [status, o] = api("GET", "/api/overview");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(o["store"], "memory");
  EXPECT_EQ(o["ports"]["kafka"], server.kafka_port());
  EXPECT_GE(o["messages_in"].get<int>(), 5);

  // kcat's requests are counted by Kafka API as well.
  const auto metrics = http_get(server.http_port(), "/metrics").second;
  EXPECT_GE(prometheus_value(metrics, "portask_kafka_requests_total{api=\"Produce\"}"), 2);
  EXPECT_GE(prometheus_value(metrics, "portask_kafka_request_duration_seconds_count{api=\"JoinGroup\"}"), 1);

  auto [ts, topics] = api("GET", "/api/topics");
  ASSERT_EQ(ts, 200);
  ASSERT_TRUE(topics.is_array());
  bool found = false;
  for (const auto& t : topics)
    if (t["name"] == "orders") {
      found = true;
      EXPECT_EQ(t["messages"], 5);
      EXPECT_GT(t["bytes"].get<int>(), 0);
    }
  EXPECT_TRUE(found) << topics.dump();

  auto [ds, d] = api("GET", "/api/topics/orders");
  EXPECT_EQ(ds, 200);
  EXPECT_EQ(d["partitions"][0]["high_watermark"], 5);

  auto [ms, m] = api("GET", "/api/topics/orders/messages?partition=0&from=1&limit=3");
  ASSERT_EQ(ms, 200) << m.dump();
  ASSERT_EQ(m["messages"].size(), 3u);
  EXPECT_EQ(m["messages"][0]["offset"], 1);
  EXPECT_EQ(decoded(m["messages"][0]["key"]), "k2");
  EXPECT_EQ(decoded(m["messages"][0]["value"]), "{\"n\":2}");
  EXPECT_EQ(decoded(m["messages"][0]["headers"][0]["key"]), "trace");
  EXPECT_EQ(m["next_offset"], 4);
  EXPECT_EQ(api("GET", "/api/topics/orders/messages?from=-2").second["messages"].size(), 2u);
  EXPECT_EQ(api("GET", "/api/topics/orders/messages?from=%4099999999999999").second["messages"].size(), 0u);
  EXPECT_EQ(api("GET", "/api/topics/orders/messages?from=@0").second["messages"].size(), 5u);
  // What the browser handed out (3 + 2 + 0 + 5 messages) is counted as served, under http.
  const auto served = http_get(server.http_port(), "/metrics").second;
  EXPECT_EQ(prometheus_value(served, "portask_messages_out_total{protocol=\"http\"}"), 10);
  EXPECT_GT(prometheus_value(served, "portask_bytes_out_total{protocol=\"http\"}"), 0);
  EXPECT_GE(api("GET", "/api/overview").second["messages_out"].get<int>(), 10);

  auto [gs, groups] = api("GET", "/api/groups");
  ASSERT_EQ(gs, 200);
  ASSERT_EQ(groups.size(), 1u) << groups.dump();
  EXPECT_EQ(groups[0]["group"], "billing");
  EXPECT_EQ(groups[0]["lag"], 2);
  auto [g1, g] = api("GET", "/api/groups/billing");
  EXPECT_EQ(g1, 200);
  EXPECT_EQ(g["partitions"][0]["committed"], 3);
  EXPECT_EQ(g["partitions"][0]["lag"], 2);

  EXPECT_EQ(api("POST", "/api/topics", R"({"name":"made","partitions":2})").first, 201);
  EXPECT_EQ(api("GET", "/api/topics/made").second["partitions"].size(), 2u);
  EXPECT_EQ(api("POST", "/api/topics", R"({"name":"made"})").first, 409);
  EXPECT_EQ(api("DELETE", "/api/topics/made").first, 200);
  EXPECT_EQ(api("GET", "/api/topics/made").first, 404);

  // Bad input: a clear status and an error message, never a crash.
  for (const auto& [method, path, body, want] :
       std::vector<std::tuple<std::string, std::string, std::string, int>>{
           {"POST", "/api/topics", "not json", 400},
           {"POST", "/api/topics", R"({"name":"bad name!"})", 400},
           {"POST", "/api/topics", R"({"name":"x","partitions":0})", 400},
           {"POST", "/api/topics", R"({"name":"x","partitions":10001})", 400},
           {"POST", "/api/topics", R"({"name":"__consumer_offsets"})", 400},
           {"POST", "/api/topics", R"({"name":"x","configs":{"retention.ms":"soon"}})", 400},
           {"GET", "/api/topics/orders/messages?from=yesterday", "", 400},
           {"GET", "/api/topics/orders/messages?limit=100000", "", 400},
           {"GET", "/api/topics/orders/messages?partition=x", "", 400},
           {"GET", "/api/topics/orders/messages?partition=1x", "", 400},
           {"GET", "/api/topics/orders/messages?partiton=1", "", 400},
           // Parameters only the message browser takes are refused elsewhere, not ignored.
           {"GET", "/api/topics?limit=5", "", 400},
           {"GET", "/api/groups?state=Stable", "", 400},
           {"DELETE", "/api/topics/orders?force=1", "", 400},
           // Nor is a body an endpoint does not read ("orders" must survive this).
           {"DELETE", "/api/topics/orders", R"({"if_empty":true})", 400},
           {"GET", "/api/topics", R"({"limit":5})", 400},
           {"GET", "/api/topics/orders/messages", R"({"limit":5})", 400},
           {"GET", "/api/nothing?x=1", "", 404},
           {"POST", "/api/topics", R"({"name":"x","replication_factor":3})", 400},
           {"GET", "/api/topics/missing/messages", "", 404},
           {"GET", "/api/groups/nobody", "", 404},
           {"GET", "/api/topics/%zz", "", 400},
           {"GET", "/api/nothing", "", 404},
           {"PUT", "/api/topics", "", 405},
           // A path under a known endpoint that does not exist is 404, not 405.
           {"GET", "/api/topics/orders/partitions", "", 404},
           {"GET", "/api/groups/billing/members", "", 404},
           {"GET", "/api/overview/x", "", 404},
           // Names in the path that are not UTF-8 are answered (in JSON, the bad bytes
           // replaced), not dropped with the connection.
           {"GET", "/api/topics/%FF", "", 404},
           {"GET", "/api/groups/%FF%FE", "", 404},
           {"GET", "/api/topics?%FF=1", "", 400}}) {
    auto [s, e] = api(method, path, body);
    EXPECT_EQ(s, want) << method << " " << path << " " << body << ": " << e.dump();
    EXPECT_TRUE(e.contains("error")) << e.dump();
  }
  // A refused create says why, in the words of the native protocol and Kafka's CreateTopics.
  for (const auto& [body, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"name":"bad name!"})", "invalid topic name 'bad name!'"},
           {R"({"name":"__consumer_offsets"})", "is internal"},
           {R"({"name":"x","partitions":10001})", "at most 10000"},
           {R"({"name":"x","configs":{"retention.ms":"soon"}})", "not a number"}}) {
    auto [s, e] = api("POST", "/api/topics", body);
    EXPECT_EQ(s, 400) << body;
    EXPECT_NE(e.value("error", std::string{}).find(why), std::string::npos) << body << ": " << e.dump();
  }
}

TEST_F(Console, EachModulesLogLevelChangesWhileTheBrokerRuns) {
  auto [s, l] = api("GET", "/api/loggers");
  ASSERT_EQ(s, 200);
  for (const char* m : {"portask.kafka", "portask.native", "portask.groups", "portask.storage",
                        "portask.runtime"})
    EXPECT_EQ(l["loggers"][m], "info") << m << ": " << l.dump();
  EXPECT_EQ(api("PUT", "/api/loggers/portask.groups", R"({"level":"debug"})").first, 200);
  EXPECT_EQ(api("GET", "/api/loggers").second["loggers"]["portask.groups"], "debug");
  EXPECT_EQ(api("GET", "/api/loggers").second["loggers"]["portask.kafka"], "info");
  // A group's offsets fetched is a debug line of portask.groups: it now reaches the log.
  auto [rc, out] = run_shell("kcat -b " + bootstrap() +
                             " -G billing orders -o beginning -c 1 -q 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::ifstream log(dir.path() + "/broker.log");
  const std::string text{std::istreambuf_iterator<char>(log), {}};
  EXPECT_NE(text.find("[portask.groups] [debug]"), std::string::npos);
  EXPECT_EQ(text.find("[portask.kafka] [debug]"), std::string::npos);
  EXPECT_EQ(api("PUT", "/api/loggers/all", R"({"level":"warn"})").first, 200);
  EXPECT_EQ(api("GET", "/api/loggers").second["loggers"]["portask.groups"], "warning");
  for (const auto& [path, body, want] : std::vector<std::tuple<std::string, std::string, int>>{
           {"/api/loggers/portask.nothing", R"({"level":"debug"})", 404},
           {"/api/loggers/portask.kafka", R"({"level":"loud"})", 400},
           {"/api/loggers/portask.kafka", "debug", 400},
           {"/api/loggers/portask.kafka", R"({"level":"debug","duration_ms":60000})", 400}}) {
    auto [st, e] = api("PUT", path, body);
    EXPECT_EQ(st, want) << path << " " << body << ": " << e.dump();
  }
}

// HEAD wherever GET (monitors probe with `curl -I`): the same status, with no body; another
// method on a probe is 405 naming what is allowed.
TEST_F(Console, HeadIsAnsweredWhereverGetIs) {
  for (const std::string path : {"/health", "/metrics", "/", "/topics", "/api/topics"}) {
    const auto [status, body] = http_exchange(
        server.http_port(), "HEAD " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status, 200) << path;
    EXPECT_TRUE(body.empty()) << path << ": " << body;
  }
  // The length HEAD announces is GET's (the body /health has is the same twice running).
  const std::string url = "http://127.0.0.1:" + std::to_string(server.http_port()) + "/health";
  const auto [head_rc, head_length] = run_shell("timeout 20 curl -sI " + url + " | tr -d '\\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p'");
  const auto [get_rc, get_length] = run_shell("timeout 20 curl -s " + url + " | wc -c");
  ASSERT_EQ(head_rc, 0);
  ASSERT_EQ(get_rc, 0);
  EXPECT_GT(std::stoi("0" + get_length), 0);
  EXPECT_EQ(std::stoi("0" + head_length), std::stoi("0" + get_length)) << head_length << " / " << get_length;
  auto [rc, out] = run_shell("timeout 20 curl -s -i -X POST http://127.0.0.1:" + std::to_string(server.http_port()) +
                             "/health");
  EXPECT_NE(out.find("405"), std::string::npos) << out;
  EXPECT_NE(out.find("Allow: GET, HEAD"), std::string::npos) << out;
  // The API's 405s name their path's methods too.
  for (const auto& [method, path, allow] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"PUT", "/api/topics", "GET, HEAD, POST"},
           {"POST", "/api/topics/orders", "GET, HEAD, DELETE"},
           {"GET", "/api/loggers/portask.kafka", "PUT"},
           {"DELETE", "/api/groups", "GET, HEAD"}}) {
    auto [api_rc, api_out] = run_shell("timeout 20 curl -s -i -X " + method + " http://127.0.0.1:" +
                                       std::to_string(server.http_port()) + path);
    EXPECT_NE(api_out.find("405"), std::string::npos) << method << " " << path << ": " << api_out;
    EXPECT_NE(api_out.find("Allow: " + allow + "\r\n"), std::string::npos) << method << " " << path << ": " << api_out;
  }
}

// A body the API reads must be labelled JSON: a page on another site can POST text/plain
// without the browser asking first, and must not create a topic on a broker it can reach.
TEST_F(Console, ABodyNotLabelledJsonIsRefused) {
  const std::string body = R"({"name":"csrf"})";
  const auto [status, answer] = http_exchange(
      server.http_port(), "POST /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status, 415) << answer;
  EXPECT_FALSE(json::parse(answer, nullptr, false).is_discarded()) << answer;
  EXPECT_EQ(api("GET", "/api/topics/csrf").first, 404) << "not created";
  EXPECT_EQ(api("POST", "/api/topics", body).first, 201) << "labelled JSON, it is";
}

// A page whose own name was made to resolve to the broker (DNS rebinding) is the same origin
// to the browser: its requests name that host, and the console and API refuse them. Probes
// answer any name. Requests the server cannot read right are answered 400 and closed.
TEST_F(Console, RequestsNamingAnotherHostOrUnreadableAreRefused) {
  auto ask = [&](const std::string& method, const std::string& path, const std::string& host) {
    return http_exchange(server.http_port(), method + " " + path + " HTTP/1.1\r\nHost: " + host +
                                                 "\r\nConnection: close\r\n\r\n");
  };
  const auto port = std::to_string(server.http_port());
  for (const std::string path : {"/api/overview", "/api/topics/orders/messages", "/topics", "/"}) {
    const auto [status, body] = ask("GET", path, "rebound.example:" + port);
    EXPECT_EQ(status, 403) << path << ": " << body;
  }
  EXPECT_EQ(ask("DELETE", "/api/topics/orders", "rebound.example:" + port).first, 403);
  EXPECT_EQ(api("GET", "/api/topics/orders").first, 200) << "not deleted";
  for (const auto& host : {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port})
    EXPECT_EQ(ask("GET", "/api/overview", host).first, 200) << host;
  for (const std::string path : {"/health", "/metrics"})
    EXPECT_EQ(ask("GET", path, "prometheus-target.example:" + port).first, 200) << path;

  // A transfer coding other than chunked: its bytes must not be read as the next request.
  const std::string smuggled = "GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  auto [te_status, te_body] = http_exchange(
      server.http_port(), "POST /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: gzip\r\n\r\n" + smuggled);
  EXPECT_EQ(te_status, 400) << te_body;
  EXPECT_EQ(te_body.find("\"store\""), std::string::npos) << "the body was served as a request: " << te_body;
  auto [bad_status, bad_body] = http_exchange(server.http_port(), "GET /api/overview HTTP/9\r\n\r\n");
  EXPECT_EQ(bad_status, 400) << bad_body;
  EXPECT_FALSE(json::parse(bad_body, nullptr, false).is_discarded()) << bad_body;
}

TEST_F(Console, ServesItsEmbeddedAssets) {
  auto [s, index] = http_get(server.http_port(), "/");
  EXPECT_EQ(s, 200);
  EXPECT_NE(index.find("<title>Portask console</title>"), std::string::npos);
  EXPECT_EQ(http_get(server.http_port(), "/console/app.js").first, 200);
  EXPECT_EQ(http_get(server.http_port(), "/console/style.css").first, 200);
  EXPECT_EQ(http_get(server.http_port(), "/console/missing.js").first, 404);
  EXPECT_EQ(http_get(server.http_port(), "/console/../CMakeLists.txt").first, 404);
}

// The page as Chromium renders it after its scripts ran (virtual time lets the fetches
// finish); returns the DOM and Chromium's log, and saves a screenshot.
struct rendered {
  std::string dom, log;
};

TEST_F(Console, PagesRenderInHeadlessChromiumWithoutErrors) {
  ASSERT_EQ(run_shell("command -v chromium").first, 0) << "chromium is not installed: run tools/setup --test";
  const std::string artifacts = PORTASK_TEST_ARTIFACT_DIR;
  std::filesystem::create_directories(artifacts);
  auto render = [&](const std::string& page, const std::string& shot) {
    const std::string url = "http://127.0.0.1:" + std::to_string(server.http_port()) + "/" + page;
    const std::string flags = " --headless=new --no-sandbox --disable-gpu --no-first-run "
                              "--disable-dev-shm-usage --user-data-dir=" + dir.path() + "/chromium "
                              "--virtual-time-budget=15000 --window-size=1280,900 ";
    rendered r;
    auto [rc, dom] = run_shell("timeout 120 chromium" + flags + "--dump-dom '" + url + "' 2>" + dir.path() + "/chromium.log");
    EXPECT_EQ(rc, 0) << page;
    r.dom = dom;
    std::ifstream log(dir.path() + "/chromium.log");
    r.log.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
    run_shell("timeout 120 chromium" + flags + "--screenshot=" + artifacts + "/" + shot + " '" + url +
              "' >/dev/null 2>&1");
    EXPECT_TRUE(std::filesystem::exists(artifacts + "/" + shot)) << shot;
    return r;
  };
  auto no_errors = [](const rendered& r, const std::string& page) {
    EXPECT_EQ(r.log.find("Uncaught"), std::string::npos) << page << "\n" << r.log;
    EXPECT_EQ(r.log.find(":ERROR:CONSOLE"), std::string::npos) << page << "\n" << r.log;
    EXPECT_EQ(r.dom.find("class=\"error\""), std::string::npos) << page << "\n" << r.dom;
    EXPECT_NE(r.dom.find("data-ready=\"true\""), std::string::npos) << page << "\n" << r.dom;
  };

  const auto overview = render("#/", "console-overview.png");
  no_errors(overview, "overview");
  EXPECT_NE(overview.dom.find("messages in"), std::string::npos);

  const auto topics = render("#/topics", "console-topics.png");
  no_errors(topics, "topics");
  EXPECT_NE(topics.dom.find("#/topics/orders"), std::string::npos) << topics.dom;

  const auto topic = render("#/topics/orders", "console-topic-orders.png");
  no_errors(topic, "topic");
  for (const char* shown : {"first", "{\"n\":2}", "fifth", "k3", "trace=abc"})
    EXPECT_NE(topic.dom.find(shown), std::string::npos) << shown << "\n" << topic.dom;

  const auto group = render("#/groups/billing", "console-group-billing.png");
  no_errors(group, "group");
  EXPECT_NE(group.dom.find("<strong id=\"total-lag\">2</strong>"), std::string::npos) << group.dom;
}

}  // namespace
}  // namespace portask::test
