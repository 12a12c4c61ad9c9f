#pragma once
// Group members as child processes (kafka-python, kafkajs), each writing what it did to a
// file: `ASSIGN p,p`, `REC partition offset value`, `COMMIT partition next-offset`, `CLOSED`.
// These helpers read those files and check the at-least-once outcome of a scenario.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace portask::test {

struct worker_record {
  std::int32_t partition;
  std::int64_t offset;
  std::string value;
};

struct worker_log {
  std::vector<std::int32_t> assignment;  ///< the latest
  std::vector<worker_record> records;
  std::map<std::int32_t, std::int64_t> committed;  ///< latest next-offset per partition
  bool closed = false;
  std::size_t lines = 0;
};

/// Reads a worker's file, up to `max_lines` lines.
worker_log read_worker_log(const std::string& path, std::size_t max_lines = SIZE_MAX);

/// Every (partition, offset) delivered, with how often, across workers.
std::map<std::pair<std::int32_t, std::int64_t>, int> deliveries(const std::vector<worker_log>& logs);

/// Checks that a repeated delivery only concerns records whose commit had not been made
/// before the disruption: `committed_before` maps partition -> the highest next-offset any
/// worker had committed by then. Returns a description of each violation.
std::vector<std::string> unjustified_redeliveries(
    const std::map<std::pair<std::int32_t, std::int64_t>, int>& seen,
    const std::map<std::int32_t, std::int64_t>& committed_before);

}  // namespace portask::test
