#pragma once
// JUnit XML for CI systems: one test case per target, failing unless its verdict is `rdp`; targets an interrupted
// run did not finish are reported as skipped, so nothing that was finished is lost.
#include "rdp/probe/report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rdp::probe {

std::string to_junit(const std::vector<std::string>& target_names, const std::vector<std::optional<target_report>>& reports);

}  // namespace rdp::probe
