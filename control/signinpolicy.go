package control

import "github.com/keyplane/keyplane"

// ErrMustEnrol is what Session answers for the session of a person who
// must enrol a second factor before anything else (an account of theirs
// requires two factors): the principal it returns with it holds no
// permission rows, so every operation but the person's own enrolment
// refuses it.
var ErrMustEnrol = keyplane.Errorf(keyplane.CodeForbidden, "Your account requires two factors: set up an authenticator app or a passkey before anything else.")
