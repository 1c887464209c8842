package sandbox

import (
	"net/http"
	"strings"
)

// The URIs of the account's resources.
func (s *Server) accountURI() string { return "/v1/Account/" + s.cfg.AuthID + "/" }
func (s *Server) appURI(id string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Application/" + id + "/"
}
func (s *Server) subaccountURI(id string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Subaccount/" + id + "/"
}
func (s *Server) numberURI(n string) string {
	return "/v1/Account/" + s.cfg.AuthID + "/Number/" + n + "/"
}

type accountJSON struct {
	AccountType string `json:"account_type"`
	AuthID      string `json:"auth_id"`
	Name        string `json:"name"`
	ResourceURI string `json:"resource_uri"`
	APIID       string `json:"api_id"`
}

func (s *Server) getAccount(x *exchange) {
	kind := "standard"
	if strings.HasPrefix(s.cfg.AuthID, "SA") {
		kind = "subaccount"
	}
	x.json(http.StatusOK, accountJSON{
		AccountType: kind,
		AuthID:      s.cfg.AuthID,
		Name:        "Sandbox account",
		ResourceURI: s.accountURI(),
		APIID:       x.rec.APIID,
	})
}

type applicationJSON struct {
	AppID            string `json:"app_id"`
	AppName          string `json:"app_name"`
	DefaultNumberApp bool   `json:"default_number_app"`
	ResourceURI      string `json:"resource_uri"`
	APIID            string `json:"api_id"`
}

func (s *Server) getApplication(x *exchange, id string) {
	s.mu.RLock()
	name, ok := s.apps[id]
	s.mu.RUnlock()
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	x.json(http.StatusOK, applicationJSON{
		AppID:            id,
		AppName:          name,
		DefaultNumberApp: id == s.cfg.DefaultApp,
		ResourceURI:      s.appURI(id),
		APIID:            x.rec.APIID,
	})
}

type subaccountJSON struct {
	Account     string `json:"account"`
	AuthID      string `json:"auth_id"`
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	ResourceURI string `json:"resource_uri"`
	APIID       string `json:"api_id"`
}

func (s *Server) getSubaccount(x *exchange, id string) {
	s.mu.RLock()
	name, ok := s.subs[id]
	s.mu.RUnlock()
	if !ok {
		x.fail(http.StatusNotFound, "not found")
		return
	}
	x.json(http.StatusOK, subaccountJSON{
		Account:     s.accountURI(),
		AuthID:      id,
		Name:        name,
		Enabled:     true,
		ResourceURI: s.subaccountURI(id),
		APIID:       x.rec.APIID,
	})
}
