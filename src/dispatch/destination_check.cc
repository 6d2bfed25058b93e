#include "dispatch/destination_check.h"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/url/parse.hpp>

namespace hookd {

std::optional<std::string> CheckDestinationUrl(const DestinationPolicy& policy, std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;  // the URL checks report it
  std::string host(parsed->encoded_host());
  if (auto ip = ParseIpLiteral(host)) {
    if (auto why = policy.WhyBlocked(*ip)) return "destination is not allowed: " + *why;
    return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return std::nullopt;
  std::optional<std::string> blocked;
  for (addrinfo* a = res; a && !blocked; a = a->ai_next) {
    if (auto ip = IpAddress::FromSockaddr(a->ai_addr))
      if (auto why = policy.WhyBlocked(*ip)) blocked = "destination is not allowed: " + host + " resolves to " + *why;
  }
  freeaddrinfo(res);
  return blocked;
}

}  // namespace hookd
