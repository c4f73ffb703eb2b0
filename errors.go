package keyplane

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error. Each code maps to exactly one HTTP status and
// one wire name, in the HTTP adapter; the domain never speaks HTTP.
type Code string

// Error codes. The string values are the wire names of PubNub's error body
// ("error" field), so adapters can use them as they are.
const (
	CodeInvalid      Code = "BadRequest"
	CodeUnauthorized Code = "Unauthorized"
	CodeForbidden    Code = "Forbidden"
	CodeNotFound     Code = "NotFound"
	CodeConflict     Code = "Conflict"
	// CodePreconditionFailed: an If-Match condition does not hold.
	CodePreconditionFailed Code = "PreconditionFailed"
	// CodeUnprocessable: the request is well formed but cannot be carried
	// out as sent (an Idempotency-Key reused for another request).
	CodeUnprocessable Code = "UnprocessableEntity"
	CodeTooLarge      Code = "PayloadTooLarge"
	// CodeUnsupportedMediaType: a body sent with a Content-Type that is not
	// JSON, which the API would otherwise read as JSON all the same.
	CodeUnsupportedMediaType Code = "UnsupportedMediaType"
	CodeTooManyRequests      Code = "TooManyRequests"
	CodeInternal             Code = "InternalError"
	CodeUnavailable          Code = "ServiceUnavailable"
)

// Error is the one error type of the domain. Messages are shown to the
// caller as they are, one per problem, each naming the field or thing at
// fault (for example "keyset.appId: required").
type Error struct {
	Code     Code
	Messages []string
	// Wire, when set, is the "error" name sent instead of Code's: PubNub
	// answers some routes with names of their own ("Bad Request" for an
	// unknown usage metric), and clients match on them.
	Wire string
	// RetryAfter, when set, is how long the caller should wait before
	// trying again (a throttle, a busy server): front ends send it as
	// Retry-After.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if len(e.Messages) == 0 {
		return string(e.Code)
	}
	s := e.Messages[0]
	for _, m := range e.Messages[1:] {
		s += "; " + m
	}
	return s
}

// Errorf returns an *Error with one formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Messages: []string{fmt.Sprintf(format, args...)}}
}

// Invalid returns a CodeInvalid error carrying every message given, or nil
// when there are none, so validators can end with `return Invalid(msgs...)`.
func Invalid(msgs ...string) error {
	if len(msgs) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Messages: msgs}
}

// ErrorCode returns the code of err, CodeInternal for errors that are not
// an *Error (those are bugs or infrastructure failures, never shown).
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessages returns the caller-facing messages of err. Internal errors
// say nothing of their cause.
func ErrorMessages(err error) []string {
	var e *Error
	if errors.As(err, &e) && len(e.Messages) > 0 {
		return e.Messages
	}
	if ErrorCode(err) == CodeInternal {
		return []string{"internal error"}
	}
	return []string{string(ErrorCode(err))}
}

// RetryAfterOf is how long err asks the caller to wait before trying
// again: 0 when it does not say.
func RetryAfterOf(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.RetryAfter
	}
	return 0
}
