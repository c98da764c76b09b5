#include <sys/resource.h>

namespace rdp::sim {
int run_cli(int argc, char** argv);
}

namespace {

// rdpsim holds one socket per connection and is meant to hold thousands of sessions in one process (issue 4). The
// soft limit on open files is usually 1024 while the hard limit is far higher (systemd's default is 524288), so
// accept() would start failing with EMFILE at about a thousand sessions. Raise the soft limit to the hard one, as
// servers do at start; that is safe because Asio waits with epoll, never select() and its FD_SETSIZE of 1024.
// Best effort: if it fails, rdpsim runs with the limit it has (and its accept loop backs off on EMFILE).
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  raise_open_files_limit();
  return rdp::sim::run_cli(argc, argv);
}
