package bulk

import (
	"errors"
	"fmt"
)

// Error codes of domain errors, mapped to a status only at the HTTP edge.
const (
	EInvalid             = "invalid"
	ENotFound            = "not_found"
	EConflict            = "conflict"
	EStale               = "stale"
	EUnconfirmed         = "unconfirmed"
	EInsufficientCredits = "insufficient_credits"
	EUnauthorized        = "unauthorized"
	EForbidden           = "forbidden"
	ETooLarge            = "too_large"
	EInternal            = "internal"
)

// Error is a domain error: a stable code and a message safe to show a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the domain error in err's chain, or
// EInternal when there is none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-safe message of the domain error in err's
// chain, or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
