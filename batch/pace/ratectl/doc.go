// Package ratectl decides the rate at which a run sends, from what the
// server answers: a pure controller on an injected clock.
package ratectl
