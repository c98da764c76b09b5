namespace rdp::sim {
int run_cli(int argc, char** argv);
}

int main(int argc, char** argv) { return rdp::sim::run_cli(argc, argv); }
