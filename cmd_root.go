package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plivo-bulk/plivo-bulk/batch/input"
)

// sys is what a command takes from its process, passed in so that tests run commands in-process.
type sys struct {
	stop           <-chan struct{}
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	args           []string // the command line, read again after a flag error
}

const rootLong = `plivo-bulk changes the settings of many Plivo phone numbers at once.

Usage:
  plivo-bulk run --input FILE --report FILE [flags]   update every number listed in FILE
  plivo-bulk plan --input FILE --output FILE [flags]  show what run would change (reads only)
  plivo-bulk export --output FILE [flags]             write every number on the account as an input file
  plivo-bulk sandbox [flags]                          serve a stand-in for Plivo's Number API
  plivo-bulk version                                  print the version
  plivo-bulk completion bash|zsh|fish|powershell      print a shell completion script
  plivo-bulk help [command]                           show help`

const rootExample = `  # A first run, against the built-in sandbox (no Plivo account needed):
  plivo-bulk run --sandbox --input samples/numbers.csv --report report.csv

  # A real run at 20 requests per second:
  export PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX PLIVO_AUTH_TOKEN=...
  plivo-bulk run --input numbers.csv --report report.csv --rate 20

Run 'plivo-bulk help COMMAND' for the flags of a command.`

// newRootCmd builds the command line: help on stdout, errors returned to main, never the usage.
func newRootCmd(s *sys) *cobra.Command {
	root := &cobra.Command{Use: "plivo-bulk", Long: rootLong, Example: rootExample, Version: versionLine(),
		SilenceErrors: true, SilenceUsage: true,
		SuggestionsMinimumDistance: 2, // SuggestionsFor reads it; only Execute's own, unused, message sets the default
		Args:                       cobra.ArbitraryArgs, RunE: nameOne("no command given: see 'plivo-bulk --help'"),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(s.stdin)
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetHelpFunc(printHelp)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		err = flagError(c, err)
		summaryOnFlagError(c, s, err)
		return err
	})
	root.AddCommand(newRunCmd(s, &runFlags{}), newPlanCmd(s, &planFlags{}), newExportCmd(s, &exportFlags{}), newSandboxCmd(s, &sandboxOptions{}),
		&cobra.Command{Use: "version", Short: "print the version", Args: noArgs,
			Run: func(c *cobra.Command, _ []string) { fmt.Fprintln(c.OutOrStdout(), versionLine()) }})
	// cobra's help, of an unknown topic, printed the root's usage and exit 0.
	root.InitDefaultHelpCmd()
	help, _, _ := root.Find([]string{"help"})
	help.Short, help.Long = "show the help of a command", ""
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := root.Find(args)
		if err != nil || len(rest) > 0 {
			return unknownCommand(root, strings.Join(args, " "))
		}
		target.InitDefaultHelpFlag()
		target.InitDefaultVersionFlag()
		return target.Help()
	}
	// cobra's completion, without a shell or with a mistyped one, printed
	// its help and exit 0: "source <(plivo-bulk completion bsh)" ran that.
	root.InitDefaultCompletionCmd()
	comp, _, _ := root.Find([]string{"completion"})
	for _, shell := range comp.Commands() {
		shell.Args = noArgs // cobra's own refusal exits 1
	}
	comp.SuggestionsMinimumDistance = 2
	comp.Args, comp.RunE = cobra.ArbitraryArgs, nameOne("completion: name a shell: bash, zsh, fish or powershell")
	return root
}

// nameOne refuses a command given without a subcommand (none says so) or with a mistyped one.
func nameOne(none string) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s", none)
		}
		return unknownCommand(c, args[0])
	}
}

// noArgs refuses words that are not flags: every command takes flags only.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected argument %q (flags start with --)", c.Name(), args[0])
	}
	return nil
}

func unknownCommand(root *cobra.Command, name string) error {
	hint := ""
	if s := root.SuggestionsFor(name); len(s) > 0 {
		hint = fmt.Sprintf(": did you mean %s?", s[0])
	}
	return usagef("unknown command %q%s (see '%s --help')", name, hint, root.CommandPath())
}

// flagError turns pflag's errors into one line naming the command and the flag meant (exit 2).
func flagError(c *cobra.Command, err error) error {
	cmd := ""
	if c.HasParent() {
		cmd = c.Name() + ": "
	}
	var notExist *pflag.NotExistError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		name, typed := notExist.GetSpecifiedName(), "--"+notExist.GetSpecifiedName()
		if sh := notExist.GetSpecifiedShortnames(); sh != "" {
			name, _, _ = strings.Cut(sh, "=") // -rate: the single dash of Go's flag package
			typed = "-" + name
		}
		hint := ""
		if near := closestFlag(c, name); near != "" {
			hint = fmt.Sprintf(": did you mean --%s?", near)
		}
		return usagef("%sunknown flag %s%s (see '%s --help')", cmd, typed, hint, c.CommandPath())
	case errors.As(err, &invalid):
		why := invalid.Unwrap().Error()
		if errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange) {
			why = "want a number"
		}
		return usagef("%s--%s %q: %s", cmd, invalid.GetFlag().Name, invalid.GetValue(), why)
	}
	return usagef("%s%w", cmd, err)
}

// closestFlag is the command's flag nearest to name: one it starts, or one
// within a few typos of it; "" when none is near.
func closestFlag(c *cobra.Command, name string) string {
	best, bestD := "", max(2, len(name)/3)+1
	c.Flags().VisitAll(func(f *pflag.Flag) {
		d := input.EditDistance(name, f.Name)
		if len(name) > 2 && strings.HasPrefix(f.Name, name) {
			d = 1
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// flagGroups sorts the flags in help by purpose, title first; the rest (only --help) go under "Flags".
var flagGroups = [][]string{
	{"Input and output", "input", "report", "output", "resume", "force", "undo", "allow-other-origin", "summary", "detailed-exitcode", "prefix", "subaccount", "alias"},
	{"What is sent", "dry-run", "skip-unchanged", "verify", "verify-read", "read", "allow-default-app"},
	{"Safety", "yes", "canary", "max-failures"},
	{"Pacing and retries", "rate", "concurrency", "max-attempts", "max-throttle-wait", "timeout", "backoff-base", "backoff-max", "adaptive"},
	{"API and credentials", "api-url", "auth-id"},
	{"Logging and progress", "progress", "log-format", "log-every", "verbose"},
	{"Sandbox", "sandbox", "sandbox-rate-limit", "sandbox-fail-rate", "sandbox-default-app"},
	{"Server and account", "listen", "numbers", "apps", "subaccounts", "default-app", "default-app-on-missing", "dump"},
	{"Rate limit and faults", "rate-limit", "fail-rate", "latency"},
}

// printHelp is every command's help: what it does, usage, examples, flags by purpose.
func printHelp(c *cobra.Command, _ []string) {
	w := c.OutOrStdout()
	fmt.Fprintln(w, strings.TrimSpace(cmp.Or(c.Long, c.Short)))
	if c.HasParent() {
		fmt.Fprintf(w, "\nUsage:\n  %s\n", c.UseLine())
		if c.HasAvailableSubCommands() {
			fmt.Fprintln(w, "\nCommands:")
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() {
					fmt.Fprintf(w, "  %-12s%s\n", sub.Name(), sub.Short)
				}
			}
		}
	}
	if c.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.Example, "\n"))
	}
	shown := map[string]bool{}
	rest := []string{"Flags"}
	c.Flags().VisitAll(func(f *pflag.Flag) { rest = append(rest, f.Name) })
	for _, g := range append(flagGroups, rest) {
		fs := pflag.NewFlagSet(g[0], pflag.ContinueOnError)
		fs.SortFlags = false
		for _, n := range g[1:] {
			if f := c.Flags().Lookup(n); f != nil && !f.Hidden && !shown[n] {
				fs.AddFlag(f)
				shown[n] = true
			}
		}
		if fs.HasFlags() {
			fmt.Fprintf(w, "\n%s:\n%s", g[0], fs.FlagUsagesWrapped(80))
		}
	}
}
