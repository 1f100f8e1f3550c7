package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/store"
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// userCommand runs "rathaus user add --username NAME --role ROLE [--office ID]".
// The password is the first line of stdin, so it never shows in the process list.
func userCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return &usageError{"user: the only sub-command is \"add\"\n" + usage}
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "user name")
	role := fs.String("role", "staff", "admin or staff")
	var offices stringList
	fs.Var(&offices, "office", "office id the staff member works in (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error()}
	}
	if *username == "" {
		return &usageError{"user add: --username is required"}
	}
	if err := checkOffices(cfg, offices); err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		fmt.Fprintln(stderr, "rathaus: warning: RATHAUS_REDIS_URL is not set; the user goes into a throw-away embedded store")
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("user add: read password: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	log := newLogger(cfg, stderr)
	st, err := store.Open(cfg.RedisURL, log)
	if err != nil {
		return &config.Error{Var: "RATHAUS_REDIS_URL", Msg: err.Error()}
	}
	defer st.Close()
	svc := auth.NewService(st.Client, clock.Real{}, log)
	if err := svc.SetUser(ctx, *username, auth.Role(*role), offices, password); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(stdout, "user %s (%s) saved\n", *username, *role)
	return nil
}

// checkOffices makes sure every --office names a configured office, so that a
// typo does not create a staff member who can work nowhere.
func checkOffices(cfg config.Config, ids []string) error {
	offices, err := loadOffices(cfg)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, o := range offices {
		known[o.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return &usageError{fmt.Sprintf("user add: --office %q is not a configured office", id)}
		}
	}
	return nil
}
