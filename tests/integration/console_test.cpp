// The JSON API under /api/ and the web console served by the real `portask` executable:
// every endpoint with valid and invalid input, then the console's pages in headless Chromium
// (Debian's package) showing a topic kcat produced to, its messages, and a group's lag, with
// no console errors. Screenshots go to PORTASK_TEST_ARTIFACT_DIR.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>
#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "old_store.hpp"
#include "redis_server.hpp"
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
    return api_of(server, method, path, body);
  }
  // The same request to another broker's HTTP server.
  static std::pair<int, json> api_of(const server_process& broker, const std::string& method,
                                     const std::string& path, const std::string& body = {}) {
    auto [status, text] = http_exchange(
        broker.http_port(), method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                                (body.empty() ? std::string()
                                              : "Content-Type: application/json\r\nContent-Length: " +
                                                    std::to_string(body.size()) + "\r\n") +
                                "\r\n" + body);
    auto j = json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << method << " " << path << ": not JSON: " << text;
    return {status, j};
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(server.kafka_port()); }

  // A GET as curl saw it: its status, its Link header ("" when it has none) and its JSON body.
  struct answer_with_link {
    int status = 0;
    std::string link;
    json body;
  };
  answer_with_link get_with_link(const std::string& path) {
    auto [rc, out] = run_shell("timeout 20 curl -s -D - 'http://127.0.0.1:" +
                               std::to_string(server.http_port()) + path + "'");
    answer_with_link got;
    EXPECT_EQ(rc, 0) << path;
    const auto end = out.find("\r\n\r\n");
    if (end == std::string::npos) {
      ADD_FAILURE() << path << ": no headers in " << out;
      return got;
    }
    std::istringstream headers(out.substr(0, end));
    std::string line;
    std::getline(headers, line);  // "HTTP/1.1 200 OK"
    if (line.size() >= 12) got.status = std::stoi(line.substr(9, 3));
    while (std::getline(headers, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto name = line.substr(0, line.find(':'));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (name == "link" && line.size() > 5) got.link = line.substr(line.find_first_not_of(' ', 5));
    }
    got.body = json::parse(out.substr(end + 4), nullptr, false);
    EXPECT_FALSE(got.body.is_discarded()) << path << ": not JSON: " << out;
    return got;
  }

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
      EXPECT_EQ(t["path"], "orders");
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
  EXPECT_EQ(groups[0]["path"], "billing");
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
           // Parameters an endpoint does not take are refused, not ignored.
           {"GET", "/api/topics/orders?limit=5", "", 400},
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
           // An empty segment is no other spelling of an endpoint; a parameter given twice
           // does not say which to apply.
           {"GET", "/api//topics", "", 404},
           {"GET", "/api/topics/", "", 404},
           {"DELETE", "/api/topics//", "", 404},
           {"GET", "/api/topics?limit=5&limit=6", "", 400},
           {"GET", "/api/topics/orders/messages?limit=5&limit=6", "", 400},
           {"GET", "/api/nope?a=1&a=2", "", 404},
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

// The address a Link header names as the next page (RFC 8288), or "" when there is none.
std::string next_page(const std::string& link) {
  const std::string rel = ">; rel=\"next\"";
  if (link.empty()) return {};
  EXPECT_TRUE(link.starts_with("<") && link.ends_with(rel)) << link;
  if (!link.starts_with("<") || !link.ends_with(rel)) return {};
  return link.substr(1, link.size() - 1 - rel.size());
}

// The topic and group lists answer a page at a time, in name order, only the page's topics
// and groups described: following the Link headers from the first page lists each once, the
// last page has none, and a page after a name starts at the first name sorted after it.
TEST_F(Console, TopicAndGroupListsComeAPageAtATimeInNameOrder) {
  for (const std::string name : {"page-c", "page-a", "page-e", "page-b", "page-d"})
    ASSERT_EQ(api("POST", "/api/topics", R"({"name":")" + name + R"("})").first, 201) << name;
  const auto [all_status, all] = api("GET", "/api/topics?limit=1000");
  ASSERT_EQ(all_status, 200) << all.dump();
  std::vector<std::string> names;
  for (const auto& t : all) names.push_back(t["name"]);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << all.dump();
  for (const std::string name : {"orders", "page-a", "page-b", "page-c", "page-d", "page-e"})
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name << ": " << all.dump();

  std::vector<std::string> paged;
  std::string path = "/api/topics?limit=2";
  answer_with_link page;
  for (int pages = 0; !path.empty(); ++pages) {
    ASSERT_LT(pages, 10) << "the pages do not end: " << path;
    page = get_with_link(path);
    ASSERT_EQ(page.status, 200) << path << ": " << page.body.dump();
    ASSERT_TRUE(page.body.is_array()) << path;
    ASSERT_LE(page.body.size(), 2u) << path;
    for (const auto& t : page.body) {
      paged.push_back(t["name"]);
      EXPECT_TRUE(t["messages"].is_number()) << "described: " << t.dump();
    }
    path = next_page(page.link);
    // The next page is as long, and starts after this page's last name.
    if (!path.empty()) {
      ASSERT_FALSE(page.body.empty()) << "an empty page with a next one: " << page.link;
      EXPECT_EQ(path, "/api/topics?limit=2&after=" + paged.back()) << page.link;
    }
  }
  EXPECT_EQ(paged, names) << "every topic once, in name order, over the pages";
  EXPECT_FALSE(page.body.empty()) << "a last page with nothing on it";
  EXPECT_EQ(get_with_link("/api/topics?limit=1000").link, "") << "a single page has a next one";
  // `after` need not be a topic's name.
  const auto after = get_with_link("/api/topics?limit=2&after=page-a0");
  ASSERT_EQ(after.body.size(), 2u) << after.body.dump();
  EXPECT_EQ(after.body[0]["name"], "page-b");
  EXPECT_EQ(after.body[1]["name"], "page-c");
  EXPECT_EQ(next_page(after.link), "/api/topics?limit=2&after=page-c");

  // Groups likewise: "audit & co" sorts before the fixture's "billing", and is percent-encoded
  // in the Link (a group id may hold any byte).
  auto [rc, out] = run_shell("kcat -b " + bootstrap() +
                             " -G 'audit & co' orders -o beginning -c 3 -q -X auto.commit.interval.ms=100 2>&1");
  ASSERT_EQ(rc, 0) << out;
  const auto first = get_with_link("/api/groups?limit=1");
  ASSERT_EQ(first.status, 200) << first.body.dump();
  ASSERT_EQ(first.body.size(), 1u) << first.body.dump();
  EXPECT_EQ(first.body[0]["group"], "audit & co");
  EXPECT_EQ(first.link, "</api/groups?limit=1&after=audit%20%26%20co>; rel=\"next\"");
  const auto last = get_with_link(next_page(first.link));
  ASSERT_EQ(last.status, 200) << last.body.dump();
  ASSERT_EQ(last.body.size(), 1u) << last.body.dump();
  EXPECT_EQ(last.body[0]["group"], "billing");
  EXPECT_EQ(last.body[0]["lag"], 2) << "described";
  EXPECT_EQ(last.link, "");

  // Bad page parameters are 400 with the API's error, like the message browser's.
  for (const std::string list : {"/api/topics", "/api/groups"})
    for (const std::string query : {"?limit=0", "?limit=1001", "?limit=x", "?limit=2x", "?limit=-1",
                                    "?limit=", "?after=", "?after", "?page=2", "?limit=2&offset=4"}) {
      auto [status, e] = api("GET", list + query);
      EXPECT_EQ(status, 400) << list << query << ": " << e.dump();
      EXPECT_TRUE(e.contains("error")) << list << query << ": " << e.dump();
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

// The message browser refuses a start outside the partition's log as `portask-cli consume
// --from` does, in the same words, rather than reading from the log start or answering an
// error code; the API's refusals name what went wrong in words, not a code's name.
TEST_F(Console, RefusalsSayWhyInWordsAndAStartOutsideTheLogAsTheCliSaysIt) {
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.delete_records("orders", 0, 2)));  // the log: offsets 2 to 5
  for (const auto& [from, bounds] : std::vector<std::pair<std::string, std::string>>{
           {"1", "from 1 is outside partition orders/0: its log start is 2 and its high watermark 5"},
           {"999", "from 999 is outside partition orders/0: its log start is 2 and its high watermark 5"}}) {
    auto [status, e] = api("GET", "/api/topics/orders/messages?from=" + from);
    EXPECT_EQ(status, 400) << from << ": " << e.dump();
    EXPECT_EQ(e.value("error", std::string{}).rfind(bounds, 0), 0u) << from << ": " << e.dump();
  }
  // Either end of the log is a start.
  auto [first_status, first] = api("GET", "/api/topics/orders/messages?from=2");
  ASSERT_EQ(first_status, 200) << first.dump();
  EXPECT_EQ(first["messages"].size(), 3u);
  EXPECT_EQ(first["messages"][0]["offset"], 2);
  auto [end_status, end] = api("GET", "/api/topics/orders/messages?from=5");
  ASSERT_EQ(end_status, 200) << end.dump();
  EXPECT_EQ(end["messages"].size(), 0u);

  for (const auto& [method, path, want, said] : std::vector<std::tuple<std::string, std::string, int, std::string>>{
           {"GET", "/api/topics/orders/messages?partition=99", 404,
            "orders/99: unknown partition: topic 'orders' has 1 partition (0)"},
           {"DELETE", "/api/topics/__consumer_offsets", 400,
            "delete '__consumer_offsets': an internal topic cannot be deleted"},
           {"GET", "/api/topics/missing", 404, "topic 'missing': unknown topic"},
           {"GET", "/api/groups/nobody", 404, "group 'nobody': unknown group"}}) {
    auto [status, e] = api(method, path);
    EXPECT_EQ(status, want) << method << " " << path << ": " << e.dump();
    EXPECT_EQ(e.value("error", std::string{}).rfind(said, 0), 0u) << method << " " << path << ": " << e.dump();
  }
}

// A group id that is not UTF-8 is listed with U+FFFD in place of its bad bytes, which name
// another group (or none); each entry of the lists also gives the path that reaches it, its
// bytes percent-encoded, which the console links to. Kafka clients can no longer make such a
// group (the broker reads their strings as Kafka does, with U+FFFD), but a store an older
// broker wrote may hold one: the test starts a broker on such a store.
TEST_F(Console, AGroupIdThatIsNotUtf8IsReachedByThePathItIsListedWith) {
  redis_server redis;
  ASSERT_TRUE(redis.start());
  ASSERT_NO_FATAL_FAILURE(commit_as_an_old_broker(redis.port(), "bad\xff\xfe" "utf8", "orders", 0, 1));
  server_process old{redis.url(), dir.path() + "/old-store.log"};
  ASSERT_TRUE(old.start());
  ASSERT_TRUE(client::ok(old.connect().create_topic("orders", 1)));
  auto [status, groups] = api_of(old, "GET", "/api/groups");
  ASSERT_EQ(status, 200) << groups.dump();
  json listed;
  for (const auto& g : groups) {
    EXPECT_TRUE(g["path"].is_string()) << g.dump();
    if (g["path"] == "bad%FF%FEutf8") listed = g;
  }
  ASSERT_TRUE(listed.is_object()) << groups.dump();
  EXPECT_EQ(listed["group"], "bad\xef\xbf\xbd\xef\xbf\xbd" "utf8");  // JSON text is UTF-8
  auto [by_path, g] = api_of(old, "GET", "/api/groups/" + listed["path"].get<std::string>());
  ASSERT_EQ(by_path, 200) << g.dump();
  EXPECT_EQ(g["partitions"][0]["committed"], 1) << g.dump();
  auto [by_name, none] = api_of(old, "GET", "/api/groups/bad%EF%BF%BD%EF%BF%BDutf8");  // as the name reads
  EXPECT_EQ(by_name, 404) << none.dump();
  print_log_if_failed(old.log_path());
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
  // No other site's page may frame the console (clickjacking), as browsers old and new read it.
  for (const std::string path : {"/", "/console/app.js"}) {
    auto [rc, headers] = run_shell("timeout 20 curl -s -D - -o /dev/null 'http://127.0.0.1:" +
                                   std::to_string(server.http_port()) + path + "'");
    ASSERT_EQ(rc, 0) << path;
    EXPECT_NE(headers.find("\r\nX-Frame-Options: DENY\r\n"), std::string::npos) << path << ": " << headers;
    EXPECT_NE(headers.find("frame-ancestors 'none'"), std::string::npos) << path << ": " << headers;
  }
}

// The console's app.js as the broker serves it, run by node on a stand-in page: elements that
// keep their children, attributes, text and click listeners, a fetch whose answers (and their
// headers) the script hands out in the order it chooses, and timers that fire only when told,
// so every ordering is chosen, none waited for. Runs the scenario its second argument names;
// prints "ok", or names what broke.
constexpr const char* console_harness = R"js("use strict";
const fs = require("fs"), vm = require("vm"), assert = require("assert");

class Node {}
class Element extends Node {
  constructor(tag) {
    super();
    Object.assign(this, { tagName: tag.toUpperCase(), children: [], attributes: {}, dataset: {},
                          className: "", title: "", classList: { toggle() {} }, listeners: {} });
  }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  addEventListener(type, f) { (this.listeners[type] ||= []).push(f); }
  append(...nodes) { this.children.push(...nodes); }
  replaceChildren(...nodes) { this.children = nodes; }
  get textContent() { return this.children.map(c => (typeof c === "string" ? c : c.textContent)).join(" "); }
  set textContent(t) { this.children = [String(t)]; }
  getContext() { return new Proxy({}, { get: () => () => {}, set: () => true }); }
}
const main = new Element("main"), badge = new Element("span");
const document = { getElementById: id => ({ main, health: badge })[id], createElement: tag => new Element(tag),
                   querySelectorAll: () => [] };
const hashchange = [];
const window = { addEventListener: (type, f) => { if (type === "hashchange") hashchange.push(f); } };
const location = { hash: "", origin: "http://127.0.0.1:9" };

// Requests not answered yet (nor given up): { url, resolve }, `url` the path on the page's
// origin. fetch refuses a URL that keeps the user and password a console was opened with
// (http://user:password@host/), which a path resolved against the page's address would: a
// URL not on the origin is kept as such, and no answer() matches it.
const asked = [];
function fetch(url, options = {}) {
  return new Promise((resolve, reject) => {
    const at_origin = url.startsWith(location.origin + "/");
    const call = { url: at_origin ? url.slice(location.origin.length) : `${url} (not at the page's origin)`, resolve };
    asked.push(call);
    if (options.signal) options.signal.addEventListener("abort", () => {
      asked.splice(asked.indexOf(call), 1);
      reject(new Error("aborted"));
    });
  });
}
// `headers`: names in lower case, as Headers.get finds them whatever their case.
function answer(url, status, body, headers = {}) {
  const i = asked.findIndex(c => c.url === url);
  assert.ok(i >= 0, `nothing asked for ${url}; waiting: ${asked.map(c => c.url).join(", ")}`);
  asked.splice(i, 1)[0].resolve({ ok: status >= 200 && status < 300, status, statusText: "",
                                  headers: { get: name => headers[name.toLowerCase()] ?? null },
                                  json: async () => body });
}

// The page's button showing `text`, if any, and a click on it.
function find(el, test) {
  if (!(el instanceof Element)) return null;
  if (test(el)) return el;
  for (const c of el.children) {
    const found = find(c, test);
    if (found) return found;
  }
  return null;
}
const button = text => find(main, el => el.tagName === "BUTTON" && el.textContent === text);
function click(el) {
  assert.ok(el, "no such button");
  for (const f of el.listeners.click || []) f({ preventDefault() {} });
}

let next_timer = 1;
const timers = new Map();
const set_timer = repeat => (f, ms) => { timers.set(next_timer, { f, ms, repeat }); return next_timer++; };
const clear_timer = id => { timers.delete(id); };
const timers_of = ms => [...timers.values()].filter(t => t.ms === ms).length;
function fire(ms) {
  const entry = [...timers.entries()].find(([, t]) => t.ms === ms);
  assert.ok(entry, `no ${ms} ms timer is set`);
  if (!entry[1].repeat) timers.delete(entry[0]);
  entry[1].f();
}
const settled = () => new Promise(r => setImmediate(r));
async function open(hash) {
  location.hash = hash;
  for (const f of hashchange) f();
  await settled();
}

const page = { document, window, location, fetch, Node, performance, devicePixelRatio: 1, AbortController,
               TextDecoder, atob, URLSearchParams, console, confirm: () => true,
               setTimeout: set_timer(false), setInterval: set_timer(true),
               clearTimeout: clear_timer, clearInterval: clear_timer };
vm.createContext(page);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), page);

// What a slow or refusing broker does to the pages.
async function visits() {
  // The overview's first refresh fails: the page says why, and keeps trying.
  answer("/api/overview", 503, { error: "store down" });
  await settled();
  assert.match(main.textContent, /store down/);
  assert.strictEqual(timers_of(2000), 1, "no refresh scheduled after a failed one");
  // One refresh at a time: none is scheduled while one is on its way.
  fire(2000);
  await settled();
  assert.strictEqual(timers_of(2000), 0, "a refresh scheduled while another is on its way");
  answer("/api/overview", 200, { version: "1", store: "memory", topics: 1, messages_in: 7, messages_out: 3 });
  await settled();
  assert.match(main.textContent, /messages in/);
  assert.doesNotMatch(main.textContent, /store down/);
  assert.strictEqual(timers_of(2000), 1, "the next refresh is scheduled once one settled");

  // A refusal of /health shows the broker's error, or the status; the badge asks again
  // once it has its answer, one request at a time.
  answer("/health", 401, { error: "credentials required (HTTP Basic)" });
  await settled();
  assert.strictEqual(badge.textContent, "credentials required (HTTP Basic)");
  assert.strictEqual(timers_of(5000), 1, "health is not asked again");
  fire(5000);
  await settled();
  assert.strictEqual(timers_of(5000), 0, "health asked twice at once");
  answer("/health", 429, {});
  await settled();
  assert.strictEqual(badge.textContent, "HTTP 429");
  assert.doesNotMatch(badge.className, /\bok\b/);

  // A slow answer for a page the reader left does not replace the page opened since.
  await open("#/topics");
  assert.strictEqual(timers_of(2000), 0, "the overview's refresh outlived its page");
  await open("#/groups");
  answer("/api/groups", 200, [{ group: "billing", state: "Stable", protocol_type: "consumer", members: 1, lag: 2 }]);
  await settled();
  assert.match(main.textContent, /Consumer groups \(1\)/);
  answer("/api/topics", 200, [{ name: "orders", partitions: 1, messages: 5, bytes: 10 }]);
  await settled();
  assert.match(main.textContent, /Consumer groups \(1\)/, "the topics answer replaced the groups page");
  // Nor does a topic's, or a failure.
  await open("#/topics/orders");
  await open("#/topics/gone");
  await open("#/groups/billing");
  answer("/api/groups/billing", 200, { group: "billing", state: "Stable", members: [], partitions: [], lag: 2,
                                       generation: 1 });
  await settled();
  answer("/api/topics/orders", 200, { name: "orders", partitions: [], configs: {} });
  answer("/api/topics/gone", 404, { error: "unknown topic gone" });
  await settled();
  assert.match(main.textContent, /Group billing/, "a late topic answer replaced the group page");
  assert.doesNotMatch(main.textContent, /unknown topic/);
  // An overview refresh on its way when the reader left schedules nothing after it.
  await open("#/");
  answer("/api/overview", 200, { version: "1", store: "memory", messages_in: 9, messages_out: 4 });
  await settled();
  fire(2000);
  await settled();
  await open("#/groups");
  answer("/api/overview", 200, { version: "1", store: "memory", messages_in: 12345, messages_out: 4 });
  await settled();
  assert.strictEqual(timers_of(2000), 0, "a left overview went on refreshing");
  assert.doesNotMatch(main.textContent, /12,345/, "a left overview drew its late answer");

  // A request the broker never answers is given up, and the page says so.
  assert.strictEqual(timers_of(10000), 1, "the groups request has no time limit");
  fire(10000);
  await settled();
  assert.match(main.textContent, /no answer from the broker within 10 s/);
}

// The lists, answered a page at a time: a page says it is one, and its "Next page" asks for
// the address the Link header named, as a visit of its own.
async function pages() {
  await open("#/topics");
  answer("/api/topics", 200, [{ name: "alpha", partitions: 1, messages: 5, bytes: 10 }],
         { link: '</api/topics?limit=1&after=alpha>; rel="next"' });
  await settled();
  assert.match(main.textContent, /Topics \(1 on this page\)/);
  assert.ok(button("Next page"), "the first page offers no next one");
  assert.ok(!button("First page"), "the first page offers itself");
  click(button("Next page"));
  await settled();
  answer("/api/topics?limit=1&after=alpha", 200, [{ name: "beta", partitions: 2, messages: 0, bytes: 0 }]);
  await settled();
  assert.match(main.textContent, /beta/);
  assert.doesNotMatch(main.textContent, /alpha/);
  assert.ok(!button("Next page"), "the last page offers a next one");

  // A page asked for when the reader has since moved on draws nothing.
  click(button("First page"));
  await settled();
  await open("#/groups");
  answer("/api/topics", 200, [{ name: "alpha", partitions: 1, messages: 5, bytes: 10 }],
         { link: '</api/topics?limit=1&after=alpha>; rel="next"' });
  await settled();
  assert.doesNotMatch(main.textContent, /alpha/, "a page the reader left drew its late answer");
  answer("/api/groups", 200, [{ group: "audit team", state: "Empty", protocol_type: "consumer", members: 0, lag: 0 }],
         { link: '</api/groups?limit=1&after=audit%20team>; rel="next"' });
  await settled();
  assert.match(main.textContent, /Consumer groups \(1 on this page\)/);
  click(button("Next page"));
  await settled();
  // The next page's answer names a page of another list: not followed.
  answer("/api/groups?limit=1&after=audit%20team", 200,
         [{ group: "billing", state: "Stable", protocol_type: "consumer", members: 1, lag: 2 }],
         { link: '</api/topics?limit=1&after=billing>; rel="next"' });
  await settled();
  assert.match(main.textContent, /billing/);
  assert.ok(!button("Next page"), "a Link to another list is followed");
}

// The lists link to each name by the path the broker gives for it, the bytes of a group id
// that is not UTF-8 included (decoded, they would be U+FFFD: another group), and the page a
// link opens asks for that path; an address typed in is asked for encoded. The new-topic
// form's pattern compiles as browsers compile it now (the v flag), or they skip the check.
async function links() {
  await open("#/groups");
  answer("/api/groups", 200, [{ group: "bad\uFFFD\uFFFDutf8", path: "bad%FF%FEutf8", state: "Empty",
                                protocol_type: "consumer", members: 0, lag: 0 }]);
  await settled();
  const to_group = find(main, el => el.tagName === "A");
  assert.ok(to_group, "no link to the group");
  assert.strictEqual(to_group.attributes.href, "#/groups/bad%FF%FEutf8");
  await open(to_group.attributes.href);
  answer("/api/groups/bad%FF%FEutf8", 200, { group: "bad\uFFFD\uFFFDutf8", state: "Empty", protocol_type: "consumer",
                                             members: [], partitions: [], lag: 0, generation: 0 });
  await settled();
  assert.match(main.textContent, /Group bad\uFFFD\uFFFDutf8/);
  await open("#/groups/audit & co?%");
  answer("/api/groups/audit%20%26%20co%3F%25", 200, { group: "audit & co?%", state: "Empty", members: [],
                                                     partitions: [], lag: 0, generation: 0 });
  await settled();
  assert.match(main.textContent, /Group audit & co\?%/);

  await open("#/topics");
  answer("/api/topics", 200, [{ name: "orders", path: "orders", partitions: 1, messages: 5, bytes: 10 }]);
  await settled();
  assert.strictEqual(find(main, el => el.tagName === "A").attributes.href, "#/topics/orders");
  const name = find(main, el => el.tagName === "INPUT" && el.attributes.name === "name");
  const pattern = new RegExp(`^(?:${name.attributes.pattern})$`, "v");  // as the HTML standard compiles it
  assert.ok(pattern.test("orders-2.x_y"), "a valid name does not match");
  assert.ok(!pattern.test("bad name"), "a name with a space matches");
}

(async () => {
  await settled();
  await ({ visits, pages, links })[process.argv[3]]();
  console.log("ok");
})().catch(e => {
  console.log(e.stack || String(e));
  process.exit(1);
});
)js";

// Runs `scenario` of console_harness on the app.js the broker serves.
void run_console_harness(const server_process& server, const temp_dir& dir, const std::string& scenario) {
  ASSERT_EQ(run_shell("command -v node").first, 0) << "node is not installed: run tools/setup --test";
  auto [status, app] = http_get(server.http_port(), "/console/app.js");
  ASSERT_EQ(status, 200);
  std::ofstream(dir.path() + "/app.js") << app;
  std::ofstream(dir.path() + "/harness.js") << console_harness;
  auto [rc, out] = run_shell("timeout 60 node " + dir.path() + "/harness.js " + dir.path() + "/app.js " +
                             scenario + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "ok\n");
}

// What a slow or refusing broker does to the pages: an answer for a page the reader left
// draws nothing, the overview and the health badge ask one request at a time and keep asking
// after a failure, a request never answered is given up, and a refused /health shows why.
TEST_F(Console, PagesKeepToTheirVisitAndRefreshOneRequestAtATime) {
  run_console_harness(server, dir, "visits");
}

// The topic and group lists come a page at a time: a page with more after it offers the next,
// which is the address the Link header names, asked for as a visit of its own; the last page
// offers none, and a Link to anywhere but the same list is not followed.
TEST_F(Console, ListPagesFollowTheLinkHeaderToTheNextPage) {
  run_console_harness(server, dir, "pages");
}

// The lists link to each topic and group by the path the API gives for it, so a group id that
// is not UTF-8 opens; every request goes to the page's origin, so a console opened with a
// user and password in its address works; the new-topic form's pattern compiles with the v
// flag.
TEST_F(Console, LinksFollowTheListedPathsAndRequestsGoToThePagesOrigin) {
  run_console_harness(server, dir, "links");
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
