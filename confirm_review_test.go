package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// TestConfirmTypeAheadDoesNotAnswerTheCanary: "yes" typed twice at the
// first question (or typed while the canary runs) must not answer the
// canary's question, which is there to give time to check the numbers.
func TestConfirmTypeAheadDoesNotAnswerTheCanary(t *testing.T) {
	in, w := io.Pipe()
	defer in.Close()
	c := &confirmer{in: in, out: io.Discard, stop: make(chan struct{})}
	go func() { _, _ = io.WriteString(w, "yes\nyes\n") }()
	if err := c.ask(context.Background(), "first? ", "yes"); err != nil {
		t.Fatalf("first question: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // the canary runs; the second line is read meanwhile
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.ask(ctx, "canary? ", "yes"); !errors.Is(err, batch.ErrInterrupted) {
		t.Fatalf("second question answered by the line typed ahead: %v; want it to wait for a new line", err)
	}
	go func() { _, _ = io.WriteString(w, "yes\n") }()
	if err := c.ask(context.Background(), "canary? ", "yes"); err != nil {
		t.Fatalf("an answer typed after the question: %v", err)
	}
}
