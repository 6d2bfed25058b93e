#pragma once
// `hookd listen`: a receiver on the developer's own machine. It accepts webhook deliveries,
// checks each signature with the endpoint's secret (the same check as `hookd verify`), prints
// one line per delivery and its body, and answers with a chosen status — so that a first
// endpoint can be tried without writing a receiver, and a receiver's failures (500, 410, 429
// with Retry-After, slow answers) can be staged to watch hookd's retries.
//
// Plain HTTP/1.1 on a local address (hookd must be allowed to deliver there: serve with
// --allow-http and --allow-destination 127.0.0.1/32). One connection at a time, keep-alive.

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace hookd {

struct ListenFlags {
  std::string listen = "127.0.0.1:9000";  // host:port (port 0: any free one, printed)
  std::string secret;                     // --secret or $HOOKD_VERIFY_SECRET; "": not checked
  int status = 204;                       // the answer to every delivery
  std::string retry_after;                // sent with the answer when set (e.g. 429 + "30")
  std::string delay = "0s";               // wait this long before answering
  int64_t count = 0;                      // exit after this many deliveries (0: never)
  bool quiet = false;                     // the summary line only, no body
};

void AddListenFlags(CLI::App& listen, ListenFlags& flags);

// Runs the receiver until SIGINT/SIGTERM or --count deliveries. Prints
// "listening on http://HOST:PORT" first. Returns the exit code: 0; 1 when it cannot listen or
// when a delivery's signature did not verify (the others were still answered as asked);
// 2 on bad flags.
int RunListen(const ListenFlags& flags);

}  // namespace hookd
