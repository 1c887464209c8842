package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
)

// The parameters an update accepts, sorted.
var updateKeys = []string{"alias", "app_id", "compliance_application_id", "subaccount"}

// numberJSON is a number as Plivo shows it; unset values are null.
type numberJSON struct {
	Number                  string  `json:"number"`
	Alias                   *string `json:"alias"`
	Application             *string `json:"application"`
	SubAccount              *string `json:"sub_account"`
	ComplianceApplicationID *string `json:"compliance_application_id"`
	ComplianceStatus        string  `json:"compliance_status"`
	NumberType              string  `json:"number_type"`
	ResourceURI             string  `json:"resource_uri"`
	VoiceEnabled            bool    `json:"voice_enabled"`
	SMSEnabled              bool    `json:"sms_enabled"`
	APIID                   string  `json:"api_id,omitempty"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) numberJSON(n Number) numberJSON {
	j := numberJSON{
		Number:                  n.Number,
		Alias:                   nullable(n.Alias),
		ComplianceApplicationID: nullable(n.ComplianceApplicationID),
		ComplianceStatus:        n.ComplianceStatus,
		NumberType:              "local",
		ResourceURI:             s.numberURI(n.Number),
		VoiceEnabled:            true,
		SMSEnabled:              true,
	}
	if n.AppID != "" {
		j.Application = nullable(s.appURI(n.AppID))
	}
	if n.Subaccount != "" {
		j.SubAccount = nullable(s.subaccountURI(n.Subaccount))
	}
	return j
}

func (s *Server) getNumber(x *exchange, number string) {
	n, ok := s.Number(number)
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	j := s.numberJSON(n)
	j.APIID = x.rec.APIID
	x.json(http.StatusOK, j)
}

// errBadBody marks a POST body that is not one JSON object.
var errBadBody = errors.New("request body must be a single JSON object")

// decodeUpdate parses an update body. fields holds the string and null
// values (a nil pointer for null); nonString lists, in order, the keys whose
// values are neither. It refuses duplicate keys, which encoding/json would
// silently resolve to the last one.
func decodeUpdate(body []byte) (fields map[string]*string, nonString []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errBadBody
	}
	fields = make(map[string]*string)
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, errBadBody
		}
		key, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, errBadBody
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("parameter %q given twice", key)
		}
		seen[key] = true
		switch bytes.TrimSpace(raw)[0] {
		case 'n':
			fields[key] = nil
		case '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, nil, errBadBody
			}
			fields[key] = &v
		default:
			nonString = append(nonString, key)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, errBadBody
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errBadBody // trailing data
	}
	return fields, nonString, nil
}

// updateNumber serves a POST to a number.
func (s *Server) updateNumber(x *exchange, number string, body []byte) {
	ct := x.r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); ct == "" || err != nil || mt != "application/json" {
		x.fail(http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	fields, nonString, err := decodeUpdate(body)
	if err != nil {
		x.fail(http.StatusBadRequest, err.Error())
		return
	}
	x.rec.Fields = fields
	keys := append([]string(nil), nonString...)
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if i := sort.SearchStrings(updateKeys, k); i == len(updateKeys) || updateKeys[i] != k {
			x.fail(http.StatusBadRequest, fmt.Sprintf("unknown parameter %q; accepted parameters are %s", k, strings.Join(updateKeys, ", ")))
			return
		}
	}
	if len(nonString) > 0 {
		x.fail(http.StatusBadRequest, fmt.Sprintf("parameter %q must be a string", nonString[0]))
		return
	}

	status, msg, changed := s.apply(number, fields)
	if status != http.StatusAccepted {
		x.fail(status, msg)
		return
	}
	x.rec.Applied = true
	s.updates.Add(1)
	if changed {
		s.changes.Add(1)
	}
	x.json(http.StatusAccepted, struct {
		Message string `json:"message"`
		APIID   string `json:"api_id"`
	}{"changed", x.rec.APIID})
}

// apply checks an update against the state and applies it whole, or not at
// all. It returns the status to answer, an error message unless it is 202,
// and whether the number changed.
func (s *Server) apply(number string, fields map[string]*string) (status int, msg string, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[number]
	if !ok {
		return http.StatusNotFound, "not found", false
	}
	next := n
	if v, ok := fields["app_id"]; ok {
		if v != nil {
			if _, known := s.apps[*v]; *v != "" && !known {
				return http.StatusBadRequest, fmt.Sprintf("app_id %q is not an application of this account", *v), false
			}
			next.AppID = *v
		}
	} else if s.cfg.DefaultAppOnMissing {
		next.AppID = s.cfg.DefaultApp
	}
	if v := fields["subaccount"]; v != nil {
		switch _, known := s.subs[*v]; {
		case strings.HasPrefix(s.cfg.AuthID, "SA"):
			return http.StatusForbidden, "only the main account can move a number to a subaccount", false
		case *v == "":
			return http.StatusBadRequest, "subaccount must be the auth_id of a subaccount of this account", false
		case !known:
			return http.StatusBadRequest, fmt.Sprintf("subaccount %q is not a subaccount of this account", *v), false
		}
		next.Subaccount = *v
	}
	if v := fields["alias"]; v != nil {
		next.Alias = *v
	}
	if v := fields["compliance_application_id"]; v != nil {
		if st := n.ComplianceStatus; st != "pending" && st != "rejected" {
			return http.StatusBadRequest, fmt.Sprintf("compliance_application_id can be changed only while the number's compliance status is pending or rejected; it is %q", st), false
		}
		next.ComplianceApplicationID = *v
	}
	s.numbers[number] = next
	return http.StatusAccepted, "", next != n
}
