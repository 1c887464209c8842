package main

import (
	"context"
	"fmt"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// startSeededSandbox starts a sandbox on loopback for `--sandbox`, seeded
// with every valid number of the input (without one, export's, 45: a few
// pages), each on the app sandboxStartApp with the alias "old alias" and
// compliance pending so that compliance changes can be rehearsed, and the
// applications and subaccounts that samples/ use. sandboxDefaultApp is the
// account's default_number_app, which Plivo documents it assigns to a
// number updated without app_id.
func startSeededSandbox(in *input.Input, o *jobFlags) (*seededSandbox, error) {
	const sandboxStartApp, sandboxDefaultApp = "20372631212782779", "20372631212782700"
	cfg := sandbox.Config{RateLimit: o.sandboxRate.Limit, RateWindow: o.sandboxRate.Window, FailRate: o.sandboxFailRate,
		DefaultAppOnMissing: o.sandboxDefApp, DefaultApp: sandboxDefaultApp}
	if err := cfg.Validate(); err != nil {
		return nil, usagef("--sandbox: %w", err)
	}
	srv := sandbox.New(cfg)
	srv.AddApplication(sandboxStartApp, "Old IVR (where the sandbox's numbers start)")
	srv.AddApplication("20372631212782780", "Support line")
	srv.AddApplication("20372631212782781", "Sales IVR")
	srv.AddSubaccount("SAUJZDE8GXD6NCF10EPF", "EMEA team")
	srv.AddSubaccount("SA91DHODZDOC9IS0J8HT", "APAC team")
	seed := func(number string) {
		srv.AddNumber(sandbox.Number{Number: number, AppID: sandboxStartApp, Alias: "old alias", ComplianceStatus: "pending"})
	}
	if in == nil {
		for i := range 45 {
			seed(fmt.Sprintf("1202555%04d", 100+i))
		}
	} else if err := in.Each(context.Background(), func(r batch.Row) error {
		if r.Invalid == "" {
			seed(r.Number)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("seed the sandbox: %w", err)
	}
	url, stop, err := sandbox.Start(srv, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the sandbox: %w", err)
	}
	return &seededSandbox{url: url, authID: srv.Config().AuthID, token: srv.Config().AuthToken, stop: func() {
		// The run is over, so nothing in flight is worth waiting for; a
		// graceful Shutdown would also wait up to 5 s for a connection the
		// client opened but never used.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = stop(ctx)
	}}, nil
}

type seededSandbox struct {
	url, authID, token string
	stop               func()
}
