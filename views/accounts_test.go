package views

import (
	"strings"
	"testing"
)

func TestAdminUsersPage(t *testing.T) {
	admin := Layout{Title: "Users", UserEmail: "admin@example.com", Admin: true}
	m := AdminUsersModel{Layout: admin, Signup: "invite", Users: []AdminUser{
		{ID: 1, Email: "admin@example.com", CreatedAt: created, Admin: true, You: true},
		{ID: 2, Email: "bob@example.com", CreatedAt: created},
		{ID: 3, Email: "eve@example.com", CreatedAt: created, Disabled: true},
	}, NewLink: &NewLink{What: "Invitation", URL: "https://scribe.example/signup?invite=ABC", ExpiresAt: created}}
	doc, _ := render(t, AdminUsersPage(m))
	if got := byTestID(doc, "nav-admin").AttrOr("href", ""); got != "/admin/users" {
		t.Errorf("admin nav link = %q", got)
	}
	if got, want := byTestID(doc, "new-link-url").AttrOr("value", ""), m.NewLink.URL; got != want {
		t.Errorf("new link = %q, want %q", got, want)
	}
	for id, want := range map[string]struct{ status, action string }{
		"user-1": {"admin", ""}, "user-2": {"active", "disable"}, "user-3": {"disabled", "enable"},
	} {
		row := byTestID(doc, id)
		if got := row.Find(`[data-testid="user-status"]`).Text(); !strings.Contains(got, want.status) {
			t.Errorf("%s status %q, want %q", id, got, want.status)
		}
		for _, action := range []string{"disable", "enable"} {
			if got, wanted := row.Find(`[data-testid="`+action+`"]`).Length(), action == want.action; (got == 1) != wanted {
				t.Errorf("%s: %d %s buttons, want %t", id, got, action, wanted)
			}
		}
		if row.Find(`form[method="post"] [data-testid="reset"]`).Length() != 1 {
			t.Errorf("%s has no reset link button", id)
		}
	}
	if byTestID(doc, "invite").Length() != 1 {
		t.Error("no invitation button with sign-up by invitation")
	}

	m.Signup, m.NewLink = "closed", nil
	doc, _ = render(t, AdminUsersPage(m))
	if byTestID(doc, "invite").Length() != 0 || byTestID(doc, "new-link").Length() != 0 {
		t.Error("an invitation button or link while sign-up is closed")
	}
}

func TestAccountPages(t *testing.T) {
	doc, _ := render(t, AccountPage(AccountModel{Layout: signedIn, Error: "Your current password is not right."}))
	form := doc.Find(`form[method="post"][action="/account/password"]`)
	if form.Find(`input[name="current"][type="password"]`).Length() != 1 || form.Find(`input[name="password"][autocomplete="new-password"]`).Length() != 1 {
		t.Error("the password form lacks its current or new password field")
	}
	if got := byTestID(doc, "form-error").Text(); got != "Your current password is not right." {
		t.Errorf("error = %q", got)
	}
	if byTestID(doc, "nav-admin").Length() != 0 {
		t.Error("admin link shown to a user who is not the admin")
	}

	doc, _ = render(t, ResetPasswordPage(ResetPasswordModel{Layout: Layout{Title: "Reset"}, Email: "bob@example.com", Action: "/reset/TOKEN"}))
	if doc.Find(`form[method="post"][action="/reset/TOKEN"] input[name="password"]`).Length() != 1 {
		t.Error("the reset form does not post a password to its link")
	}

	doc, _ = render(t, SignupPage(AuthModel{Layout: Layout{Title: "Sign up"}, Invite: "INV"}))
	if got := doc.Find(`form[action="/signup"] input[type="hidden"][name="invite"]`).AttrOr("value", ""); got != "INV" {
		t.Errorf("sign-up form carries invitation %q, want INV", got)
	}
}
