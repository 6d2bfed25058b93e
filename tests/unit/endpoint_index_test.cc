#include "core/endpoint_index.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hookd {
namespace {

namespace json = boost::json;

Endpoint WithFilter(const CompanyId& company, const std::string& filter) {
  Endpoint ep;
  ep.id = EndpointId::New();
  ep.company_id = company;
  ep.url = "https://example.com/h";
  ep.event_types = {"*"};
  ep.filter = filter.empty() ? json::value(nullptr) : json::parse(filter);
  return ep;
}

json::value Payload(const std::string& title) {
  return json::object{{"type", "employee.hired"},
                      {"data", json::object{{"employee", json::object{{"job_title", title}}}}}};
}

TEST(EndpointIndexTest, OnlyChangedFiltersAreCompiledAgain) {
  EndpointIndex index;
  const CompanyId co = CompanyId::New();
  std::vector<Endpoint> eps = {WithFilter(co, R"({"data.employee.job_title": {"$regex": "^Eng"}})"),
                               WithFilter(co, R"({"data.employee.job_title": {"$regex": "Sales$"}})"),
                               WithFilter(co, "")};
  index.ReplaceCompany(co, eps);
  EXPECT_EQ(index.FilterCompiles(), 2u);
  EXPECT_EQ(index.Match(co, "employee.hired", Payload("Engineer")).size(), 2u);  // first + no filter

  // One endpoint edited, one added: two compiles, not four.
  eps[1].filter = json::parse(R"({"data.employee.job_title": {"$regex": "^Eng"}})");
  eps.push_back(WithFilter(co, R"({"type": "employee.hired"})"));
  index.ReplaceCompany(co, eps);
  EXPECT_EQ(index.FilterCompiles(), 4u);
  EXPECT_EQ(index.Match(co, "employee.hired", Payload("Engineer")).size(), 4u);
  EXPECT_EQ(index.Match(co, "employee.hired", Payload("Sales")).size(), 2u);

  // A rebuild of the whole index over the same endpoints reuses every compiled filter.
  index.ReplaceAll(eps);
  EXPECT_EQ(index.FilterCompiles(), 4u);
}

TEST(EndpointIndexTest, CompanyRegexUseLeavesOutTheEndpointBeingEdited) {
  EndpointIndex index;
  const CompanyId co = CompanyId::New(), other = CompanyId::New();
  std::vector<Endpoint> eps = {WithFilter(co, R"({"$or": [{"data.a": {"$regex": "x"}}, {"data.b": {"$regex": "y"}}]})"),
                               WithFilter(co, R"({"data.a": {"$regex": "z"}})"),
                               WithFilter(other, R"({"data.a": {"$regex": "w"}})")};
  index.ReplaceAll(eps);
  EXPECT_EQ(index.CompanyRegexUse(co, std::nullopt).count, 3);
  EXPECT_GT(index.CompanyRegexUse(co, std::nullopt).program_size, 0);
  EXPECT_EQ(index.CompanyRegexUse(co, eps[0].id).count, 1);
  EXPECT_EQ(index.CompanyRegexUse(other, std::nullopt).count, 1);
  EXPECT_EQ(index.CompanyRegexUse(CompanyId::New(), std::nullopt).count, 0);
}

}  // namespace
}  // namespace hookd
