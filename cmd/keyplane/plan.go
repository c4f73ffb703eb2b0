package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/declare"
)

// declareFlags are the flags plan and apply share.
type declareFlags struct {
	file  string
	prune bool
}

func (d *declareFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&d.file, "file", "f", "keyplane.yaml", `the declaration file ("-": stdin)`)
	cmd.Flags().BoolVar(&d.prune, "prune", false, "also delete the apps and keysets the file does not declare")
}

// load reads and checks the declaration file.
func (d *declareFlags) load(cmd *cobra.Command) (*declare.File, error) {
	var r io.Reader
	if d.file == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(d.file)
		if err != nil {
			return nil, &usageError{cmd: cmd, err: err}
		}
		defer f.Close()
		r = f
	}
	decl, err := declare.Parse(r)
	if err == nil {
		// Push credential files are named relative to the declaration.
		dir := "."
		if d.file != "-" {
			dir = filepath.Dir(d.file)
		}
		err = decl.ReadFiles(dir)
	}
	if err != nil {
		return nil, &usageError{cmd: cmd, err: fmt.Errorf("%s: %w", d.file, err)}
	}
	return decl, nil
}

const declareLong = `The file declares the apps of the account and their keysets:

  apps:
    - name: Telemedicine
      keysets:
        - name: prod
          type: production            # or testing; left out: testing when created, else unchanged
          config:                     # any part of a keyset configuration
            messagePersistence: {enabled: true, retention: 30}
            presence: {announceMax: 50}
          push:                       # push credentials, files relative to this one
            apns: {teamId: ABCDE12345, authKeyId: KEY1234567, file: AuthKey_KEY1234567.p8}
            fcm: {file: firebase-service-account.json}
        - name: staging
  customers:                          # OEM partner accounts only
    - externalId: acme-1              # the partner's own id: customers match by it
      name: Acme
      keysets: [{app: Telemedicine, keyset: prod}]

Apps are matched by name in the account, keysets by name in their app; a
name used twice (in the file, or by two apps or two keysets of one app on the
server) is refused, since the file could mean either. What the file does not
say is not changed: configuration settings it leaves out keep their values,
and a keyset without a type keeps its own (a new one is a testing keyset).
Push credential files are read before anything is planned, and checked as the
server checks them; the server never shows a stored file, so a plan compares
their ids and file names only (upload a new key kept under the same name with
keyplane config upload-apns|upload-fcm). Customers are matched by externalId; their name is managed, and the keysets
listed (declared in the file or already in the account) are assigned to
them. Customers are never deleted and keysets never taken back: the API
has no way to.

The plan shows + create, ~ change (each field, from → to) and, only with
--prune, - delete, then the permission rows an integration needs to apply it
(in the --grant syntax of keyplane admin create-integration). The key must
be able to read every app and keyset of the account: a narrower key sees part
of it, and would plan to create what it cannot see.`

// plan loads the declaration d names, connects, and makes the plan: what
// plan shows and apply carries out.
func (a *apiCLI) plan(cmd *cobra.Command, d *declareFlags) (*client.Client, *declare.Plan, error) {
	decl, err := d.load(cmd)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.connect(cmd)
	if err != nil {
		return nil, nil, err
	}
	p, err := declare.Make(cmd.Context(), c, decl, declare.Options{Prune: d.prune})
	return c, p, err
}

func (a *apiCLI) planCommand() *cobra.Command {
	var d declareFlags
	cmd := &cobra.Command{
		Use:   "plan [-f keyplane.yaml] [--prune]",
		Short: "Show what apply would change to make the account hold what a file declares",
		Long:  "Show what apply would change to make the account hold what a file declares.\n\n" + declareLong,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, p, err := a.plan(cmd, &d)
			if err != nil {
				return err
			}
			return a.print(cmd, map[string]any{"plan": p}, func(w *tabwriter.Writer) { drawPlan(w, p, d.file, d.prune) })
		},
	}
	d.add(cmd)
	a.flags(cmd, false)
	return cmd
}

func (a *apiCLI) applyCommand() *cobra.Command {
	var d declareFlags
	var secretsFile string
	cmd := &cobra.Command{
		Use:   "apply [-f keyplane.yaml] [--prune] [--secrets-file FILE]",
		Short: "Make the account hold what a file declares; a second apply changes nothing",
		Long: "Make the account hold what a file declares: make the plan (see keyplane plan), print it,\n" +
			"and carry it out, without asking. Applying the same file again changes nothing.\n\n" + declareLong + `

Each keyset apply creates gets a secret key, shown once: printed after the
changes, or, with --secrets-file, appended to FILE (created 0600; an existing
file readable by others is refused) as one JSON object a line,
{"app","keyset","keysetId","secretKey"}, and not printed.

Apply stops at the first change the server refuses, repeating its messages;
the changes before it stay made. Fix the cause and apply again: the plan then
holds only what is still missing.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, p, err := a.plan(cmd, &d)
			if err != nil {
				return err
			}
			// The secrets file is opened before anything changes: a key
			// must never be made with nowhere to put it.
			var secrets *os.File
			if secretsFile != "" && createsKeysets(p) {
				if secrets, err = openSecretsFile(secretsFile); err != nil {
					return &usageError{cmd: cmd, err: err}
				}
				defer secrets.Close()
			}
			var applied []declare.Change
			var shown []declare.Secret
			var saved int
			err = p.Apply(cmd.Context(), c, func(ch declare.Change) { applied = append(applied, ch) }, func(s declare.Secret) error {
				if secrets == nil {
					shown = append(shown, s)
					return nil
				}
				b, err := json.Marshal(s)
				if err != nil {
					return err
				}
				if _, err := secrets.Write(append(b, '\n')); err != nil {
					return err
				}
				saved++
				return secrets.Sync()
			})
			if applied == nil {
				applied = []declare.Change{}
			}
			var step *declare.StepError
			if err != nil && !errors.As(err, &step) {
				return err
			}
			if step != nil && len(applied) == 0 {
				// Nothing changed: like every refused command, nothing on
				// stdout. Once something has changed, stdout says what
				// (and shows the secret keys made), refusal or not.
				fmt.Fprintf(a.stderr, "keyplane: apply stopped at its first change, %q; nothing was changed.\n", declare.Describe(step.Change))
				return step.Err
			}
			out := map[string]any{"plan": p, "applied": applied}
			if shown != nil {
				out["secretKeys"] = shown
			}
			if perr := a.print(cmd, out, func(w *tabwriter.Writer) {
				drawPlan(w, p, d.file, d.prune)
				if p.Empty() {
					return
				}
				fmt.Fprintln(w)
				for _, ch := range applied {
					fmt.Fprintf(w, "done: %s\n", declare.Describe(ch))
				}
				for _, s := range shown {
					fmt.Fprintf(w, "\nsecret key of keyset %q (%s) of app %q: %s\n", s.Keyset, s.KeysetID, s.App, s.SecretKey)
				}
				if len(shown) > 0 {
					fmt.Fprintln(w, "(shown once: store them in a secrets manager; they sign Access Manager grants)")
				}
				if saved > 0 {
					fmt.Fprintf(w, "\n%d secret keys appended to %s\n", saved, secretsFile)
				}
				if step == nil {
					fmt.Fprintf(w, "\nApplied %d changes.\n", len(applied))
				}
			}); perr != nil {
				return perr
			}
			if step != nil {
				fmt.Fprintf(a.stderr, "keyplane: apply stopped at %q after %d of %d changes; those stay made. Fix the cause and apply again.\n",
					declare.Describe(step.Change), len(applied), len(p.Changes))
				return step.Err
			}
			return nil
		},
	}
	d.add(cmd)
	cmd.Flags().StringVar(&secretsFile, "secrets-file", "", "append the secret keys of created keysets to this file (0600) instead of printing them")
	a.flags(cmd, false)
	return cmd
}

func createsKeysets(p *declare.Plan) bool {
	for _, ch := range p.Changes {
		if ch.Kind == declare.KindKeyset && ch.Action == declare.Create {
			return true
		}
	}
	return false
}

// openSecretsFile opens name for appending secret keys, creating it 0600,
// and refuses a file that others may read.
func openSecretsFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--secrets-file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--secrets-file: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 {
		f.Close()
		return nil, fmt.Errorf("--secrets-file %s: mode %v lets others read it; chmod 600 it or name a new file", name, st.Mode().Perm())
	}
	return f, nil
}

var actionSigns = map[string]string{declare.Create: "+", declare.Update: "~", declare.Delete: "-"}

// drawPlan writes a plan for people.
func drawPlan(w *tabwriter.Writer, p *declare.Plan, file string, prune bool) {
	if p.Empty() {
		fmt.Fprintf(w, "No changes: the account already holds what %s declares.\n", file)
	} else {
		counts := map[string]int{}
		for _, ch := range p.Changes {
			counts[ch.Action]++
			fmt.Fprintf(w, "%s %s\n", actionSigns[ch.Action], declare.Describe(ch))
			for _, f := range ch.Fields {
				switch {
				case ch.Action == declare.Create:
					fmt.Fprintf(w, "    %s: %s\n", f.Field, value(f.To))
				case f.Field == "keysets": // assigned, never taken back
					fmt.Fprintf(w, "    %s: + %s\n", f.Field, value(f.To))
				default:
					fmt.Fprintf(w, "    %s: %s → %s\n", f.Field, value(f.From), value(f.To))
				}
			}
		}
		fmt.Fprintf(w, "\n%d to create, %d to change, %d to delete.\n", counts[declare.Create], counts[declare.Update], counts[declare.Delete])
		fmt.Fprintln(w, "\nPermission rows this needs (keyplane admin create-integration --grant ROW):")
		for _, r := range p.Permissions {
			label := r
			if g, err := keyplane.ParseGrant(r); err == nil {
				label = g.Label()
			}
			fmt.Fprintf(w, "  %s\t%s\n", r, label)
		}
	}
	if len(p.Unmanaged) > 0 && !prune {
		fmt.Fprintln(w, "\nNot in the file, left as they are (--prune would delete them):")
		for _, u := range p.Unmanaged {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
}

// value renders a setting as JSON: strings quoted, null as null.
func value(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
