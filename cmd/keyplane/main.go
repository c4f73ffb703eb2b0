// Command keyplane is Keyplane in one binary: the server (keyplane serve),
// the operator's admin commands, the command-line client of the API
// (keyplane apps, keysets, config, secret-keys, usage get), the MCP server
// for AI assistants (keyplane mcp), and declarative plan and apply.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal now ends the process at once, without waiting for the graceful stop
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		report(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// run is the whole program, with its environment passed in so tests can
// run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := rootCommand(getenv, stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	return root.ExecuteContext(ctx)
}
