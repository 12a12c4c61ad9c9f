#pragma once
/// The JSON API under /api/ that the web console and scripts use (docs/operations.md,
/// "Console and JSON API"). Read endpoints: overview, topics, a topic, a partition's messages,
/// groups, a group with lag; the topic and group lists answer a page at a time. Write endpoints: create and delete a topic. Each request is
/// answered by a short-lived http_request_actor (interfaces.hpp), sent the request, that asks
/// the registry, partitions and group coordinators, so no Asio thread ever waits on an actor.

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// Headers an answer carries besides its Content-Type; each is sent only when not empty.
struct api_headers {
  std::string allow;  ///< on a 405: the methods the path takes
  std::string link;   ///< on a list page with names after it: the next page (rel="next")
};

/// Calls `reply(status, json, headers)` exactly once, from any thread.
using api_reply = std::function<void(unsigned status, std::string json, api_headers headers)>;

/// `supervisor`: where the request's actor finds the registry, bridges and groups.
void serve_api(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
               supervisor_actor supervisor, boost::beast::http::verb method, std::string target,
               std::string body, api_reply reply);

}  // namespace portask
