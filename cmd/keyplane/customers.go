package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane/client"
)

// Views of the OEM routes: the objects inside the API's {"result": …}, as
// it writes them, app and keyset ids as numbers (PubNub's partner API does
// so), the customer's own id as a string. The client holds every id as a
// string; a customer summary, which has no app or keyset id, prints as the
// client's type.

type customerKeysetView struct {
	ID         json.Number `json:"id"`
	AssignedAt client.Time `json:"assignedAt"`
}

type customerView struct {
	ID         string                `json:"id"`
	ExternalID string                `json:"externalId"`
	Name       string                `json:"name"`
	Created    client.Time           `json:"created"`
	Updated    client.Time           `json:"updated"`
	Keysets    *[]customerKeysetView `json:"keysets,omitempty"` // nil where the API leaves them out (of-keyset)
}

type customerAppView struct {
	ID        json.Number `json:"id"`
	AccountID json.Number `json:"accountId"`
}

func customerKeysetsOut(ks []client.CustomerKeyset) []customerKeysetView {
	out := make([]customerKeysetView, len(ks))
	for i, k := range ks {
		out[i] = customerKeysetView{json.Number(k.ID), k.AssignedAt}
	}
	return out
}

func customerOut(c client.Customer, withKeysets bool) customerView {
	v := customerView{ID: c.ID, ExternalID: c.ExternalID, Name: c.Name, Created: c.Created, Updated: c.Updated}
	if withKeysets {
		ks := customerKeysetsOut(c.Keysets)
		v.Keysets = &ks
	}
	return v
}

func customerKeysetsTable(w *tabwriter.Writer, ks []customerKeysetView) {
	row(w, "KEYSET", "ASSIGNED")
	for _, k := range ks {
		row(w, k.ID.String(), k.AssignedAt.String())
	}
}

func customerTable(v customerView) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "EXTERNAL ID", "NAME", "CREATED", "UPDATED")
		row(w, v.ID, v.ExternalID, v.Name, v.Created.String(), v.Updated.String())
		if v.Keysets != nil {
			fmt.Fprintln(w)
			if len(*v.Keysets) == 0 {
				fmt.Fprintln(w, "no keysets")
				return
			}
			customerKeysetsTable(w, *v.Keysets)
		}
	}
}

// printCustomer prints a customer with its keysets.
func (a *apiCLI) printCustomer(cmd *cobra.Command, c client.Customer) error {
	v := customerOut(c, true)
	return a.print(cmd, v, customerTable(v))
}

func (a *apiCLI) customersList() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "list [--app APP_ID]",
		Short: "List the customers, with how many keysets each holds in how many apps",
		Args:  usageArgs(cobra.NoArgs),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			cs, err := c.ListCustomers(cmd.Context(), app)
			if err != nil {
				return err
			}
			if cs == nil {
				cs = []client.CustomerSummary{}
			}
			return a.print(cmd, map[string]any{"customers": cs, "total": len(cs)}, func(w *tabwriter.Writer) {
				row(w, "ID", "EXTERNAL ID", "NAME", "APPS", "KEYSETS", "CREATED")
				for _, v := range cs {
					row(w, v.ID, v.ExternalID, v.Name, fmt.Sprint(v.AppCount), fmt.Sprint(v.KeysetCount), v.Created.String())
				}
			})
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only the customers holding a keyset of this app")
	cmd.RegisterFlagCompletionFunc("app", a.completeApps)
	return cmd
}

func (a *apiCLI) customersGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get CUSTOMER_ID",
		Short: "Show a customer with its keysets",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cu, err := c.GetCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printCustomer(cmd, cu)
		}),
	}
}

func (a *apiCLI) customersCreate() *cobra.Command {
	var externalID, name string
	var keysets []string
	cmd := &cobra.Command{
		Use:   "create --external-id ID --name NAME [--keyset KEYSET_ID]...",
		Short: "Create a customer, assigning it keysets if given",
		Long: `Create a customer with your own id for it (--external-id: 1 to 255 letters,
digits, "_" or "-", unique in the account, never changed) and a display name.
Each --keyset is assigned to it at once; a keyset of another customer is
refused (exit 1, 409 Conflict) and then nothing is created.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if externalID == "" || name == "" {
				return usagef(cmd, "--external-id and --name: required")
			}
			if err := checkKeysetIDs(cmd, "--keyset", keysets); err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			cu, err := c.CreateCustomer(cmd.Context(), client.NewCustomer{ExternalID: externalID, Name: name, KeysetIDs: keysets})
			if err != nil {
				return err
			}
			return a.printCustomer(cmd, cu)
		},
	}
	cmd.Flags().StringVar(&externalID, "external-id", "", "your id for the customer (required)")
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	cmd.Flags().StringSliceVar(&keysets, "keyset", nil, "keyset to assign (repeat, or separate with commas)")
	cmd.RegisterFlagCompletionFunc("keyset", a.completeKeysets)
	return cmd
}

func (a *apiCLI) customersUpdate() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "update CUSTOMER_ID --name NAME",
		Short: "Rename a customer (its external id never changes)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("name") {
				return usagef(cmd, "--name: required (the name is all a customer's update changes)")
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			cu, err := c.RenameCustomer(cmd.Context(), args[0], name)
			if err != nil {
				return err
			}
			return a.printCustomer(cmd, cu)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	return cmd
}

func (a *apiCLI) customersAssign() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assign-keysets CUSTOMER_ID KEYSET_ID...",
		Short: "Add keysets to a customer (keeping those it has); show it with all its keysets",
		Long: `Add keysets to a customer. Keysets it holds already keep their first
assignment time. A keyset belongs to one customer at most: one of another
customer is refused (exit 1, 409 Conflict), and then none is assigned.`,
		Args: usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeysetIDs(cmd, "KEYSET_ID", args[1:]); err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			cu, err := c.AssignCustomerKeysets(cmd.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			return a.printCustomer(cmd, cu)
		},
	}
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return a.completeCustomers(cmd, args, toComplete)
		}
		return a.completeKeysets(cmd, args, toComplete)
	}
	return cmd
}

// checkKeysetIDs refuses, before anything is sent, a keyset id that is no
// positive integer: the OEM routes take them as JSON numbers.
func checkKeysetIDs(cmd *cobra.Command, what string, ids []string) error {
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n < 1 {
			return usagef(cmd, "%s %q: want a keyset id, a positive integer", what, id)
		}
	}
	return nil
}

func (a *apiCLI) customersApps() *cobra.Command {
	return &cobra.Command{
		Use:   "apps CUSTOMER_ID",
		Short: "List the apps holding a customer's keysets",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			apps, err := c.CustomerApps(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			views := make([]customerAppView, len(apps))
			for i, x := range apps {
				views[i] = customerAppView{json.Number(x.ID), json.Number(x.AccountID)}
			}
			return a.print(cmd, map[string]any{"apps": views}, func(w *tabwriter.Writer) {
				row(w, "APP", "ACCOUNT")
				for _, v := range views {
					row(w, v.ID.String(), v.AccountID.String())
				}
			})
		}),
	}
}

func (a *apiCLI) customersKeysets() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "keysets CUSTOMER_ID [--app APP_ID]",
		Short: "List a customer's keysets, in one app with --app",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			ks, err := c.CustomerKeysets(cmd.Context(), args[0], app)
			if err != nil {
				return err
			}
			views := customerKeysetsOut(ks)
			return a.print(cmd, map[string]any{"keysets": views}, func(w *tabwriter.Writer) { customerKeysetsTable(w, views) })
		}),
	}
	cmd.Flags().StringVar(&app, "app", "", "only the keysets of this app")
	cmd.RegisterFlagCompletionFunc("app", a.completeApps)
	return cmd
}

func (a *apiCLI) customersOfKeyset() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "of-keyset KEYSET_ID",
		Short: "Show the customer a keyset belongs to (exit 3 when it belongs to none)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cu, err := c.KeysetCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v := customerOut(cu, false)
			return a.print(cmd, v, customerTable(v))
		}),
	}
	cmd.ValidArgsFunction = firstArg(a.completeKeysets)
	return cmd
}

// completeCustomers completes a customer id from the server, each with its
// name and external id.
func (a *apiCLI) completeCustomers(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := a.connect(cmd)
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	cs, err := c.ListCustomers(ctx, "")
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]cobra.Completion, len(cs))
	for i, x := range cs {
		out[i] = cobra.CompletionWithDesc(x.ID, fmt.Sprintf("%s (%s)", x.Name, x.ExternalID))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
