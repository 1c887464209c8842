// Package sandbox is an in-memory stand-in for the part of Plivo's Number API
// that plivo-bulk uses. It serves the update, read and list calls on numbers
// and the account, application and subaccount reads, over the real HTTP
// handler, with Basic auth, Plivo's documented rate limit, a fail rate and
// latency: what a rehearsal needs. It backs `plivo-bulk run --sandbox`, the
// standalone `plivo-bulk sandbox` server and the project's tests and
// benchmarks. Faults that only tests need (dropped connections, stalls,
// garbage answers, failures after applying, other limiter shapes) are
// served by handlers in front of it, in the tests and in bench/.
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
//     refused requests do not count. It is a token bucket of RateLimit
//     that refills at RateLimit per RateWindow and starts full: Plivo
//     documents 300 requests per 5 seconds with bursts inside the window,
//     not how it counts them. A 429 carries no Retry-After header, since
//     Plivo documents none.
//   - Latency and the fail rate touch only the number endpoints (a number's
//     GET and POST, and the number list), never the account, application or
//     subaccount reads, so that a client's credentials check stays reliable.
//   - An injected failure applies nothing. It answers 500 in Plivo's JSON
//     error shape, or 502 or 503 as an HTML page, as a proxy in front of the
//     API would.
package sandbox
