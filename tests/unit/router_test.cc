#include "api/router.h"

#include <gtest/gtest.h>

#include "api/problem.h"

namespace hookd::api {
namespace {

HttpRequest Req(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// An async handler that answered and then threw: the server gets one answer, the handler's.
TEST(RouterTest, AnAsyncHandlerThatAnsweredAndThenThrewIsAnsweredOnce) {
  Router router;
  router.AddAsync("POST", "/x", [](Call&, Responder respond) {
    respond(JsonResponse(202, "{}"));
    throw ApiError(422, "too late");
  });
  std::vector<int> answers;
  router.Handle(Req("POST", "/x"), [&](HttpResponse r) { answers.push_back(r.status); });
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0], 202);
}

TEST(RouterTest, WhatAHandlerThrowsBecomesAProblem) {
  Router router;
  router.Add("GET", "/a/{id}", [](Call& c) -> HttpResponse { throw ApiError(404, std::string(c.Param("id"))); });
  router.AddAsync("GET", "/b", [](Call&, Responder) { throw std::runtime_error("boom"); });
  std::vector<HttpResponse> answers;
  auto collect = [&](HttpResponse r) { answers.push_back(std::move(r)); };
  router.Handle(Req("GET", "/a/ep_1"), collect);
  router.Handle(Req("GET", "/b"), collect);
  router.Handle(Req("DELETE", "/b"), collect);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].status, 404);
  EXPECT_NE(answers[0].body.find("ep_1"), std::string::npos);
  EXPECT_EQ(answers[1].status, 500);
  EXPECT_EQ(answers[1].body.find("boom"), std::string::npos) << "internal errors are not shown";
  EXPECT_EQ(answers[2].status, 405);
}

}  // namespace
}  // namespace hookd::api
