// The state file of petrel campaign send: what one run records the next
// one reads, a line cut short by a crash is dropped, and a run with other
// inputs is refused the file. Also the idempotency keys.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/campaign_list.hpp"
#include "cli/campaign_state.hpp"

namespace petrel::cli {
namespace {

RunIdentity identity() {
  return {"api", "spring", "", "/lists/a.csv", 1234, std::string(64, 'a'), "msg.json", std::string(64, 'b'), 2, 5};
}

class CampaignState : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("petrel-state-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<RecipientResult> all(const StateFile& state) {
    std::vector<RecipientResult> out;
    state.for_each([&out](const RecipientResult& r) { out.push_back(r); });
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(CampaignState, what_one_run_records_the_next_one_reads) {
  {
    auto state = StateFile::open(path_, identity());
    EXPECT_FALSE(state->resumed());
    EXPECT_EQ(state->record(0, {{0, "a@x.test", RecipientStatus::accepted, "Q1", ""},
                                {1, "b@x.test", RecipientStatus::suppressed, "", "suppressed (manual)"}},
                            true),
              "");
    EXPECT_EQ(state->record(2, {{4, "e", RecipientStatus::invalid, "", "line 6: no @"},
                                {5, "f@x.test", RecipientStatus::deferred, "", "451 later"}},
                            true),
              "");
    EXPECT_TRUE(state->done(0) && state->done(1) && state->done(4));
    EXPECT_FALSE(state->done(5));  // deferred is not done
  }
  auto again = StateFile::open(path_, identity());
  EXPECT_TRUE(again->resumed());
  EXPECT_TRUE(again->done(0) && again->done(1) && again->done(4));
  EXPECT_FALSE(again->done(2) || again->done(3) || again->done(5));
  EXPECT_EQ(again->earlier().accepted, 1u);
  EXPECT_EQ(again->earlier().suppressed, 1u);
  EXPECT_EQ(again->earlier().invalid, 1u);
  const auto results = all(*again);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].queue_id, "Q1");
  EXPECT_EQ(results[1].reason, "suppressed (manual)");
  EXPECT_EQ(results[2].row, 4u);
}

TEST_F(CampaignState, a_line_cut_short_by_a_crash_is_dropped_and_appending_goes_on) {
  {
    auto state = StateFile::open(path_, identity());
    state->record(0, {{0, "a@x.test", RecipientStatus::accepted, "Q1", ""}}, true);
  }
  {
    std::ofstream out(path_, std::ios::app);
    out << R"({"batch":1,"results":[{"row":2,"email":"c@x.te)";
  }
  {
    auto state = StateFile::open(path_, identity());
    EXPECT_FALSE(state->done(2));
    state->record(1, {{2, "c@x.test", RecipientStatus::accepted, "Q3", ""}}, true);
  }
  auto state = StateFile::open(path_, identity());
  EXPECT_TRUE(state->done(0) && state->done(2));
  EXPECT_EQ(all(*state).size(), 2u);
}

TEST_F(CampaignState, a_run_with_other_inputs_is_refused) {
  StateFile::open(path_, identity());
  const auto refused = [this](RunIdentity other, const char* words) {
    try {
      StateFile::open(path_, other);
      ADD_FAILURE() << "accepted " << words;
    } catch (const CampaignInputError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  RunIdentity other = identity();
  other.list_sha256 = std::string(64, 'c');
  refused(other, "the recipient list is not the same");
  other = identity();
  other.template_sha256 = std::string(64, 'c');
  refused(other, "the template is not the same");
  other = identity();
  other.campaign = "autumn";
  refused(other, "campaign 'spring'");
  other = identity();
  other.batch_size = 3;
  refused(other, "--batch 2");
  other = identity();
  other.list_path = "/elsewhere/a.csv";  // the same list, moved: fine
  EXPECT_NO_THROW(StateFile::open(path_, other));
}

TEST_F(CampaignState, one_run_at_a_time) {
  auto first = StateFile::open(path_, identity());
  EXPECT_THROW(StateFile::open(path_, identity()), CampaignInputError);
}

TEST_F(CampaignState, not_a_state_file_is_refused) {
  std::ofstream(path_) << "email,name\n";
  EXPECT_THROW(StateFile::open(path_, identity()), CampaignInputError);
}

TEST_F(CampaignState, a_temporary_state_works_the_same) {
  auto state = StateFile::temporary(identity());
  state->record(0, {{1, "b@x.test", RecipientStatus::rejected, "", "550 no"}}, false);
  EXPECT_TRUE(state->done(1));
  EXPECT_EQ(all(*state).size(), 1u);
}

TEST(CampaignKeys, the_same_run_and_batch_have_the_same_key) {
  const RunIdentity a = identity();
  EXPECT_EQ(a.fingerprint().size(), 12u);
  EXPECT_EQ(idempotency_key("spring", a.fingerprint(), 7), "spring-" + a.fingerprint() + "-7");
  RunIdentity moved = a;
  moved.list_path = "/other/place.csv";
  moved.rows = 99;
  EXPECT_EQ(moved.fingerprint(), a.fingerprint());  // where the list is does not change what is in a batch
  for (auto change : {+[](RunIdentity& r) { r.list_sha256 = std::string(64, 'd'); },
                      +[](RunIdentity& r) { r.template_sha256 = std::string(64, 'd'); },
                      +[](RunIdentity& r) { r.batch_size = 500; }, +[](RunIdentity& r) { r.tenant = "shop1"; }}) {
    RunIdentity other = a;
    change(other);
    EXPECT_NE(other.fingerprint(), a.fingerprint());
  }
}

}  // namespace
}  // namespace petrel::cli
