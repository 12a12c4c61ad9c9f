#pragma once
/// The errorMessage of a Kafka answer for a failure the broker's actors reported. Clients show
/// it to people (kafka-python and confluent-kafka raise it as the exception's text), so it is
/// the errc's sentence (protocol/native_schema.json), never CAF's rendering of the error
/// ("portask:unknown_topic"). CAF's own errors (a request timeout, a receiver gone) read as
/// the errc to_errc makes of them.

#include <string>
#include <string_view>

#include "actors/interfaces.hpp"
#include "protocol/error.hpp"

namespace portask::kafka {

inline std::string error_message(errc e) { return make_error_code(e).message(); }

inline std::string error_message(const caf::error& e) { return error_message(to_errc(e)); }

/// About one topic: Kafka's sentences where Kafka has one, else the message naming the topic.
inline std::string topic_error_message(errc e, std::string_view topic) {
  const std::string quoted = "'" + std::string(topic) + "'";
  switch (e) {
    case errc::unknown_topic: return "The topic " + quoted + " does not exist.";  // Kafka's
    case errc::topic_already_exists: return "Topic " + quoted + " already exists.";  // Kafka's
    default: return "topic " + quoted + ": " + error_message(e);
  }
}

inline std::string topic_error_message(const caf::error& e, std::string_view topic) {
  return topic_error_message(to_errc(e), topic);
}

}  // namespace portask::kafka
