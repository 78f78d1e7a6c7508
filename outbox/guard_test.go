package outbox

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"scribe/job"
	"scribe/store"
)

func TestReachOf(t *testing.T) {
	for addr, want := range map[string]reach{
		"93.184.216.34":          reachPublic,
		"2606:4700::1111":        reachPublic,
		"64:ff9b::5db8:d822":     reachPublic, // NAT64 of a public address
		"127.0.0.1":              reachPrivate,
		"::1":                    reachPrivate,
		"10.1.2.3":               reachPrivate,
		"172.16.0.1":             reachPrivate,
		"192.168.1.1":            reachPrivate,
		"100.64.0.1":             reachPrivate,
		"fd00::1":                reachPrivate,
		"::ffff:127.0.0.1":       reachPrivate,
		"64:ff9b::7f00:1":        reachPrivate, // NAT64 of 127.0.0.1
		"2002:7f00:1::":          reachPrivate, // 6to4 of 127.0.0.1
		"169.254.169.254":        reachForbidden,
		"fe80::1":                reachForbidden,
		"0.0.0.0":                reachForbidden,
		"::":                     reachForbidden,
		"224.0.0.1":              reachForbidden,
		"ff02::1":                reachForbidden,
		"255.255.255.255":        reachForbidden,
		"::ffff:169.254.169.254": reachForbidden,
	} {
		if got := reachOf(netip.MustParseAddr(addr)); got != want {
			t.Errorf("reachOf(%s) = %d, want %d", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		wantErr      string // empty: accepted
	}{
		{"https://hooks.example.com/scribe", false, ""},
		{"https://93.184.216.34/x", false, ""},
		{"http://hooks.example.com/scribe", false, "Use an https:// URL"},
		{"http://hooks.example.com/scribe", true, "Use an https:// URL"},
		{"http://93.184.216.34/x", true, "public address, which webhooks reach only over https"},
		{"https://127.0.0.1:8443/x", false, "loopback or private"},
		{"http://127.0.0.1:9000/x", false, "loopback or private"},
		{"http://127.0.0.1:9000/x", true, ""},
		{"http://localhost:9000/x", true, ""},
		{"https://localhost/x", false, "loopback or private"},
		{"https://10.0.0.8/x", true, ""},
		{"https://169.254.169.254/latest/meta-data", true, "link-local"},
		{"https://[fe80::1]/x", true, "link-local"},
		{"https://user:pw@hooks.example.com/", false, "user name or password"},
		{"https://hooks.example.com/#frag", false, "fragment"},
		{"ftp://hooks.example.com/", false, "absolute https://"},
		{"/relative", false, "absolute https://"},
		{"https://", false, "absolute https://"},
		{"https://example.com/" + strings.Repeat("a", maxURLBytes), false, "longer than"},
	} {
		_, err := CheckURL(tc.url, tc.allowPrivate)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("CheckURL(%q, %v) = %v, want it accepted", tc.url, tc.allowPrivate, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("CheckURL(%q, %v) = %v, want an error with %q", tc.url, tc.allowPrivate, err, tc.wantErr)
		case err != nil && job.ErrorCode(err) != job.CodeInvalid:
			t.Errorf("CheckURL(%q): error code %v, want invalid (400)", tc.url, job.ErrorCode(err))
		}
	}
}

// TestRetrySchedule follows one delivery that always fails with the
// default base: the waits double from about 10 s to 6 h, and it is given
// up after about three days and some 23 attempts.
func TestRetrySchedule(t *testing.T) {
	d := New(nil, Config{}, nil, nil)
	event := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	del := store.HookDelivery{RetryFrom: event}
	now := event
	var waits []string
	for {
		del.Attempts++
		state, next := d.retry(now, store.HookDelivery{Attempts: del.Attempts - 1, RetryFrom: event})
		if state == store.DeliveryFailed {
			break
		}
		wait := next.Sub(now)
		base := min(defaultRetryBase<<(del.Attempts-1), maxRetryDelay)
		if wait < base*8/10 || wait > base*12/10 {
			t.Fatalf("wait after attempt %d is %v, want %v ±20 %%", del.Attempts, wait, base)
		}
		waits = append(waits, wait.Round(time.Second).String())
		now = next
	}
	t.Logf("%d attempts, the last %v after the event; waits %s", del.Attempts, now.Sub(event).Round(time.Minute), strings.Join(waits, " "))
	// The last wait is up to the cap plus its jitter before the deadline.
	if span := now.Sub(event); span < retryFor-maxRetryDelay*12/10 || span > retryFor {
		t.Errorf("last attempt %v after the event, want about three days", span)
	}
	if del.Attempts < 20 || del.Attempts > 26 {
		t.Errorf("%d attempts, want about 23", del.Attempts)
	}
}
