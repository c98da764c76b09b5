// The one clock of a run (run_clock.hpp): scaling to the millisecond, and scenario time for what a person reads.
#include "run_clock.hpp"

#include "rdp/net/quantity.hpp"

#include <cmath>
#include <sstream>
#include <vector>

namespace rdp::scenarios::running {

using std::chrono::microseconds;
using std::chrono::milliseconds;

std::chrono::milliseconds run_clock::scaled(duration d) const {
  return milliseconds(static_cast<long long>(std::llround(static_cast<double>(d.count()) * time_scale)));
}

proxy::fault_change run_clock::scaled(const proxy::fault_change& c) const {
  auto out = c;
  proxy::for_each_duration(out, [this](const proxy::fault_row&, proxy::duration& d) { d = scaled(d); });
  return out;
}

// What a person reads is scenario time, the file's own value, with the real time beside it where the two differ:
// "idle-timeout 4m (4800ms real)" at time scale 0.02, "4m" at 1.
std::string run_clock::span_text(duration d) const {
  const auto scenario = d.count() == 0 ? std::string("0s") : net::format_duration(d);
  const auto real = scaled(d);
  if (time_scale == 1.0 || real == d) return scenario;
  return scenario + " (" + (real.count() == 0 ? std::string("0ms") : net::format_duration(real)) + " real)";
}

// A fault change as the file wrote it, each duration with its real value beside: proxy::describe of the unscaled
// change, and of the scaled one for the real values (the same parts in the same order; a part's value is its last
// word).
std::string run_clock::describe_change(const proxy::fault_change& c) const {
  const auto scenario = proxy::describe(c);
  if (time_scale == 1.0) return scenario;
  auto parts = [](const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t from = 0;;) {
      const auto comma = text.find(", ", from);
      out.push_back(text.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) return out;
      from = comma + 2;
    }
  };
  const auto in_file = parts(scenario);
  const auto real = parts(proxy::describe(scaled(c)));
  if (in_file.size() != real.size()) return scenario + " (real: " + proxy::describe(scaled(c)) + ")";
  std::string out;
  for (std::size_t i = 0; i < in_file.size(); ++i) {
    out += (i ? ", " : "") + in_file[i];
    if (in_file[i] != real[i]) out += " (" + real[i].substr(real[i].rfind(' ') + 1) + " real)";
  }
  return out;
}

std::string run_clock::scale_text() const {
  std::ostringstream out;
  out << time_scale;
  return out.str();
}

// Real time since the start as scenario time, to the millisecond: the value a window is judged on and printed as.
std::chrono::milliseconds run_clock::scenario_ms(microseconds real) const {
  return milliseconds(std::llround(static_cast<double>(real.count()) / 1000.0 / time_scale));
}

}  // namespace rdp::scenarios::running
