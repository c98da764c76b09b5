#include "rdp/probe/cli.hpp"

int main(int argc, char** argv) { return rdp::probe::run_cli(argc, argv); }
