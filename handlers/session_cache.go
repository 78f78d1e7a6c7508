package handlers

import (
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"
)

// decodedCookies remember what recent session cookies decoded to, by the
// cookie's value. A page reconnecting its event stream sends the same
// cookie each time (ten thousand tabs after a restart send one cookie ten
// thousand times), and decoding it (authenticate, decrypt, gob) costs more
// than the rest of opening a stream. A value that decoded once decodes the
// same way again, as the codecs authenticate it; entries are dropped after
// decodedCookieTTL, so a cookie whose signature expires is not kept alive
// here (currentUser also ends sessions older than sessionLifetime).
const (
	decodedCookieTTL = time.Minute
	decodedCookieMax = 4096 // entries; when full, the map starts over
)

// cachingCookieStore is the session store: gorilla's CookieStore, with
// decoded cookies remembered.
type cachingCookieStore struct {
	*sessions.CookieStore
	now func() time.Time

	mu      sync.Mutex
	decoded map[string]decodedCookie
}

type decodedCookie struct {
	values map[any]any
	until  time.Time
}

func newCachingCookieStore(s *sessions.CookieStore, now func() time.Time) *cachingCookieStore {
	return &cachingCookieStore{CookieStore: s, now: now, decoded: map[string]decodedCookie{}}
}

// Get returns the request's session, decoded once per request (the
// registry keeps it on the request).
func (s *cachingCookieStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New decodes the request's session cookie, or finds it decoded.
func (s *cachingCookieStore) New(r *http.Request, name string) (*sessions.Session, error) {
	c, err := r.Cookie(name)
	if err != nil {
		return s.CookieStore.New(r, name) // no cookie: a fresh session
	}
	now := s.now()
	s.mu.Lock()
	d, ok := s.decoded[c.Value]
	s.mu.Unlock()
	if ok && now.Before(d.until) {
		sess := sessions.NewSession(s, name)
		opts := *s.Options
		sess.Options = &opts
		sess.Values = maps.Clone(d.values) // callers change their copy
		return sess, nil
	}
	sess, err := s.CookieStore.New(r, name)
	if err != nil {
		return sess, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.decoded) >= decodedCookieMax {
		clear(s.decoded)
	}
	s.decoded[c.Value] = decodedCookie{values: maps.Clone(sess.Values), until: now.Add(decodedCookieTTL)}
	return sess, nil
}

// Save encodes the session into its cookie.
func (s *cachingCookieStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	return s.CookieStore.Save(r, w, sess)
}
