package main

import (
	"context"
	"fmt"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// The applications and subaccounts `run --sandbox` creates besides the
// input's numbers: those the files in samples/ use. Every seeded number
// starts on sandboxStartApp; sandboxDefaultApp is the account's
// default_number_app, which Plivo documents it assigns to a number updated
// without app_id.
var (
	sandboxApps = map[string]string{
		"20372631212782779": "Old IVR (where the sandbox's numbers start)",
		"20372631212782780": "Support line",
		"20372631212782781": "Sales IVR",
	}
	sandboxSubaccounts = map[string]string{"SAUJZDE8GXD6NCF10EPF": "EMEA team", "SA91DHODZDOC9IS0J8HT": "APAC team"}
)

const (
	sandboxStartApp   = "20372631212782779"
	sandboxDefaultApp = "20372631212782700"
	// sandboxDemoNumbers is how many numbers a command without input
	// (export) finds: a few pages of the listing.
	sandboxDemoNumbers = 45
)

type seededSandbox struct {
	srv                *sandbox.Server
	url, authID, token string
	stop               func()
}

// startSeededSandbox starts a sandbox on loopback, seeded with every valid
// number of the input (or, without one, sandboxDemoNumbers numbers), each
// on sandboxStartApp with the alias "old alias" and compliance pending so
// that compliance changes can be rehearsed, and the samples' applications
// and subaccounts.
func startSeededSandbox(in *input.Input, o *jobFlags) (*seededSandbox, error) {
	cfg := sandbox.Config{RateLimit: o.sandboxRate.Limit, RateWindow: o.sandboxRate.Window, FailRate: o.sandboxFailRate,
		DefaultAppOnMissing: o.sandboxDefApp, DefaultApp: sandboxDefaultApp}
	if err := cfg.Validate(); err != nil {
		return nil, usagef("--sandbox: %w", err)
	}
	srv := sandbox.New(cfg)
	for id, name := range sandboxApps {
		srv.AddApplication(id, name)
	}
	for id, name := range sandboxSubaccounts {
		srv.AddSubaccount(id, name)
	}
	seed := func(number string) {
		srv.AddNumber(sandbox.Number{Number: number, AppID: sandboxStartApp, Alias: "old alias", ComplianceStatus: "pending"})
	}
	if in == nil {
		for i := range sandboxDemoNumbers {
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
	return &seededSandbox{srv: srv, url: url, authID: srv.Config().AuthID, token: srv.Config().AuthToken, stop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stop(ctx)
	}}, nil
}
