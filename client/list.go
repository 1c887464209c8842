package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// MaxPageSize is the most numbers one page of the number list can hold:
// Plivo refuses a larger limit.
const MaxPageSize = 20

// ErrBadListParams is returned, wrapped, for ListParams that Plivo would
// refuse; no request is sent.
var ErrBadListParams = errors.New("invalid list parameters")

// ListParams selects one page of the account's numbers.
type ListParams struct {
	// Limit is the page size, 1 to MaxPageSize; 0 means MaxPageSize.
	Limit int
	// Offset is how many matching numbers to skip, 0 or more.
	Offset int
	// NumberStartsWith keeps the numbers that begin with these digits
	// (Plivo's number_startswith).
	NumberStartsWith string
	// Subaccount keeps the numbers of the subaccount with this auth_id.
	Subaccount string
	// Alias keeps the numbers whose alias is exactly this.
	Alias string
}

// query checks p and returns its query string.
func (p ListParams) query() (string, error) {
	limit := p.Limit
	if limit == 0 {
		limit = MaxPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return "", fmt.Errorf("%w: limit %d: want 1 to %d (0 for %[3]d)", ErrBadListParams, p.Limit, MaxPageSize)
	}
	if p.Offset < 0 {
		return "", fmt.Errorf("%w: offset %d: want 0 or more", ErrBadListParams, p.Offset)
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(p.Offset))
	if p.NumberStartsWith != "" {
		q.Set("number_startswith", p.NumberStartsWith)
	}
	if p.Subaccount != "" {
		q.Set("subaccount", p.Subaccount)
	}
	if p.Alias != "" {
		q.Set("alias", p.Alias)
	}
	return q.Encode(), nil
}

// NumberPage is one page of the account's numbers, as
// GET /v1/Account/{auth_id}/Number/ answers it.
type NumberPage struct {
	// Objects are the page's numbers, in the server's order.
	Objects []NumberInfo
	// TotalCount is how many numbers match in all, on every page.
	TotalCount int
	// Next is the path of the next page, with its limit and offset, or ""
	// on the last page.
	Next string
	// Limit and Offset are the page's, as the server reports them.
	Limit, Offset int
}

// HasNext reports whether the server says that another page follows.
func (p NumberPage) HasNext() bool { return p.Next != "" }

// NextOffset returns the offset that Next asks for, and false on the last
// page or when Next carries no offset that can be read. A caller follows
// the list by offset, with its own filters, rather than by requesting Next
// as it is: a path from an answer is not a URL to send credentials to.
func (p NumberPage) NextOffset() (int, bool) {
	if p.Next == "" {
		return 0, false
	}
	u, err := url.Parse(p.Next)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(u.Query().Get("offset"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// listAnswer is the part of a list answer that is read. The pointers tell
// a missing meta or objects from an empty page: an answer without them
// (a proxy's stray JSON, say) must not pass for the end of the list.
type listAnswer struct {
	Meta *struct {
		Limit      int     `json:"limit"`
		Offset     int     `json:"offset"`
		TotalCount int     `json:"total_count"`
		Next       *string `json:"next"`
	} `json:"meta"`
	Objects *[]NumberInfo `json:"objects"`
}

// ListNumbers reads one page of the account's numbers with
// GET /v1/Account/{auth_id}/Number/?limit=L&offset=K and the filters that p
// sets. It sends one request and never retries: the caller paces and
// retries every request alike. Errors are *APIError, as for every call, but
// for invalid p, which wraps ErrBadListParams. Only the fields of
// NumberInfo are kept from the answer.
func (c *Client) ListNumbers(ctx context.Context, p ListParams) (NumberPage, error) {
	var page NumberPage
	q, err := p.query()
	if err != nil {
		return page, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, "Number/?"+q, nil)
	if err != nil {
		return page, err
	}
	var ans listAnswer
	resp, err := c.do(req, &ans)
	if err != nil {
		return page, err
	}
	bad := func(msg string) error {
		return &APIError{StatusCode: resp.StatusCode, Message: msg, Kind: KindBadAnswer, err: ErrNotNumberList}
	}
	if ans.Meta == nil || ans.Objects == nil {
		return page, bad("answer is not a page of the number list: no meta or no objects")
	}
	for i, o := range *ans.Objects {
		// A number without its number cannot be matched to anything, and
		// dropping it silently would lose it from the listing.
		if o.Number == "" {
			return page, bad(fmt.Sprintf("object %d of the number list has no number", i))
		}
	}
	page = NumberPage{
		Objects:    *ans.Objects,
		TotalCount: ans.Meta.TotalCount,
		Limit:      ans.Meta.Limit,
		Offset:     ans.Meta.Offset,
	}
	if ans.Meta.Next != nil {
		page.Next = *ans.Meta.Next
	}
	return page, nil
}

// ErrNotNumberList is returned when a list request answers 2xx with
// something that is not a page of the number list.
var ErrNotNumberList = errors.New("answer is not a page of the number list")
