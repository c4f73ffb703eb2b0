package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a non-2xx answer of the server. Its fields are those of the
// API's error body, {"statusCode", "error", "message"}, except that
// StatusCode is always the HTTP status.
//
// Look at one with errors.As, or at its status alone with StatusCode:
//
//	if client.StatusCode(err) == http.StatusNotFound { … }
type Error struct {
	StatusCode int      // the HTTP status, such as 403
	Name       string   // the error name, such as "Forbidden"; empty when the body was not the API's error body
	Messages   []string // one per problem, each naming the field or thing at fault
}

// Error renders e as "keyplane: 403 Forbidden: message; message".
func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("keyplane: %d %s", e.StatusCode, name)
	if len(e.Messages) > 0 {
		s += ": " + strings.Join(e.Messages, "; ")
	}
	return s
}

// StatusCode returns the HTTP status of the *Error in err's chain, or 0
// when there is none (a connection error, a cancelled context, nil).
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// maxQuoted is how much of a body that is not the error body an Error quotes.
const maxQuoted = 200

// errorFrom makes the Error of an answer with status and body.
func errorFrom(status int, body []byte) *Error {
	var b struct {
		Error   string   `json:"error"`
		Message []string `json:"message"`
	}
	if err := json.Unmarshal(body, &b); err == nil && b.Error != "" {
		return &Error{StatusCode: status, Name: b.Error, Messages: b.Message}
	}
	q := body
	if len(q) > maxQuoted {
		q = append(q[:maxQuoted:maxQuoted], "…"...)
	}
	msg := "the answer is not the API's JSON error body"
	if len(body) > 0 {
		msg += ": " + strings.ToValidUTF8(strings.TrimSpace(string(q)), "\uFFFD")
	}
	return &Error{StatusCode: status, Messages: []string{msg}}
}
