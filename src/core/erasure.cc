#include "core/erasure.h"

#include "core/crypto.h"

namespace hookd {

std::string_view ToString(ErasureStatus s) {
  return s == ErasureStatus::kCompleted ? "completed" : "running";
}

std::string SubjectHash(std::string_view key, const CompanyId& company, std::string_view subject) {
  std::string msg = company.str();
  msg += '\n';  // ids never hold a newline: (company, subject) pairs cannot collide
  msg += subject;
  return HexEncode(HmacSha256(key, msg));
}

}  // namespace hookd
