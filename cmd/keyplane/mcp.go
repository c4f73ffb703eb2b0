package main

import (
	"context"
	"io"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/mcp"
)

// mcpCommand is `keyplane mcp`: an MCP server on stdin and stdout whose
// tools call a Keyplane server's API with the key from the environment.
func (a *apiCLI) mcpCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve Keyplane's tools to an AI assistant over MCP on stdin and stdout",
		Long: `Serve Keyplane's tools to an AI assistant (Claude Desktop, an IDE, any MCP client)
over the Model Context Protocol on stdin and stdout. The tools call the server
named by --url (or KEYPLANE_URL, ADMIN_API_V2_URL) with the API key from
KEYPLANE_API_KEY (or PUBNUB_API_KEY): they can do what that key may do, no more.

Tools: manage_apps, manage_keysets and get_usage_metrics (the names and
arguments of PubNub's MCP server), manage_secret_keys, manage_customers (OEM
partner accounts), manage_webhooks and whoami.

Nothing but MCP messages is written on stdout.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			s := mcp.NewServer(func(context.Context, *sdk.CallToolRequest) (*client.Client, error) { return c, nil }, mcp.Options{})
			err := s.Run(cmd.Context(), &sdk.IOTransport{Reader: io.NopCloser(cmd.InOrStdin()), Writer: nopWriteCloser{cmd.OutOrStdout()}})
			if cmd.Context().Err() != nil {
				return nil // stopped by a signal: a normal end
			}
			return err
		}),
	}
	a.flags(cmd, false)
	cmd.Flags().MarkHidden("output")
	return cmd
}

// nopWriteCloser leaves stdout open when the MCP connection closes.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
