package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Changed is Plivo's answer to an update.
type Changed struct {
	Message    string `json:"message"`
	APIID      string `json:"api_id"`
	HTTPStatus int    `json:"-"`
}

// ErrNoAPIID is returned for a 2xx answer that carries no api_id: it is no
// proof that the update was applied, so the caller must not count it done.
var ErrNoAPIID = errors.New("answer has no api_id")

// UpdateNumber changes the settings of one number with
// POST /v1/Account/{auth_id}/Number/{number}/. fields maps Plivo's argument
// names (app_id, subaccount, alias, compliance_application_id) to values;
// only the fields present are sent, and an empty string is sent as "" (which
// unassigns or clears), never as null.
func (c *Client) UpdateNumber(ctx context.Context, number string, fields map[string]string) (Changed, error) {
	var out Changed
	body, err := json.Marshal(fields)
	if err != nil {
		return out, fmt.Errorf("encode update of %s: %w", number, err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "Number/"+url.PathEscape(number)+"/", body)
	if err != nil {
		return out, err
	}
	resp, err := c.do(req, &out)
	if err != nil {
		return out, err
	}
	out.HTTPStatus = resp.StatusCode
	if out.APIID == "" {
		return out, &APIError{StatusCode: resp.StatusCode, Message: "answer has no api_id", Kind: KindBadAnswer, err: ErrNoAPIID}
	}
	return out, nil
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
	var v struct {
		*plain
		// These shadow plain's fields of the same keys: nil when missing.
		Application json.RawMessage `json:"application"`
		SubAccount  json.RawMessage `json:"sub_account"`
		Alias       json.RawMessage `json:"alias"`
		Compliance  json.RawMessage `json:"compliance_application_id"`
	}
	v.plain = (*plain)(n)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	for i, raw := range []json.RawMessage{v.Application, v.SubAccount, v.Alias, v.Compliance} {
		dst := []*string{&n.Application, &n.SubAccount, &n.Alias, &n.ComplianceApplicationID}[i]
		switch {
		case raw == nil:
			n.Missing = append(n.Missing, SettingKeys[i])
		case len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw):
			*dst = string(raw[1 : len(raw)-1]) // nothing escaped: the text as it is
		case string(raw) != "null":
			if err := json.Unmarshal(raw, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// AppID returns the plain application id: the last segment of the
// Application URI, or Application itself when it is a plain id; "" when
// there is none.
func (n NumberInfo) AppID() string { return lastSegment(n.Application) }

// SubaccountID returns the plain subaccount auth id: the last segment of the
// SubAccount URI, or SubAccount itself when it is a plain id; "" for the
// main account.
func (n NumberInfo) SubaccountID() string { return lastSegment(n.SubAccount) }

// lastSegment returns the last path segment of uri, trailing slashes
// ignored; a plain id has one segment, itself.
func lastSegment(uri string) string {
	uri = strings.TrimRight(uri, "/")
	if i := strings.LastIndexByte(uri, '/'); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// GetNumber reads the current settings of one number.
func (c *Client) GetNumber(ctx context.Context, number string) (NumberInfo, error) {
	var out NumberInfo
	req, err := c.newRequest(ctx, http.MethodGet, "Number/"+url.PathEscape(number)+"/", nil)
	if err != nil {
		return out, err
	}
	resp, err := c.do(req, &out)
	if err != nil {
		return out, err
	}
	// What is read may be sent back (the app kept for an alias-only row)
	// or written to an undo file: an answer that is not this number's
	// description must not pass for one with every field empty.
	if out.Number != number {
		return out, &APIError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("answer is not the description of number %s", number), Kind: KindBadAnswer, err: ErrNotNumber}
	}
	return out, nil
}

// ErrNotNumber is returned when a read of a number answers 2xx with
// something that does not describe that number.
var ErrNotNumber = errors.New("answer does not describe the number")

// GetApplication checks that an application exists on the account.
func (c *Client) GetApplication(ctx context.Context, appID string) error {
	req, err := c.newRequest(ctx, http.MethodGet, "Application/"+url.PathEscape(appID)+"/", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// GetSubaccount checks that a subaccount exists on the account.
func (c *Client) GetSubaccount(ctx context.Context, subAuthID string) error {
	req, err := c.newRequest(ctx, http.MethodGet, "Subaccount/"+url.PathEscape(subAuthID)+"/", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// GetAccount reads the account itself: a cheap check of the credentials.
func (c *Client) GetAccount(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, "", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}
