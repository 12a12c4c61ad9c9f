#pragma once
/// The JSON API under /api/ that the web console and scripts use (docs/operations.md,
/// "Console and JSON API"). Read endpoints: overview, topics, a topic, a partition's messages,
/// groups, a group with lag. Write endpoints: create and delete a topic. Each request is
/// answered by a short-lived http_request_actor (interfaces.hpp), sent the request, that asks
/// the registry, partitions and group coordinators, so no Asio thread ever waits on an actor.

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// Calls `reply(status, json, allow)` exactly once, from any thread; `allow` is the Allow
/// header of a 405 (the methods the path takes), empty otherwise.
using api_reply = std::function<void(unsigned status, std::string json, std::string allow)>;

/// `supervisor`: where the request's actor finds the registry, bridges and groups.
void serve_api(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
               supervisor_actor supervisor, boost::beast::http::verb method, std::string target,
               std::string body, api_reply reply);

}  // namespace portask
