package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
)

// Exit codes of the keyplane command (README, "CLI"). Scripts branch on
// them, so they only ever grow.
const (
	exitOK       = 0 // done
	exitError    = 1 // the server failed or refused for another reason (409, 5xx), or the connection did
	exitUsage    = 2 // the command as written cannot work: bad flags or arguments, or a 400 from the server
	exitNotFound = 3 // 404: the app, keyset or secret key is not there; for admin commands, the account, integration or key
	exitAuth     = 4 // 401 or 403: the API key is missing, wrong, expired or lacks a permission row; `authz check` answering denied
)

// usageError is a mistake in how the command was called, found before
// anything was sent. cmd, when known, names the command whose help to read.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef makes a usageError of cmd.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// usageArgs makes a cobra argument check's refusal a usageError.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		return nil
	}
}

// statusError ends a command that did its work with another exit status
// than 0, such as `authz check` answering "denied" (exitAuth). Its message
// goes to stderr as any error's does.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// exitCode is the process's exit status after run answered err.
func exitCode(err error) int {
	var ue *usageError
	var se *statusError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &se):
		return se.code
	}
	// The admin commands run the operations themselves: their refusals
	// are the domain's errors, given the codes the API's would get.
	switch keyplane.ErrorCode(err) {
	case keyplane.CodeInvalid:
		return exitUsage
	case keyplane.CodeNotFound:
		return exitNotFound
	case keyplane.CodeForbidden:
		return exitAuth
	}
	switch client.StatusCode(err) {
	case http.StatusBadRequest:
		return exitUsage
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	}
	return exitError
}

// report writes err for a person on w: a server's answer with every one of
// its messages, a usage mistake with where to read more.
func report(w io.Writer, err error) {
	var ce *client.Error
	var ue *usageError
	switch {
	case errors.As(err, &ce):
		name := ce.Name
		if name == "" {
			name = http.StatusText(ce.StatusCode)
		}
		if len(ce.Messages) == 1 {
			fmt.Fprintf(w, "keyplane: %d %s: %s\n", ce.StatusCode, name, ce.Messages[0])
			return
		}
		fmt.Fprintf(w, "keyplane: %d %s\n", ce.StatusCode, name)
		for _, m := range ce.Messages {
			fmt.Fprintf(w, "  - %s\n", m)
		}
	case errors.As(err, &ue):
		fmt.Fprintln(w, "keyplane:", err)
		if ue.cmd != nil {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", ue.cmd.CommandPath())
		}
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "keyplane: interrupted")
	default:
		// The client's errors name themselves already.
		fmt.Fprintln(w, "keyplane:", strings.TrimPrefix(err.Error(), "keyplane: "))
	}
}
