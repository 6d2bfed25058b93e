// GET /openapi.json: the OpenAPI 3.1 description (src/api/openapi.json, embedded).
#include "api/context.h"
#include "core/embedded.h"

namespace hookd::api {

void AddOpenApiRoutes(Router& r, ApiContext&) {
  std::string doc;
  for (const auto& f : api_files())
    if (f.path == "openapi.json") doc = std::string(f.data);
  r.Add("GET", "/openapi.json", [doc](Call&) { return JsonResponse(200, doc); });
}

}  // namespace hookd::api
