// The recording of a run: the client side of every connection as a pcap (from the proxy's flows), and the lean
// clients' TLS secrets beside it (NAME.keys), so Wireshark can show T.125 and RDP inside TLS (docs/pcap.md).
#include "runner_state.hpp"

#include "rdp/net/local_file.hpp"

#include <filesystem>

namespace rdp::scenarios::running {
namespace {

// Where a client context keeps its key log (not the app data: Asio's ssl::context keeps its verify callback there).
int keylog_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

void scenario_run::record_tls_keys() {
  SSL_CTX_set_ex_data(context_.native_handle(), keylog_index(), &tls_keys_);
  SSL_CTX_set_keylog_callback(context_.native_handle(), [](const SSL* ssl, const char* line) {
    auto* keys = static_cast<std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keylog_index()));
    if (keys && keys->size() < (1u << 20)) keys->append(line).append("\n");
  });
}

void scenario_run::write_pcap(std::vector<capture::tcp_flow> flows) {
  try {
    std::filesystem::create_directories(*o_.pcap_dir);
    const auto path = *o_.pcap_dir / (s_.name + ".pcap");
    // Through net::write_report_file, as the reports: a symlink planted at NAME.pcap in a shared directory is
    // replaced, never written through.
    std::string why;
    if (!net::write_report_file(path.string(), capture::pcap_file_bytes(flows), why)) throw std::runtime_error(why);
    out_.pcap = path;
    if (!tls_keys_.empty()) {
      auto keys_path = path;
      keys_path.replace_extension(".keys");
      if (!net::write_report_file(keys_path.string(), tls_keys_, why)) throw std::runtime_error(why);
    }
    note("runner", "pcap of the client side: " + path.string() + " (" + std::to_string(flows.size()) +
                       " connection(s); ports and segmentation reconstructed, bytes and times as the client saw "
                       "them)" +
                       (tls_keys_.empty() ? std::string()
                                          : "; TLS keys beside it: tshark -r " + path.string() +
                                                " -d tcp.port==3389,tls -o tls.keylog_file:" +
                                                std::filesystem::path(path).replace_extension(".keys").string()));
  } catch (const std::exception& e) {
    fail_run(std::string("writing the pcap: ") + e.what());
  }
}

}  // namespace rdp::scenarios::running
