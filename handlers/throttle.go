package handlers

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login throttling keeps three counts of failed log-ins, each with free
// failures and then an exponential wait before the next try (1 s, 2 s,
// 4 s… up to failureMaxWait), forgotten failureMemory after its last
// failure:
//
//   - per (account, address): 5 free. It stops guessing one account from
//     one address, and it is the only count a log-in from an address that
//     signed in to the account within knownAddressFor has to pass.
//   - per address: 20 free. It stops one address trying many accounts.
//   - per account: 20 free. It stops many addresses sharing out the
//     guesses at one account.
//
// So an attacker elsewhere cannot lock the owner out: the owner's usual
// addresses answer only to their own pair's count, which the attacker
// does not touch. From a new address the owner may meet the account's
// wait, which is at most failureMaxWait. Accounts are keyed by the folded
// email whether or not such an account exists, so throttling tells nothing
// about which emails have accounts.
//
// Failed API tokens count per address: tokenFreeFailures free, then the
// same doubling wait. A token has 130 random bits, so this is not what
// keeps them from being guessed; it keeps a flood of bad tokens cheap.
//
// Sign-ups spend tokens per address and per email (rate.Limiter buckets),
// every attempt alike: each costs a password check, and a taken email's
// answer is what an enumeration would harvest.
//
// Memory is bounded: each table holds at most throttleEntries entries, and
// entries expire lazily (no goroutine): a full table first drops expired
// entries, then a random quarter.
const (
	pairFreeFailures    = 5
	addressFreeFailures = 20
	accountFreeFailures = 20
	failureBaseWait     = time.Second
	failureMaxWait      = 15 * time.Minute
	failureMemory       = time.Hour // longer than failureMaxWait, so a wait is never forgotten early
	knownAddressFor     = 30 * 24 * time.Hour
	tokenFreeFailures   = 20

	signupAddressBurst = 10
	signupAddressEvery = 6 * time.Minute
	signupEmailBurst   = 3
	signupEmailEvery   = 20 * time.Minute
)

// throttleEntries bounds each of the throttle's tables; a variable for tests.
var throttleEntries = 50_000

// throttle decides whether a log-in or sign-up may be tried now.
type throttle struct {
	now func() time.Time

	mu             sync.Mutex
	pairs          table[*failures]
	addresses      table[*failures]
	accounts       table[*failures]
	known          table[time.Time] // (account, address) → last successful log-in
	badTokens      table[*failures] // address → failed API tokens
	signupAddress  table[*rate.Limiter]
	signupAccounts table[*rate.Limiter]
}

func newThrottle(now func() time.Time) *throttle {
	t := &throttle{now: now}
	failed := func(f *failures, now time.Time) bool { return now.Sub(f.last) > failureMemory }
	full := func(l *rate.Limiter, now time.Time) bool { return l.TokensAt(now) >= float64(l.Burst()) }
	t.pairs = newTable(failed)
	t.addresses = newTable(failed)
	t.accounts = newTable(failed)
	t.badTokens = newTable(failed)
	t.known = newTable(func(at time.Time, now time.Time) bool { return now.Sub(at) > knownAddressFor })
	t.signupAddress = newTable(full)
	t.signupAccounts = newTable(full)
	return t
}

// loginWait is how long a log-in to account from addr must wait; 0 means now.
func (t *throttle) loginWait(account, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	pair := account + "\x00" + addr
	wait := t.pairs.get(pair, now).wait(now)
	if t.known.get(pair, now).IsZero() { // not an address the account signed in from
		wait = max(wait, t.addresses.get(addr, now).wait(now), t.accounts.get(account, now).wait(now))
	}
	return wait
}

// loginFailed counts a wrong password in all three counts.
func (t *throttle) loginFailed(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	fail(&t.pairs, account+"\x00"+addr, now, pairFreeFailures)
	fail(&t.addresses, addr, now, addressFreeFailures)
	fail(&t.accounts, account, now, accountFreeFailures)
}

// loginSucceeded forgets the pair's failures and remembers addr as one the
// account uses. The address's and account's counts stay: an attacker's
// failures elsewhere are not forgiven by the owner's success.
func (t *throttle) loginSucceeded(account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	pair := account + "\x00" + addr
	t.pairs.delete(pair)
	t.known.put(pair, now, now)
}

// tokenWait is how long an API token from addr must wait; 0 means now.
func (t *throttle) tokenWait(addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	return t.badTokens.get(addr, now).wait(now)
}

// tokenFailed counts a bad API token from addr.
func (t *throttle) tokenFailed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fail(&t.badTokens, addr, t.now(), tokenFreeFailures)
}

// signupWait spends a sign-up token of addr and of account, or neither
// when either must wait, and returns that wait.
func (t *throttle) signupWait(account, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	byAddr := bucket(&t.signupAddress, addr, now, signupAddressEvery, signupAddressBurst).ReserveN(now, 1)
	byAccount := bucket(&t.signupAccounts, account, now, signupEmailEvery, signupEmailBurst).ReserveN(now, 1)
	wait := max(byAddr.DelayFrom(now), byAccount.DelayFrom(now))
	if wait > 0 {
		byAddr.CancelAt(now)
		byAccount.CancelAt(now)
	}
	return wait
}

// failures is one count of failed log-ins.
type failures struct {
	count int
	last  time.Time // the latest failure
	until time.Time // no try before this
}

// wait is how long until the next try; a nil count has none.
func (f *failures) wait(now time.Time) time.Duration {
	if f == nil {
		return 0
	}
	return max(f.until.Sub(now), 0)
}

// fail counts a failure under key: past free failures, each one doubles
// the wait before the next try.
func fail(tb *table[*failures], key string, now time.Time, free int) {
	f := tb.get(key, now)
	if f == nil {
		f = &failures{}
		tb.put(key, f, now)
	}
	f.count++
	f.last = now
	if over := f.count - free; over >= 0 {
		wait := failureMaxWait
		if over < 20 { // 2^20 s is past any sensible maximum; the shift stays small
			wait = min(failureBaseWait<<over, failureMaxWait)
		}
		f.until = now.Add(wait)
	}
}

// bucket is key's token bucket, made full when new.
func bucket(tb *table[*rate.Limiter], key string, now time.Time, every time.Duration, burst int) *rate.Limiter {
	l := tb.get(key, now)
	if l == nil {
		l = rate.NewLimiter(rate.Every(every), burst)
		tb.put(key, l, now)
	}
	return l
}

// table is a map of at most throttleEntries entries that expire.
type table[V any] struct {
	m       map[string]V
	expired func(v V, now time.Time) bool
}

func newTable[V any](expired func(V, time.Time) bool) table[V] {
	return table[V]{m: map[string]V{}, expired: expired}
}

// get returns key's entry unless it has expired (the zero V then).
func (tb *table[V]) get(key string, now time.Time) V {
	v, ok := tb.m[key]
	if ok && tb.expired(v, now) {
		delete(tb.m, key)
		var zero V
		return zero
	}
	return v
}

func (tb *table[V]) put(key string, v V, now time.Time) {
	if _, ok := tb.m[key]; !ok && len(tb.m) >= throttleEntries {
		tb.makeRoom(now)
	}
	tb.m[key] = v
}

func (tb *table[V]) delete(key string) { delete(tb.m, key) }

// makeRoom drops expired entries and, if that is not enough, a random
// quarter of the table (map order is random): a flood from many addresses
// then costs it some memory of old failures, never unbounded memory.
func (tb *table[V]) makeRoom(now time.Time) {
	for k, v := range tb.m {
		if tb.expired(v, now) {
			delete(tb.m, k)
		}
	}
	for k := range tb.m {
		if len(tb.m) < throttleEntries*3/4 {
			break
		}
		delete(tb.m, k)
	}
}

// sourceAddress is who a request comes from, as throttling counts it: the
// peer's IP, or for a peer on loopback (a reverse proxy on this host) the
// last X-Forwarded-For entry, the one that proxy added. IPv6 addresses
// count by /64, the block one subscriber usually has.
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if fwd := r.Header.Values("X-Forwarded-For"); ip.IsLoopback() && len(fwd) > 0 {
		last := fwd[len(fwd)-1]
		last = strings.TrimSpace(last[strings.LastIndex(last, ",")+1:])
		if p, err := netip.ParseAddr(last); err == nil {
			ip = p
		}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
