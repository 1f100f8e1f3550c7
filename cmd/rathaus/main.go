// Command rathaus is the appointment-booking and walk-in queue server for
// citizen offices. "rathaus" and "rathaus serve" start the server; "rathaus
// user add" adds a staff account.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // time zones on minimal images

	"github.com/rathaus/rathaus/internal/config"
)

// Exit codes.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "rathaus: configuration error:", err)
		return exitConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		err = Run(ctx, cfg, Options{LogOutput: stderr})
	case "user":
		err = userCommand(ctx, cfg, args, stdin, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, cfg, args, stdout, stderr)
	case "check":
		err = checkCommand(ctx, cfg, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "rathaus: unknown command %q\n%s", cmd, usage)
		return exitConfig
	}
	var ce *config.Error
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce), errors.As(err, &ue):
		fmt.Fprintln(stderr, "rathaus:", err)
		return exitConfig
	default:
		fmt.Fprintln(stderr, "rathaus:", err)
		return exitFail
	}
}

const usage = `usage:
  rathaus [serve]                                  start the server (settings from RATHAUS_* variables)
  rathaus user add --username NAME --role admin|staff [--office ID ...]
                                                   add or reset a staff account; the password is read from stdin
  rathaus check                                    check the settings, the Redis and the mail server before serving
  rathaus bench [--url URL] [--redis-url URL] [--scenarios a,b] [--json]
                                                   load scenarios and baselines (rathaus bench -h)
`

// usageError is a wrong command line (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
