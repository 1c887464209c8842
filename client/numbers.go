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

// UpdateNumber POSTs fields (Plivo's argument names) to /Number/{number}/; "" is sent as "" (clears), never
// null. A 2xx without an api_id proves nothing: a bad_answer.
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

// NumberInfo is a number as GET /Number/{number}/ and the list describe it. Application and SubAccount are
// as sent (a URI, a plain id, or "" for null); AppID and SubaccountID give the plain id.
type NumberInfo struct {
	Number                  string   `json:"number"`
	Alias                   string   `json:"alias"`
	Application             string   `json:"application"`
	SubAccount              string   `json:"sub_account"`
	ComplianceApplicationID string   `json:"compliance_application_id"`
	ComplianceStatus        string   `json:"compliance_status"`
	APIID                   string   `json:"api_id"`
	Missing                 []string `json:"-"` // keys of SettingKeys the answer lacked: unknown, not empty
}

// SettingKeys are the keys of a number's settings in Plivo's answers.
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

// AppID returns the plain application id.
func (n NumberInfo) AppID() string { return lastSegment(n.Application) }

// SubaccountID returns the plain subaccount auth id; "" for the main account.
func (n NumberInfo) SubaccountID() string { return lastSegment(n.SubAccount) }

func lastSegment(uri string) string {
	uri = strings.TrimRight(uri, "/")
	return uri[strings.LastIndexByte(uri, '/')+1:]
}

// GetNumber reads one number's settings. What is read may be sent back or recorded: an answer that is
// not this number's description is a bad_answer, never a number with every field empty.
func (c *Client) GetNumber(ctx context.Context, number string) (NumberInfo, error) {
	var out NumberInfo
	status, err := c.call(ctx, http.MethodGet, "Number/"+url.PathEscape(number)+"/", nil, &out)
	if err == nil && out.Number != number {
		err = answerError(status, KindBadAnswer, "answer is not the description of number "+number, nil)
	}
	return out, err
}

// GetApplication, GetSubaccount and GetAccount (a cheap check of the credentials) check that it exists.
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

// MaxPageSize is the largest page of the number list Plivo accepts.
const MaxPageSize = 20

// ListParams selects one page of the account's numbers.
type ListParams struct {
	Limit            int    // the page size, 1 to MaxPageSize (0)
	Offset           int    // how many matching numbers to skip
	NumberStartsWith string // Plivo's number_startswith
	Subaccount       string // the numbers of the subaccount with this auth_id
	Alias            string // the numbers whose alias is exactly this
}

// NumberPage is one page of the account's numbers. A caller pages by offset with its own filters: a path
// from an answer is no URL to send credentials to.
type NumberPage struct {
	Objects    []NumberInfo // in the server's order
	TotalCount int          // how many numbers match, on every page
}

// ListNumbers reads one page of GET /Number/?limit=L&offset=K with p's filters.
func (c *Client) ListNumbers(ctx context.Context, p ListParams) (NumberPage, error) {
	q := url.Values{"limit": {strconv.Itoa(cmp.Or(p.Limit, MaxPageSize))}, "offset": {strconv.Itoa(p.Offset)}}
	for k, v := range map[string]string{"number_startswith": p.NumberStartsWith, "subaccount": p.Subaccount, "alias": p.Alias} {
		if v != "" {
			q.Set(k, v)
		}
	}
	// Pointers tell a missing meta or objects (a proxy's stray JSON) from the list's end.
	var ans struct {
		Meta *struct {
			TotalCount int `json:"total_count"`
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
		if o.Number == "" { // matches nothing, and dropping it would lose it from the listing
			return NumberPage{}, answerError(status, KindBadAnswer, fmt.Sprintf("object %d of the number list has no number", i), nil)
		}
	}
	return NumberPage{Objects: *ans.Objects, TotalCount: ans.Meta.TotalCount}, nil
}
