// Package sandbox is an in-memory stand-in for the part of Plivo's Number API
// that plivo-bulk uses. It serves the update, read and list calls on numbers
// and the account, application and subaccount reads, over the real HTTP
// handler, with Basic auth, a per-account rate limit and injectable faults
// (errors, dropped connections, stalls, garbage answers, latency). It backs
// `plivo-bulk run --sandbox`, the standalone `plivo-bulk sandbox` server and
// the project's end-to-end tests and benchmarks.
//
// # Strict choices
//
// Where Plivo's behaviour is undocumented or uncertain, the sandbox takes the
// stricter reading, so that a client that copes with the sandbox should cope
// with Plivo:
//
//   - Every path must end with a slash; without one the answer is 404, not a
//     redirect.
//   - Every request needs HTTP Basic auth, unknown paths included; a 401 body
//     has no api_id. The {auth_id} in the path must be the authenticated
//     account, else 401.
//   - A POST body must be exactly one JSON object, sent with Content-Type
//     application/json, at most 64 KiB (else 413). Unknown keys, duplicate
//     keys, non-string values and trailing data are 400.
//   - A JSON null value is answered 202 "changed" and changes nothing, the
//     silent no-op seen on Plivo. With DefaultAppOnMissing, "app_id": null
//     counts as present, so it does not assign the default application either.
//   - An update is all or nothing: every field is checked before any is
//     applied.
//   - "subaccount": "" is 400: Plivo documents no way to move a number back to
//     the main account with this call, and the main account's own auth_id is
//     not a subaccount either. When the sandbox's own AuthID is a subaccount's
//     ("SA…"), any subaccount value is 403: only the main account may move
//     numbers.
//   - compliance_application_id is 400 unless the number's compliance status
//     is "pending" or "rejected", even when the value would not change.
//   - "alias": "" clears the alias (undocumented on Plivo).
//   - A GET answers null, not "", for an unset alias, application,
//     subaccount or compliance application.
//   - The list takes limit (1 to 20, default 20), offset (0 or more) and
//     three of Plivo's filters: number_startswith (one or more digits),
//     subaccount (a subaccount of this account) and alias (exact match, not
//     empty). Anything else, a parameter given twice included, is 400: the
//     sandbox implements no other filter and must not pretend to. The
//     numbers come sorted by number; total_count counts those that match,
//     and next and previous are paths that keep the filters, or null at the
//     ends.
//   - A list object has the single read's fields but for api_id, with one
//     difference, which Plivo's recorded answers show: sub_account is the
//     plain auth_id ("SA…") in the list and the subaccount's URI in the
//     single read.
//   - Only the methods listed are allowed (no HEAD, no OPTIONS): else 405.
//   - The rate limit counts every authenticated request on the account,
//     reads, lists and errors included, as Plivo's limit covers every API;
//     refused requests do not count. A Retry-After header is sent unless
//     NoRetryAfter is set; Plivo documents none, so clients must cope
//     without it.
//
// # Rate limit
//
// Plivo documents "300 API requests per 5 seconds" but not the shape of its
// limiter, and the account shares that budget with its other traffic. So the
// sandbox's limit is N requests per window W (Config.RateLimit and
// RateWindow; `--rate-limit 300/5s`, a bare number being per second) in one
// of three shapes (Config.Limiter, `--limiter`):
//
//   - bucket (the default): a token bucket that refills at N/W and holds N
//     tokens, starting full. A burst of N passes at once, then N/W
//     steadily. Holding one window's worth lets the documented 300 pass at
//     once, and keeps a bare `--rate-limit 60` what it always was: 60/s in
//     bursts of 60. From full, up to 2N can pass in the first W.
//   - fixed: N requests in each window of W aligned on the Unix epoch; the
//     count resets at the edge, so up to 2N can pass close to an edge.
//   - sliding: at most N requests in any W, kept as an exact log of the
//     times admitted.
//
// Limit dips (Config.LimitDips, `--limit-dip AFTER:FOR:FACTOR`) stand in for
// the other traffic: AFTER from the account's first request, the limit is
// multiplied by FACTOR for FOR, then comes back; `20s:10s:0.5` halves it for
// 10 seconds. For the bucket a dip scales the refill and the bucket's size
// (the tokens above the new size are lost); for the windowed shapes it
// scales N, rounded down, from that moment, mid-window included. Timing
// dips from the first request rather than from the start of the server
// makes them hit a run however long the server waited for it.
//
// Retry-After, when sent, is the limiter's own reckoning: the whole seconds,
// rounded up and at least 1, until a request would pass if no other came
// first, dips included. Config.Now replaces the clock, so that tests can
// drive every shape on a fake one.
//   - Latency and faults touch only the number endpoints (a number's GET and
//     POST, and the number list), never the account, application or
//     subaccount reads, so that a client's credentials check stays reliable.
//   - Injected 500s answer Plivo's JSON error shape; injected 502s and 503s
//     answer an HTML page, as a proxy in front of the API would.
//   - Dropped, stalled, failed and garbage-answered requests are not applied;
//     only FailAfterApplyRate applies a change and then reports a failure, so
//     that a client learns nothing from a failure about whether it applied.
package sandbox
