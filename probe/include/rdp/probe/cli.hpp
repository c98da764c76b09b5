#pragma once
// The rdpprobe command line. Exit status: 0 every target is healthy RDP, 1 any finding, 2 usage or input error.
namespace rdp::probe {
int run_cli(int argc, char** argv);
}
