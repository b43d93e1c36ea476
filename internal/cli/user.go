package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	osuser "os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

func newUserCmd(g *globals) *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{Use: "user", Short: "Add users, change what they may see and give them API tokens"}
	f.addStore(cmd.PersistentFlags())

	var spec users.Spec
	var role string
	var passwordStdin bool
	add := &cobra.Command{
		Use:   "add USERNAME --role ROLE [--site S] [--school S] [--practice P] [--sees-names]",
		Short: "Add a user: programme_manager, site_coordinator (--site), practitioner (--site, --school, --practice), ops or advisor (ALCoP; --site to narrow, --sees-names)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			spec.Username, spec.Role = args[0], auth.Role(role)
			if passwordStdin {
				line, err := bufio.NewReader(g.stdin).ReadString('\n')
				if err != nil && line == "" {
					return &ExitError{Code: 2, Err: errors.New("--password-stdin: no password on standard input")}
				}
				spec.Password = strings.TrimRight(line, "\r\n")
			} else if pw := os.Getenv("KHULA_NEW_PASSWORD"); pw != "" {
				spec.Password = pw
			}
			st, dir, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := users.Create(ctx, st, dir, spec)
			if err != nil {
				if errors.Is(err, store.ErrUsernameTaken) {
					return &ExitError{Code: 1, Err: err}
				}
				return &ExitError{Code: 2, Err: err}
			}
			how := "no password (API tokens only: khula user token " + u.Username + ")"
			if u.PasswordHash != "" {
				how = "can sign in with the password given"
			}
			fmt.Fprintf(g.stdout, "added %s (%s): %s\n", u.Username, u.Role, how)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "programme_manager, site_coordinator, practitioner, ops or advisor")
	add.Flags().BoolVar(&spec.SeesNames, "sees-names", false, "an advisor may see children's names on the plans they review (granted by a programme manager)")
	add.Flags().StringSliceVar(&spec.Sites, "site", nil, "site the user works at (repeat for several)")
	add.Flags().StringSliceVar(&spec.Schools, "school", nil, "school a practitioner works at (repeat for several)")
	add.Flags().StringVar(&spec.Practice, "practice", "", "social_worker, teacher, nurse or fieldworker (practitioners)")
	add.Flags().StringVar(&spec.DisplayName, "name", "", "name shown in the web UI")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a password for browser sign-in from standard input (or set $KHULA_NEW_PASSWORD)")

	var name string
	var ttl time.Duration
	token := &cobra.Command{
		Use:   "token USERNAME",
		Short: "Create an API token for a user and print it (shown once; only its hash is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			full, err := users.NewToken(cmd.Context(), st, args[0], name, ttl)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintln(g.stdout, full)
			return nil
		},
	}
	token.Flags().StringVar(&name, "name", "cli", "what the token is for")
	token.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime, e.g. 720h (0: until revoked)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users and their scope",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			all, err := st.Users(cmd.Context())
			if err != nil {
				return err
			}
			for _, u := range all {
				fmt.Fprintf(g.stdout, "%-20s %-18s %-14s sites=%s schools=%s\n", u.Username, u.Role, u.Practice, listCell(u.Sites), listCell(u.Schools))
			}
			return nil
		},
	}

	var scopeSites, scopeSchools []string
	var why string
	scope := &cobra.Command{
		Use:   "scope USERNAME [--site S ...] [--school S ...]",
		Short: "Replace the sites and schools a user may see, and print the new scope",
		Long: "Replace the sites and schools a user may see (the flags given are the whole new scope: a site left out is taken away) " +
			"and print the new scope. The rules are those of `khula user add` for the user's role: a site coordinator needs at least one --site, " +
			"a practitioner one --site and at least one --school of it, an advisor --site to narrow (none: every site), " +
			"a programme manager or ops nothing. The change is written to the audit log with the change itself " +
			"(it needs the payload keyring, as the audit log does); the user's sessions and tokens see the new scope on their next request.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, dir, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			who := "cli"
			if u, err := osuser.Current(); err == nil {
				who = "cli:" + u.Username
			}
			by := users.Actor{ID: who, Name: who, Role: "operator", Why: why}
			u, err := users.SetScopeAs(cmd.Context(), st, dir, by, args[0], scopeSites, scopeSchools)
			var scopeErr *users.ScopeError
			switch {
			case errors.Is(err, store.ErrNotFound):
				return &ExitError{Code: 2, Err: fmt.Errorf("no user %q (khula user list shows them)", args[0])}
			case errors.As(err, &scopeErr):
				return &ExitError{Code: 2, Err: err}
			case err != nil:
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintf(g.stdout, "%s (%s) now sees %s\n", u.Username, u.Role, users.DescribeScope(u))
			fmt.Fprintf(g.stdout, "sites=%s schools=%s\n", listCell(u.Sites), listCell(u.Schools))
			return nil
		},
	}
	scope.Flags().StringSliceVar(&scopeSites, "site", nil, "a site the user works at (repeat for several); the sites given replace the user's sites")
	scope.Flags().StringSliceVar(&scopeSchools, "school", nil, "a school a practitioner works at (repeat for several); the schools given replace the user's schools")
	scope.Flags().StringVar(&why, "reason", "", "why the scope changes, for the audit log")
	cmd.AddCommand(add, token, list, scope)
	return cmd
}

// listCell shows a list column in `khula user list`: "-" when empty.
func listCell(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// openStore opens and migrates the database of a user or demo command.
func openStore(cmd *cobra.Command, f *connFlags) (*store.Store, *sitedir.Directory, error) {
	dsn, err := f.dsn()
	if err != nil {
		return nil, nil, err
	}
	dir, err := sitedir.Load(f.sitesDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cmd.Context(), dsn)
	if err != nil {
		return nil, nil, err
	}
	if keys, err := app.LoadKeys(f.keysFile); err == nil {
		st.SetFieldCipher(keys)
	}
	if _, err := st.Migrate(cmd.Context()); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, dir, nil
}
