package handlers

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/bcrypt"

	"scribe/job"
)

// Password rules. bcrypt reads only the first 72 bytes, so a longer
// password is refused when set and never matches when given: it is not
// cut short silently either way.
const (
	minPasswordLen   = 8  // characters
	maxPasswordBytes = 72 // bcrypt's limit
	// minPasswordScore is zxcvbn's "safely unguessable" (about 10^8
	// guesses and up): it refuses "12345678", "password" and eight spaces
	// but takes a few unrelated words.
	minPasswordScore = 3
)

// Variables for tests.
var (
	// passwordWorkWait is how long a request waits for a password slot
	// before it is told to retry.
	passwordWorkWait = 2 * time.Second
	// bcryptCost is the work factor of new hashes (and of dummyHash).
	bcryptCost = bcrypt.DefaultCost
)

// errBusy answers a request that found every password slot taken.
var errBusy = retryLater{job.Errorf(job.CodeBusy, "Too many people are signing in right now; try again in a few seconds."), 2 * time.Second}

// passwordWork bounds how many bcrypt hashes and strength estimates run at
// once, to half the cores rounded up: a flood of log-ins waits its turn or
// is turned away instead of taking the CPU from every page.
type passwordWork chan struct{}

func newPasswordWork() passwordWork { return make(passwordWork, (runtime.GOMAXPROCS(0)+1)/2) }

// do runs fn in a slot; errBusy when none frees up within passwordWorkWait.
func (p passwordWork) do(ctx context.Context, fn func()) error {
	t := time.NewTimer(passwordWorkWait)
	defer t.Stop()
	select {
	case p <- struct{}{}:
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p }()
	fn()
	return nil
}

// passwordMatches compares the whole password with hash.
func passwordMatches(hash []byte, password string) bool {
	return len(password) <= maxPasswordBytes && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// dummyHash is compared against for unknown emails, so they take as long as
// known ones; made on first use rather than at every start.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), bcryptCost)
	return h
})

// hashNewPassword checks a new password for email's account against the
// rules and hashes it.
func (h *Handler) hashNewPassword(ctx context.Context, email, password string) ([]byte, error) {
	switch {
	case utf8.RuneCountInString(password) < minPasswordLen:
		return nil, job.Errorf(job.CodeInvalid, "Choose a password of at least 8 characters.")
	case len(password) > maxPasswordBytes:
		return nil, job.Errorf(job.CodeInvalid, "Choose a password of at most 72 bytes: 72 letters or digits, fewer with accents or emoji.")
	}
	var hash []byte
	var err error
	weak := false
	werr := h.passwords.do(ctx, func() {
		// The estimate takes up to half a second for 72 bytes of some
		// inputs, so it runs in a slot like bcrypt does.
		if weak = zxcvbn.PasswordStrength(password, passwordContext(email)).Score < minPasswordScore; !weak {
			hash, err = bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
		}
	})
	switch {
	case werr != nil:
		return nil, werr
	case weak:
		return nil, job.Errorf(job.CodeInvalid, "That password is too easy to guess. Try a few unrelated words, or let a password manager make one.")
	}
	return hash, err
}

// passwordContext are words an attacker would try first for this account.
func passwordContext(email string) []string {
	local, domain, _ := strings.Cut(email, "@")
	return []string{email, local, domain, "scribe"}
}
