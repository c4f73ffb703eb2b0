package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
)

func (a *admin) checkKey() *cobra.Command {
	return &cobra.Command{
		Use:   "check-key [KEY]",
		Short: "Tell offline whether a string is a well-formed Keyplane API key (its checksum matches)",
		Long: `Check the format and checksum of API keys, without a database: a key found in a
log, a repository or a paste is told apart from a typo or a look-alike. It says
nothing of whether the key exists or still works.

With no KEY (or "-"), keys are read from standard input, one a line, which
keeps them out of shell history. Each is reported by its first characters
only; the exit status is 1 if any key is malformed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := refuseFlags(cmd, "check-key uses no database", "database", "account"); err != nil {
				return err
			}
			var keys []string
			if len(args) == 1 && args[0] != "-" {
				keys = args
			} else {
				sc := bufio.NewScanner(cmd.InOrStdin())
				for sc.Scan() {
					if k := strings.TrimSpace(sc.Text()); k != "" {
						keys = append(keys, k)
					}
				}
				if err := sc.Err(); err != nil {
					return err
				}
				if len(keys) == 0 {
					return fmt.Errorf("no key given: pass one, or one a line on standard input")
				}
			}
			bad := 0
			for _, k := range keys {
				shown := keyplane.APIKeyShownPrefix(k) + "…"
				if err := keyplane.CheckAPIKey(k); err != nil {
					bad++
					fmt.Fprintf(a.stdout, "malformed %s: %s\n", shown, strings.TrimPrefix(keyplane.ErrorMessages(err)[0], "Authorization: "))
					continue
				}
				fmt.Fprintf(a.stdout, "well-formed %s\n", shown)
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d keys malformed", bad, len(keys))
			}
			return nil
		},
	}
}
