// The embedded OpenAPI document (src/api/openapi.json) against the real router: every
// registered route is documented with the same path template and method, nothing else is,
// and the document hangs together (operation ids, responses, $refs, path parameters).
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/auth.h"
#include "api/context.h"
#include "api/router.h"
#include "core/embedded.h"
#include "core/endpoint_index.h"
#include "core/event_catalog.h"
#include "core/ids.h"
#include "core/json_util.h"
#include "store/store.h"

namespace hookd {
namespace {

namespace json = boost::json;

constexpr std::string_view kHttpMethods[] = {"get", "put", "post", "delete",
                                             "options", "head", "patch", "trace"};

bool IsHttpMethod(std::string_view key) {
  for (auto m : kHttpMethods)
    if (key == m) return true;
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view EmbeddedDocument() {
  for (const auto& f : api_files())
    if (f.path == "openapi.json") return f.data;
  return {};
}

// Every "$ref" string in `v`, with where it was found.
void CollectRefs(const json::value& v, const std::string& at,
                 std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.get_object()) {
      std::string here = at + "/" + EscapePointerToken(k);
      if (k == "$ref" && child.is_string()) out.emplace_back(here, std::string(child.get_string()));
      else CollectRefs(child, here, out);
    }
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    for (size_t i = 0; i < arr.size(); ++i) CollectRefs(arr[i], at + "/" + std::to_string(i), out);
  }
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hookd-openapi-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    auto s = OpenStore("sqlite:" + (dir_ / "hookd.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto migrated = store_->Migrate();
    ASSERT_TRUE(migrated) << migrated.error().message;
    auth_ = std::make_unique<api::Authenticator>(*store_);
    ctx_ = std::make_unique<api::ApiContext>(api::ApiContext{*store_, catalog_, index_, *auth_, changes_});
    api::AddAllRoutes(router_, *ctx_);

    std::string_view text = EmbeddedDocument();
    ASSERT_FALSE(text.empty()) << "openapi.json is not embedded";
    boost::system::error_code ec;
    doc_ = json::parse(text, ec);
    ASSERT_FALSE(ec) << "openapi.json is not valid JSON: " << ec.message();
    ASSERT_TRUE(doc_.is_object());
    auto* paths = doc_.get_object().if_contains("paths");
    ASSERT_TRUE(paths && paths->is_object()) << "no paths object";
    paths_ = &paths->get_object();
  }

  void TearDown() override {
    ctx_.reset();
    auth_.reset();
    if (store_) store_->Close();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // (lower-case method, pattern) of every registered route.
  std::set<std::pair<std::string, std::string>> RouterRoutes() const {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& [m, p] : router_.Routes()) out.emplace(Lower(m), p);
    return out;
  }

  // (method, path) of every operation in the document.
  std::set<std::pair<std::string, std::string>> DocumentedRoutes() const {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& [path, item] : *paths_) {
      if (!item.is_object()) continue;
      for (const auto& [key, _] : item.get_object())
        if (IsHttpMethod(key)) out.emplace(std::string(key), std::string(path));
    }
    return out;
  }

  // Follows a local "$ref" (one level is all the document uses for parameters).
  const json::value& Deref(const json::value& v) const {
    if (v.is_object()) {
      if (auto* r = v.get_object().if_contains("$ref"); r && r->is_string()) {
        std::string_view ref = r->get_string();
        if (ref.starts_with("#")) {
          if (const json::value* target = ResolvePointer(doc_, ref.substr(1))) return *target;
        }
      }
    }
    return v;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  EventCatalog catalog_;
  EndpointIndex index_;
  LocalChangeFeed changes_;
  std::unique_ptr<api::Authenticator> auth_;
  std::unique_ptr<api::ApiContext> ctx_;
  api::Router router_;
  json::value doc_;
  const json::object* paths_ = nullptr;
};

TEST_F(OpenApiTest, IsOpenApi31WithInfo) {
  const auto& o = doc_.get_object();
  ASSERT_TRUE(o.contains("openapi") && o.at("openapi").is_string());
  EXPECT_TRUE(std::string_view(o.at("openapi").get_string()).starts_with("3.1"))
      << o.at("openapi").get_string();
  ASSERT_TRUE(o.contains("info") && o.at("info").is_object());
  EXPECT_TRUE(o.at("info").get_object().contains("title"));
  EXPECT_TRUE(o.at("info").get_object().contains("version"));
}

TEST_F(OpenApiTest, EveryRouteIsDocumented) {
  const auto documented = DocumentedRoutes();
  const auto routes = RouterRoutes();
  ASSERT_FALSE(routes.empty());
  for (const auto& r : routes)
    EXPECT_TRUE(documented.contains(r)) << "route " << r.first << " " << r.second
                                        << " is missing from openapi.json";
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsARoute) {
  const auto routes = RouterRoutes();
  for (const auto& d : DocumentedRoutes())
    EXPECT_TRUE(routes.contains(d)) << "openapi.json documents " << d.first << " " << d.second
                                    << " but the router has no such route";
}

TEST_F(OpenApiTest, OperationsHaveUniqueIdsAndResponses) {
  std::set<std::string> ids;
  for (const auto& [path, item] : *paths_) {
    ASSERT_TRUE(item.is_object()) << path;
    for (const auto& [method, op] : item.get_object()) {
      if (!IsHttpMethod(method)) continue;
      const std::string where = std::string(method) + " " + std::string(path);
      ASSERT_TRUE(op.is_object()) << where;
      const auto& o = op.get_object();
      auto* id = o.if_contains("operationId");
      ASSERT_TRUE(id && id->is_string() && !id->get_string().empty()) << where << " has no operationId";
      EXPECT_TRUE(ids.insert(std::string(id->get_string())).second)
          << "operationId " << id->get_string() << " is used twice";
      auto* responses = o.if_contains("responses");
      ASSERT_TRUE(responses && responses->is_object()) << where << " has no responses";
      EXPECT_FALSE(responses->get_object().empty()) << where << " has no responses";
      for (const auto& [code, _] : responses->get_object())
        EXPECT_TRUE(code == "default" || std::regex_match(std::string(code), std::regex("[1-5][0-9X]{2}")))
            << where << " has a bad response key " << code;
    }
  }
}

TEST_F(OpenApiTest, EveryRefResolvesInsideTheDocument) {
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc_, "", refs);
  EXPECT_FALSE(refs.empty());
  for (const auto& [at, ref] : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << at << ": $ref " << ref << " is not local";
    EXPECT_NE(ResolvePointer(doc_, std::string_view(ref).substr(1)), nullptr)
        << at << ": $ref " << ref << " does not resolve";
  }
}

TEST_F(OpenApiTest, PathParametersAreDeclared) {
  const std::regex param(R"(\{([^}]+)\})");
  for (const auto& [path, item] : *paths_) {
    std::set<std::string> in_template;
    const std::string p(path);
    for (std::sregex_iterator it(p.begin(), p.end(), param), end; it != end; ++it)
      in_template.insert((*it)[1].str());
    for (const auto& [method, op] : item.get_object()) {
      if (!IsHttpMethod(method)) continue;
      std::set<std::string> declared;
      for (const json::value* holder : {&item, &op}) {
        auto* params = holder->get_object().if_contains("parameters");
        if (!params) continue;
        for (const auto& pv : params->get_array()) {
          const auto& param_obj = Deref(pv).get_object();
          if (param_obj.at("in").get_string() == "path") {
            EXPECT_TRUE(param_obj.contains("required") && param_obj.at("required").as_bool())
                << method << " " << path << ": path parameter must be required";
            declared.insert(std::string(param_obj.at("name").get_string()));
          }
        }
      }
      EXPECT_EQ(declared, in_template) << method << " " << path;
    }
  }
}

TEST_F(OpenApiTest, BearerAuthExceptHealthAndDocument) {
  const auto& o = doc_.get_object();
  const auto& scheme = o.at("components").at("securitySchemes").at("bearer").get_object();
  EXPECT_EQ(scheme.at("type"), "http");
  EXPECT_EQ(scheme.at("scheme"), "bearer");
  ASSERT_TRUE(o.contains("security"));
  EXPECT_EQ(o.at("security"), json::parse(R"([{"bearer":[]}])"));
  const std::set<std::string> open = {"/healthz", "/readyz", "/metrics", "/openapi.json",
                                       "/", "/assets/{file}"};  // the panel asks for a token itself
  for (const auto& [path, item] : *paths_) {
    for (const auto& [method, op] : item.get_object()) {
      if (!IsHttpMethod(method)) continue;
      auto* security = op.get_object().if_contains("security");
      if (open.contains(std::string(path))) {
        ASSERT_TRUE(security) << path << " must declare security: []";
        EXPECT_TRUE(security->is_array() && security->get_array().empty()) << path;
      } else {
        EXPECT_TRUE(!security || *security == o.at("security"))
            << method << " " << path << " must use the bearer scheme";
        EXPECT_TRUE(op.get_object().at("responses").get_object().contains("401"))
            << method << " " << path << " needs a token, so it should document 401";
      }
    }
  }
}

TEST_F(OpenApiTest, ProblemResponsesUseProblemJson) {
  for (const auto& [path, item] : *paths_) {
    if (path == "/readyz") continue;  // its 503 is plain JSON {status, detail}
    for (const auto& [method, op] : item.get_object()) {
      if (!IsHttpMethod(method)) continue;
      for (const auto& [code, resp] : op.get_object().at("responses").get_object()) {
        if (code.size() != 3 || (code[0] != '4' && code[0] != '5')) continue;
        const auto& r = Deref(resp).get_object();
        ASSERT_TRUE(r.contains("content")) << method << " " << path << " " << code;
        EXPECT_TRUE(r.at("content").get_object().contains("application/problem+json"))
            << method << " " << path << " " << code;
      }
    }
  }
}

TEST_F(OpenApiTest, ServedAtOpenApiJsonWithoutToken) {
  api::HttpRequest req;
  req.method = "GET";
  req.path = "/openapi.json";
  std::optional<api::HttpResponse> got;
  router_.Handle(std::move(req), [&got](api::HttpResponse r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value()) << "the handler did not respond";
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->content_type, "application/json");
  boost::system::error_code ec;
  json::value served = json::parse(got->body, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(served, doc_);
}

}  // namespace
}  // namespace hookd
