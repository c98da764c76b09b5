// net::read_regular_file and net::write_report_file (common/include/rdp/net/local_file.hpp) against what a hostile
// or careless local name can be: a device, a FIFO, a file larger than the cap, a symlink planted at the name the old
// writer used for its temporary, a directory that takes no new file.
#include "rdp/net/local_file.hpp"

#include "unprivileged.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using rdp::test::scratch_dir;

std::string content_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ---- reading ------------------------------------------------------------------------------------------------------

TEST(ReadRegularFile, ReadsARegularFileWhole) {
  scratch_dir d;
  put(d.path / "p.yaml", "name: x\n");
  std::string why;
  const auto text = rdp::net::read_regular_file((d.path / "p.yaml").string(), 100, "a profile", why);
  ASSERT_TRUE(text) << why;
  EXPECT_EQ(*text, "name: x\n");
}

TEST(ReadRegularFile, ADeviceIsRefusedWithoutReadingIt) {
  std::string why;
  EXPECT_FALSE(rdp::net::read_regular_file("/dev/zero", 1 << 20, "a profile", why));
  EXPECT_EQ(why, "not a regular file (a character device)");
}

// The old readers opened a FIFO for reading and waited for a writer forever; this one answers at once. (Run on a
// thread so that a regression fails by its bounded wait instead of hanging the suite.)
TEST(ReadRegularFile, AFifoIsRefusedAtOnce) {
  scratch_dir d;
  const auto fifo = d.path / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto answer = std::async(std::launch::async, [&] {
    std::string why;
    const bool read = rdp::net::read_regular_file(fifo.string(), 1024, "a profile", why).has_value();
    return std::make_pair(read, why);
  });
  if (answer.wait_for(10s) != std::future_status::ready) {
    // Unblock the reader so the test can end, then fail.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    FAIL() << "read_regular_file waited on a FIFO";
  }
  const auto [read, why] = answer.get();
  EXPECT_FALSE(read);
  EXPECT_EQ(why, "not a regular file (a FIFO)");
}

TEST(ReadRegularFile, AFileOverTheCapIsRefusedNamingTheCap) {
  scratch_dir d;
  put(d.path / "big", std::string(1025, 'x'));
  put(d.path / "exact", std::string(1024, 'x'));
  std::string why;
  EXPECT_FALSE(rdp::net::read_regular_file((d.path / "big").string(), 1024, "a certificate file", why));
  EXPECT_EQ(why, "larger than the 1024-byte limit for a certificate file");
  why.clear();
  const auto exact = rdp::net::read_regular_file((d.path / "exact").string(), 1024, "a certificate file", why);
  ASSERT_TRUE(exact) << why;
  EXPECT_EQ(exact->size(), 1024u);
}

// /proc files say size 0 and then deliver: the cap holds on what is read, not on what stat said.
TEST(ReadRegularFile, TheCapHoldsOnWhatIsReadNotOnTheSizeStatGave) {
  std::string why;
  const auto status = rdp::net::read_regular_file("/proc/self/status", 64, "a test file", why);
  EXPECT_FALSE(status);
  EXPECT_EQ(why, "larger than the 64-byte limit for a test file");
  why.clear();
  EXPECT_TRUE(rdp::net::read_regular_file("/proc/self/status", 1 << 20, "a test file", why)) << why;
}

TEST(ReadRegularFile, MissingFilesAndDirectoriesAreNamed) {
  scratch_dir d;
  std::string why;
  EXPECT_FALSE(rdp::net::read_regular_file((d.path / "none").string(), 10, "a profile", why));
  EXPECT_EQ(why, "no such file");
  EXPECT_FALSE(rdp::net::read_regular_file(d.path.string(), 10, "a profile", why));
  EXPECT_EQ(why, "not a regular file (a directory)");
}

// ---- writing ------------------------------------------------------------------------------------------------------

TEST(WriteReportFile, WritesANewFileAndReplacesAnOldOneKeepingItsMode) {
  scratch_dir d;
  const auto report = d.path / "report.xml";
  std::string why;
  ASSERT_TRUE(rdp::net::write_report_file(report.string(), "<first/>", why)) << why;
  EXPECT_EQ(content_of(report), "<first/>");
  fs::permissions(report, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(rdp::net::write_report_file(report.string(), "<second/>", why)) << why;
  EXPECT_EQ(content_of(report), "<second/>");
  EXPECT_EQ(fs::status(report).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  // Nothing else is left in the directory: the temporary was renamed, not copied.
  EXPECT_EQ(names_in(d.path), std::vector<std::string>{"report.xml"});
}

// The old writers wrote PATH.tmp with O_TRUNC, following a symlink someone had planted there.
TEST(WriteReportFile, ASymlinkPlantedAtTheTemporaryNameIsNeverWrittenThrough) {
  scratch_dir d;
  const auto victim = d.path / "victim";
  put(victim, "precious");
  const auto report = d.path / "report.json";
  fs::create_symlink(victim, d.path / "report.json.tmp");
  std::string why;
  ASSERT_TRUE(rdp::net::write_report_file(report.string(), "{}", why)) << why;
  EXPECT_EQ(content_of(victim), "precious");
  EXPECT_EQ(content_of(report), "{}");
  EXPECT_TRUE(fs::is_symlink(d.path / "report.json.tmp"));
  EXPECT_EQ(names_in(d.path), (std::vector<std::string>{"report.json", "report.json.tmp", "victim"}));
}

// A character device is written in place and stays a device. As root the test makes its own null device (mknod
// 1:3) so that a regression replaces a node in its scratch directory, not the machine's /dev/null.
TEST(WriteReportFile, ACharacterDeviceIsWrittenInPlaceAndStaysADevice) {
  scratch_dir d;
  fs::path device = "/dev/null";
  if (::geteuid() == 0) {
    device = d.path / "null";
    if (::mknod(device.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0)
      GTEST_SKIP() << "running as root, but mknod is not permitted here (no CAP_MKNOD): not risking /dev/null";
  }
  std::string why;
  ASSERT_TRUE(rdp::net::write_report_file(device.string(), "<testsuite/>", why)) << why;
  struct stat st {};
  ASSERT_EQ(::stat(device.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << device << " is no longer a character device";
}

TEST(WriteReportFile, AFifoWithAReaderIsWrittenInPlace) {
  scratch_dir d;
  const auto fifo = d.path / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // The reader opens without blocking, so it is there before the writer looks for one.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  std::string why;
  ASSERT_TRUE(rdp::net::write_report_file(fifo.string(), "{\"ok\":true}", why)) << why;
  char buf[64]{};
  const auto n = ::read(reader, buf, sizeof buf);
  ::close(reader);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "{\"ok\":true}");
  EXPECT_TRUE(fs::is_fifo(fifo));
}

TEST(WriteReportFile, AFifoWithoutAReaderIsAnErrorNotAWait) {
  scratch_dir d;
  const auto fifo = d.path / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto answer = std::async(std::launch::async, [&] {
    std::string why;
    const bool ok = rdp::net::write_report_file(fifo.string(), "x", why);
    return std::make_pair(ok, why);
  });
  if (answer.wait_for(10s) != std::future_status::ready) {
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // lets the writer go on, then fails
    std::this_thread::sleep_for(100ms);
    if (fd >= 0) ::close(fd);
    FAIL() << "write_report_file waited for a FIFO's reader";
  }
  const auto [ok, why] = answer.get();
  EXPECT_FALSE(ok);
  EXPECT_NE(why.find("a FIFO that nobody reads"), std::string::npos) << why;
  EXPECT_TRUE(fs::is_fifo(fifo));
}

TEST(WriteReportFile, ADirectoryAtThePathIsAnError) {
  scratch_dir d;
  fs::create_directory(d.path / "out");
  std::string why;
  EXPECT_FALSE(rdp::net::write_report_file((d.path / "out").string(), "x", why));
  EXPECT_NE(why.find("a directory"), std::string::npos) << why;
  EXPECT_TRUE(fs::is_directory(d.path / "out"));
}

// A directory that takes no new file: the report is an error naming the directory, and no file appears. Root is
// not bound by the mode bits, so as root the write runs in a child that has become `nobody`.
TEST(WriteReportFile, AReadOnlyDirectoryIsAnErrorNamingIt) {
  scratch_dir d;
  const auto locked = d.path / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const auto report = (locked / "report.xml").string();
  const auto run = rdp::test::run_unprivileged([&] {
    std::string why;
    return rdp::net::write_report_file(report, "<x/>", why) ? std::string("written") : why;
  });
  ASSERT_TRUE(run.ran) << run.text;
  const auto& why = run.text;
  EXPECT_NE(why, "written") << "the write succeeded in a read-only directory";
  EXPECT_NE(why.find("cannot create a file in '" + locked.string() + "'"), std::string::npos) << why;
  EXPECT_NE(why.find("Permission denied"), std::string::npos) << why;
  EXPECT_TRUE(names_in(locked).empty());
}

}  // namespace
