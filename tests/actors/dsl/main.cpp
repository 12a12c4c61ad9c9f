// The test driver of actor_dsl_tests: CAF's own unit-test framework, whose implementation
// (and main) Debian's libcaf-dev ships as a header to include in exactly one file. Each
// *_test.cpp is one suite (CAF_SUITE); `actor_dsl_tests --suites=dsl.groups` runs one, and
// `-v 4` prints every expect() as it runs.
#include <caf/test/unit_test_impl.hpp>
