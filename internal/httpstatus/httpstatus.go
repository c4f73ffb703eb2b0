// Package httpstatus holds what the HTTP front ends (the API and the
// portal) share about statuses: the one table from domain error codes to
// HTTP statuses, and a ResponseWriter that remembers the status it sent,
// for the request log.
package httpstatus

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
)

var ofCode = map[keyplane.Code]int{
	keyplane.CodeInvalid:              http.StatusBadRequest,
	keyplane.CodeUnauthorized:         http.StatusUnauthorized,
	keyplane.CodeForbidden:            http.StatusForbidden,
	keyplane.CodeNotFound:             http.StatusNotFound,
	keyplane.CodeConflict:             http.StatusConflict,
	keyplane.CodePreconditionFailed:   http.StatusPreconditionFailed,
	keyplane.CodeUnprocessable:        http.StatusUnprocessableEntity,
	keyplane.CodeTooLarge:             http.StatusRequestEntityTooLarge,
	keyplane.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	keyplane.CodeTooManyRequests:      http.StatusTooManyRequests,
	keyplane.CodeInternal:             http.StatusInternalServerError,
	keyplane.CodeUnavailable:          http.StatusServiceUnavailable,
}

// Of is the HTTP status of a domain error code; 500 for a code it does not
// know.
func Of(c keyplane.Code) int {
	if s, ok := ofCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// SetRetryAfter sets the Retry-After header, in whole seconds rounded up,
// when err says how long to wait.
func SetRetryAfter(h http.Header, err error) {
	if d := keyplane.RetryAfterOf(err); d > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// Recorder is a ResponseWriter that remembers the status of the answer:
// 0 until a header or body is written.
type Recorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader implements http.ResponseWriter.
func (s *Recorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (s *Recorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
