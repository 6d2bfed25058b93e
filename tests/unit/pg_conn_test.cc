// pg::Conn's pipelining (store/postgres/pg_conn.h) on the tests' PostgreSQL server: what a
// group commit relies on when it queues its BEGIN, INSERTs and pg_notify for the COMMIT's
// round trip.
#include <gtest/gtest.h>

#include "store/postgres/pg_conn.h"
#include "support/pg_server.h"

namespace hookd::pg {
namespace {

class PgConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Conn::Open(hookd::testing::NewPostgresDatabaseUrl(), "pg_conn_test");
    ASSERT_TRUE(c) << c.error().message;
    db_ = std::move(*c);
    ASSERT_TRUE(db_->ExecScript("CREATE TABLE t(id integer PRIMARY KEY)"));
    db_->SetPipelining(true);
  }
  int64_t Count() {
    auto r = db_->Exec("SELECT count(*) FROM t");
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->Int(0, 0) : -1;
  }
  static constexpr const char* kInsert = "INSERT INTO t(id) VALUES ($1::integer)";
  std::unique_ptr<Conn> db_;
};

TEST_F(PgConnTest, QueuedStatementsRunInOrderWithTheNextStatementWhoseResultIsRead) {
  ASSERT_TRUE(db_->Send("BEGIN"));
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(1)));
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(2)));
  EXPECT_TRUE(db_->Queued());  // nothing has waited for the server yet
  EXPECT_EQ(db_->total_changes(), 0);
  EXPECT_EQ(Count(), 2);  // sent with the queue, after it
  EXPECT_FALSE(db_->Queued());
  EXPECT_EQ(db_->total_changes(), 2);
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(3)));
  auto c = db_->Commit();  // the queue and COMMIT together
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(db_->InTransaction());
  EXPECT_EQ(db_->total_changes(), 3);
  db_->SetPipelining(false);
  EXPECT_EQ(Count(), 3);
}

TEST_F(PgConnTest, AQueuedStatementsErrorIsTheCommitsAndLeavesTheTransactionToRollBack) {
  ASSERT_TRUE(db_->Send("BEGIN"));
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(1)));
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(1)));  // a duplicate: fails at the server
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(2)));  // skipped
  auto c = db_->Commit();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kAlreadyExists) << c.error().message;
  // COMMIT was skipped with the rest: the writer tells this from a failed COMMIT by the
  // transaction still being open, and rolls back.
  EXPECT_TRUE(db_->TransactionFailed());
  ASSERT_TRUE(db_->ExecScript("ROLLBACK"));
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(db_->total_changes(), 1);  // the first INSERT ran (then was rolled back)
}

TEST_F(PgConnTest, AStatementWhosePrepareWasSkippedOrFailedIsPreparedAgainNextTime) {
  static constexpr const char* kBad = "SELEC 1";
  static constexpr const char* kOther = "INSERT INTO t(id) VALUES ($1::integer + 100)";
  ASSERT_TRUE(db_->Send("BEGIN"));
  ASSERT_TRUE(db_->Send(kBad));  // its PREPARE fails
  ASSERT_TRUE(db_->Send(kOther, Params().Int(1)));  // its PREPARE is skipped
  auto s = db_->Sync();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("SELEC"), std::string::npos) << s.error().message;
  ASSERT_TRUE(db_->ExecScript("ROLLBACK"));
  // Both are prepared again, not run under a name the server never took.
  ASSERT_TRUE(db_->Send(kOther, Params().Int(2)));
  auto r = db_->Sync();
  EXPECT_TRUE(r) << r.error().message;
  auto again = db_->Exec(kBad);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("syntax error"), std::string::npos) << again.error().message;
  EXPECT_EQ(Count(), 1);
}

TEST_F(PgConnTest, WithoutPipeliningSendWaitsForItsStatement) {
  db_->SetPipelining(false);
  ASSERT_TRUE(db_->Send(kInsert, Params().Int(1)));
  EXPECT_FALSE(db_->Queued());
  EXPECT_EQ(db_->total_changes(), 1);
  auto dup = db_->Send(kInsert, Params().Int(1));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(PgConnTest, ASentStatementsRowsReachItsCallbackWhenTheQueueIsRead) {
  static constexpr const char* kInserted = "INSERT INTO t(id) VALUES ($1::integer) RETURNING id * 10";
  std::vector<int64_t> seen;
  auto keep = [&seen](const Rows& r) {
    for (int i = 0; i < r.size(); ++i) seen.push_back(r.Int(i, 0));
  };
  ASSERT_TRUE(db_->Send("BEGIN"));
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(1), keep));
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(2), keep));
  EXPECT_TRUE(seen.empty());  // not read yet
  auto c = db_->Commit();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(seen, (std::vector<int64_t>{10, 20}));

  // A statement that failed, and one skipped after it, call nothing.
  seen.clear();
  ASSERT_TRUE(db_->Send("BEGIN"));
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(3), keep));
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(1), keep));  // a duplicate
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(4), keep));  // skipped
  ASSERT_FALSE(db_->Commit());
  ASSERT_TRUE(db_->ExecScript("ROLLBACK"));
  EXPECT_EQ(seen, (std::vector<int64_t>{30}));  // ran, then rolled back: the caller's to know

  // Without pipelining, at once.
  seen.clear();
  db_->SetPipelining(false);
  ASSERT_TRUE(db_->Send(kInserted, Params().Int(5), keep));
  EXPECT_EQ(seen, (std::vector<int64_t>{50}));
  EXPECT_FALSE(db_->Send(kInserted, Params().Int(5), keep));
  EXPECT_EQ(seen, (std::vector<int64_t>{50}));
}

}  // namespace
}  // namespace hookd::pg
