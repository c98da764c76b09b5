#pragma once
// `rdpsim demo` (demo_cli.cpp): the README's main job, two stories of the scenario library on loopback.
#include <string>

namespace rdp::sim {

struct demo_options {
  bool json = false;     // the runner's JSON report instead of the timelines
  std::string pcap_dir;  // also write each story's pcap there
  bool verbose = false;  // the timelines' details too
};
// 0 when both stories played as expected.
int run_demo(const demo_options& options);

}  // namespace rdp::sim
