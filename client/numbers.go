package client

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Changed is Plivo's answer to an update.
type Changed struct {
	Message    string `json:"message"`
	APIID      string `json:"api_id"`
	HTTPStatus int    `json:"-"`
}

// UpdateNumber changes the settings of one number with
// POST /v1/Account/{auth_id}/Number/{number}/. fields maps Plivo's argument
// names (app_id, subaccount, alias, compliance_application_id) to values;
// only the fields present are sent, and an empty string is sent as "" (which
// unassigns or clears), never as null. A 2xx answer without an api_id is no
// proof that the update was applied: it is a bad_answer.
func (c *Client) UpdateNumber(ctx context.Context, number string, fields map[string]string) (Changed, error) {
	var out Changed
	body, _ := json.Marshal(fields) // a map of strings always encodes
	var err error
	out.HTTPStatus, err = c.call(ctx, http.MethodPost, "Number/"+url.PathEscape(number)+"/", body, &out)
	if err == nil && out.APIID == "" {
		err = answerError(out.HTTPStatus, KindBadAnswer, "answer has no api_id", nil)
	}
	return out, err
}

// NumberInfo is what GET /v1/Account/{auth_id}/Number/{number}/ answers,
// and each object of the number list, as far as plivo-bulk uses it.
// Application and SubAccount hold what the server sent: a resource URI, a
// plain id (the list sends sub_account so) or "" for JSON null or an empty
// string; AppID and SubaccountID give the plain id in every case. A null
// Alias is "" too.
type NumberInfo struct {
	Number                  string `json:"number"`
	Alias                   string `json:"alias"`
	Application             string `json:"application"`
	SubAccount              string `json:"sub_account"`
	ComplianceApplicationID string `json:"compliance_application_id"`
	ComplianceStatus        string `json:"compliance_status"`
	APIID                   string `json:"api_id"`
	// Missing names the keys of SettingKeys that the answer lacked. Plivo
	// sends each of them, null for none: a missing one is unknown, not
	// empty, and its field above holds no value.
	Missing []string `json:"-"`
}

// SettingKeys are the keys of a number's settings, as Plivo's answers
// name them.
var SettingKeys = []string{"application", "sub_account", "alias", "compliance_application_id"}

// UnmarshalJSON decodes a number and notes which of SettingKeys it lacks.
func (n *NumberInfo) UnmarshalJSON(b []byte) error {
	type plain NumberInfo
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, (*plain)(n)); err != nil {
		return err
	}
	_ = json.Unmarshal(b, &keys) // it decoded as an object just now
	for _, k := range SettingKeys {
		if _, ok := keys[k]; !ok {
			n.Missing = append(n.Missing, k)
		}
	}
	return nil
}

// AppID returns the plain application id: the last segment of the
// Application URI, or Application itself when it is a plain id.
func (n NumberInfo) AppID() string { return lastSegment(n.Application) }

// SubaccountID returns the plain subaccount auth id, as AppID does; ""
// for the main account.
func (n NumberInfo) SubaccountID() string { return lastSegment(n.SubAccount) }

func lastSegment(uri string) string {
	uri = strings.TrimRight(uri, "/")
	return uri[strings.LastIndexByte(uri, '/')+1:]
}

// GetNumber reads the current settings of one number. What is read may be
// sent back (the app kept for an alias-only row) or written to an undo
// file: an answer that is not this number's description is a bad_answer,
// never a number with every field empty.
func (c *Client) GetNumber(ctx context.Context, number string) (NumberInfo, error) {
	var out NumberInfo
	status, err := c.call(ctx, http.MethodGet, "Number/"+url.PathEscape(number)+"/", nil, &out)
	if err == nil && out.Number != number {
		err = answerError(status, KindBadAnswer, "answer is not the description of number "+number, nil)
	}
	return out, err
}

// GetApplication, GetSubaccount and GetAccount check that an application,
// a subaccount or the account itself (a cheap check of the credentials)
// exists.
func (c *Client) GetApplication(ctx context.Context, id string) error {
	return c.get(ctx, "Application/"+url.PathEscape(id)+"/")
}

func (c *Client) GetSubaccount(ctx context.Context, id string) error {
	return c.get(ctx, "Subaccount/"+url.PathEscape(id)+"/")
}

func (c *Client) GetAccount(ctx context.Context) error { return c.get(ctx, "") }

func (c *Client) get(ctx context.Context, path string) error {
	_, err := c.call(ctx, http.MethodGet, path, nil, nil)
	return err
}

// MaxPageSize is the most numbers one page of the number list can hold:
// Plivo refuses a larger limit.
const MaxPageSize = 20

// ListParams selects one page of the account's numbers.
type ListParams struct {
	Limit            int    // the page size, 1 to MaxPageSize; 0 means MaxPageSize
	Offset           int    // how many matching numbers to skip
	NumberStartsWith string // Plivo's number_startswith
	Subaccount       string // the numbers of the subaccount with this auth_id
	Alias            string // the numbers whose alias is exactly this
}

// NumberPage is one page of the account's numbers.
type NumberPage struct {
	Objects    []NumberInfo // in the server's order
	TotalCount int          // how many numbers match, on every page
	Next       string       // the path of the next page; "" on the last
}

// NextOffset returns the offset that Next asks for, and false on the last
// page or when Next carries no offset. A caller follows the list by offset,
// with its own filters: a path from an answer is not a URL to send
// credentials to.
func (p NumberPage) NextOffset() (int, bool) {
	u, err := url.Parse(p.Next)
	if p.Next == "" || err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(u.Query().Get("offset"))
	return n, err == nil && n >= 0
}

// ListNumbers reads one page of the account's numbers with
// GET /v1/Account/{auth_id}/Number/?limit=L&offset=K and the filters that p
// sets. Parameters that Plivo would refuse send nothing.
func (c *Client) ListNumbers(ctx context.Context, p ListParams) (NumberPage, error) {
	limit := cmp.Or(p.Limit, MaxPageSize)
	if limit < 1 || limit > MaxPageSize || p.Offset < 0 {
		return NumberPage{}, &APIError{Kind: KindInvalid,
			Message: fmt.Sprintf("invalid list parameters: limit %d (1 to %d, 0 for %[2]d), offset %d (0 or more)", p.Limit, MaxPageSize, p.Offset)}
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(p.Offset)}}
	for k, v := range map[string]string{"number_startswith": p.NumberStartsWith, "subaccount": p.Subaccount, "alias": p.Alias} {
		if v != "" {
			q.Set(k, v)
		}
	}
	// Pointers tell a missing meta or objects from an empty page: an answer
	// without them (a proxy's stray JSON) must not pass for the list's end.
	var ans struct {
		Meta *struct {
			TotalCount int    `json:"total_count"`
			Next       string `json:"next"` // null on the last page
		} `json:"meta"`
		Objects *[]NumberInfo `json:"objects"`
	}
	status, err := c.call(ctx, http.MethodGet, "Number/?"+q.Encode(), nil, &ans)
	if err != nil {
		return NumberPage{}, err
	}
	if ans.Meta == nil || ans.Objects == nil {
		return NumberPage{}, answerError(status, KindBadAnswer, "answer is not a page of the number list: no meta or no objects", nil)
	}
	for i, o := range *ans.Objects {
		// A number without its number cannot be matched to anything, and
		// dropping it silently would lose it from the listing.
		if o.Number == "" {
			return NumberPage{}, answerError(status, KindBadAnswer, fmt.Sprintf("object %d of the number list has no number", i), nil)
		}
	}
	return NumberPage{Objects: *ans.Objects, TotalCount: ans.Meta.TotalCount, Next: ans.Meta.Next}, nil
}
