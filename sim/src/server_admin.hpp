#pragma once
// The administrator's interface to rdpsim's session table (session_admin, sessions.hpp): what `rdpsim ctl` and the
// scenarios ask for, carried out on the table and on the live connections' state machines.
#include "server_state.hpp"

namespace rdp::sim {

class server_admin final : public session_admin {
 public:
  explicit server_admin(server::state& st) : st_(st) {}

  std::vector<session_info> query_sessions() const override;
  // Gone from the table at once; the wire sequence follows.
  admin_result logoff(std::uint32_t id) override;
  admin_result reset(std::uint32_t id) override;
  admin_result disconnect(std::uint32_t id) override;
  admin_result restart_service(std::chrono::milliseconds down) override;  // as the profile says
  admin_result restart_service(std::chrono::milliseconds down, restart_sessions sessions) override;
  admin_result drop_connection(std::uint32_t id) override;
  session_policy policy() const override;
  admin_result set_policy(const session_policy& policy) override;

 private:
  // Asks the connection the table named (if any) to end the way `how` says.
  admin_result request(const admin_target& target, termination how);

  server::state& st_;
};

}  // namespace rdp::sim
