package views

import "time"

// AccountModel is the signed-in user's account page: the password change form.
type AccountModel struct {
	Layout
	Error string // why the last change was refused, or empty
}

// ResetPasswordModel is the page a reset link opens: a new password for Email.
type ResetPasswordModel struct {
	Layout
	Email  string
	Action string // where the form posts: the reset link itself
	Error  string
}

// AdminUsersModel is the admin's page: every account, the sign-up policy
// and invitations.
type AdminUsersModel struct {
	Layout
	Users   []AdminUser
	Signup  string   // open | invite | closed
	NewLink *NewLink // a link just made; it is shown only this once
}

// AdminUser is one account as the admin sees it.
type AdminUser struct {
	ID        int64
	Email     string
	CreatedAt time.Time
	Admin     bool
	Disabled  bool
	You       bool // the admin's own account, which cannot be disabled here
}

// NewLink is an invitation or a reset link for the admin to pass on.
type NewLink struct {
	What      string // "Invitation" or "Password reset for ada@example.com"
	URL       string
	ExpiresAt time.Time
}

// APITokensModel is the page of the user's API tokens.
type APITokensModel struct {
	Layout
	Tokens   []APIToken
	NewToken *APIToken // just made, with its Secret; shown once
	Error    string    // why the last token was refused, or empty
}

// APIToken is one token as its page shows it; Secret only when just made.
type APIToken struct {
	ID         string
	Name       string
	Secret     string
	CreatedAt  time.Time
	LastUsedAt time.Time
}
