package main

import (
	"context"
	"fmt"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// startSandbox starts --sandbox's server on loopback, points s at it and returns its token. It holds the
// input's valid numbers (export's: 45) as they start in samples/, and the applications and subaccounts samples/ use.
func (s *jobSetup) startSandbox() (string, error) {
	cfg := s.f.sandboxCfg
	cfg.DefaultApp = "20372631212782700" // the default_number_app Plivo assigns to an update without app_id
	if err := cfg.Validate(); err != nil {
		return "", usagef("--sandbox: %w", err)
	}
	srv := sandbox.New(cfg)
	srv.AddApplication("20372631212782780", "Support line")
	srv.AddApplication("20372631212782781", "Sales IVR")
	srv.AddSubaccount("SAUJZDE8GXD6NCF10EPF", "EMEA team")
	srv.AddSubaccount("SA91DHODZDOC9IS0J8HT", "APAC team")
	seed := func(number string) { // on the app where samples/ say the numbers start
		srv.AddNumber(sandbox.Number{Number: number, AppID: "20372631212782779", Alias: "old alias", ComplianceStatus: "pending"})
	}
	if s.in == nil {
		for i := range 45 {
			seed(fmt.Sprintf("1202555%04d", 100+i))
		}
	} else if err := s.in.Each(context.Background(), func(r batch.Row) error {
		if r.Invalid == "" {
			seed(r.Number)
		}
		return nil
	}); err != nil {
		return "", fmt.Errorf("seed the sandbox: %w", err)
	}
	url, stop, err := sandbox.Start(srv, "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("start the sandbox: %w", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel() // the run is over: a graceful stop would wait for a connection opened but never used
	s.closers = append(s.closers, func() { _ = stop(ended) })
	s.f.apiURL, s.f.authID = url, srv.Config().AuthID
	return srv.Config().AuthToken, nil
}
