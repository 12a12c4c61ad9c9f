#pragma once
/// A scripted storage_writer_actor. Unscripted appends are stored: one ok per batch.

#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct storage_writer_script {
  scripted<append_outcome, append_set> append;
  heard<> flush;

  storage_writer_script() {
    append.otherwise = [](const append_set& set) -> caf::expected<append_outcome> {
      return append_outcome{std::vector<errc>(set.batches.size(), errc::ok)};
    };
  }
};

inline storage_writer_actor::behavior_type mock_storage_writer(
    storage_writer_actor::pointer, std::shared_ptr<storage_writer_script> s) {
  return {
      [s](append_atom, const append_set& set) { return s->append(set); },
      [s](flush_atom) { s->flush(); },
  };
}

inline storage_writer_actor spawn_mock_storage_writer(caf::actor_system& sys,
                                                      std::shared_ptr<storage_writer_script> s) {
  return sys.spawn(mock_storage_writer, std::move(s));
}

}  // namespace portask::testing
