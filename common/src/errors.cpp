#include "rdp/net/errors.hpp"

#include <string>

namespace rdp::net {
namespace {
class net_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rdp.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::timed_out: return "timed out";
      case errc::frame_too_large: return "frame larger than the limit";
      case errc::peer_closed: return "peer closed the connection";
      case errc::bad_target: return "cannot parse target";
      case errc::bad_quantity: return "cannot parse a duration, size or rate";
    }
    return "unknown rdp.net error " + std::to_string(ev);
  }
};
}  // namespace

const boost::system::error_category& net_category() noexcept {
  static const net_category_impl instance;
  return instance;
}

}  // namespace rdp::net
