// Command credup updates every credential of a group from one spreadsheet:
// it validates sheets offline (check), writes templates (template), and runs
// the whole serverless pipeline on an embedded AWS emulator (demo, dev).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usageError is a mistake in how credup was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

const usage = `credup — update every credential of a group from one spreadsheet

Usage:
  credup check SHEET --group GROUP.json --credentials FILE.jsonl [--mapping FILE.json]
               [--date-format F] [--match-by KEY] [--now YYYY-MM-DD] [--format json|text]
  credup template --group GROUP.json [--credentials FILE.jsonl --prefill] --format csv|xlsx [--output FILE]
  credup demo     run the whole pipeline on the embedded AWS stack and print what it did
  credup dev      keep the embedded AWS stack running for the AWS CLI, SDKs and curl
  credup token --tenant T    print a token the local HTTP API accepts
`

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"check":    runCheck,
	"template": runTemplate,
	"demo":     runDemo,
	"dev":      runDev,
	"token":    runToken,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "credup: unknown command %q\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "credup %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "credup %s: %v\n", args[0], err)
		return 1
	}
}
