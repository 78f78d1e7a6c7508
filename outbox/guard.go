package outbox

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"scribe/job"
)

// maxURLBytes is the longest endpoint URL accepted.
const maxURLBytes = 2048

// reach is what kind of address a target resolves to.
type reach int

const (
	reachPublic    reach = iota
	reachPrivate         // loopback, private and other site-only ranges: allowed when configured
	reachForbidden       // link-local (cloud metadata), multicast, unspecified, reserved: never
)

// privatePrefixes are site-only ranges netip does not name: shared
// (carrier-grade NAT), IETF protocol assignments and benchmarking, and the
// deprecated IPv6 site-local block.
var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("fec0::/10"),
}

// forbiddenPrefixes are "this network" and the reserved block with the
// broadcast address, which no endpoint has.
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// embeddingPrefixes carry an IPv4 address inside an IPv6 one (NAT64,
// 6to4), at the byte offset given; the embedded address is judged too, so
// 64:ff9b::7f00:1 does not reach 127.0.0.1 as if it were public.
var embeddingPrefixes = []struct {
	prefix netip.Prefix
	at     int // byte offset of the IPv4 address
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12},
	{netip.MustParsePrefix("2002::/16"), 2},
}

// reachOf classifies an address.
func reachOf(ip netip.Addr) reach {
	ip = ip.Unmap()
	if ip.Is6() {
		for _, e := range embeddingPrefixes {
			if e.prefix.Contains(ip) {
				b := ip.As16()
				return reachOf(netip.AddrFrom4([4]byte(b[e.at : e.at+4])))
			}
		}
	}
	switch {
	case ip.IsUnspecified(), ip.IsLinkLocalUnicast(), ip.IsMulticast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast():
		return reachForbidden
	case ip.IsLoopback(), ip.IsPrivate():
		return reachPrivate
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(ip) {
			return reachForbidden
		}
	}
	for _, p := range privatePrefixes {
		if p.Contains(ip) {
			return reachPrivate
		}
	}
	return reachPublic
}

// refusal says why a connection of scheme to ip is not made, or nil: https
// reaches public addresses, and private ones when allowPrivate; http only
// private ones, and only when allowPrivate.
func refusal(scheme string, ip netip.Addr, allowPrivate bool) error {
	switch r := reachOf(ip); {
	case r == reachForbidden:
		return fmt.Errorf("%s is a link-local, multicast or reserved address, which webhooks never reach", ip)
	case r == reachPrivate && !allowPrivate:
		return fmt.Errorf("%s is a loopback or private address; SCRIBE_WEBHOOK_ALLOW_PRIVATE=1 allows it", ip)
	case r == reachPublic && scheme != "https":
		return fmt.Errorf("%s is a public address, which webhooks reach only over https", ip)
	}
	return nil
}

// errRefusedAddress marks a connection the guard refused.
var errRefusedAddress = errors.New("refused")

// guardedDialer dials only the addresses refusal lets scheme reach. It
// judges the address actually dialled, after name resolution, so a name
// that resolves to a public address when registered and to a private one
// later (DNS rebinding) is refused all the same.
func guardedDialer(d net.Dialer, scheme string, allowPrivate bool) *net.Dialer {
	d.Control = func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unexpected address %q", errRefusedAddress, address)
		}
		if err := refusal(scheme, ap.Addr(), allowPrivate); err != nil {
			return fmt.Errorf("%w: %w", errRefusedAddress, err)
		}
		return nil
	}
	return &d
}

// CheckURL validates an endpoint URL a user registers: https, or http to a
// loopback or private address when allowPrivate; no credentials or
// fragment; an address written as an IP (or "localhost") must be one the
// deliveries may reach. Names are judged again at every connection.
func CheckURL(raw string, allowPrivate bool) (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", job.Errorf(job.CodeInvalid, fmt.Sprintf(format, args...))
	}
	if len(raw) > maxURLBytes {
		return invalid("The URL is longer than %d characters.", maxURLBytes)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return invalid("Enter an absolute https:// URL.")
	}
	if u.User != nil {
		return invalid("The URL must not carry a user name or password; the signature authenticates scribe.")
	}
	if u.Fragment != "" {
		return invalid("The URL must not have a #fragment.")
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	if err != nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		ip, err = netip.MustParseAddr("127.0.0.1"), nil
	}
	if err != nil {
		if u.Scheme != "https" {
			return invalid("Use an https:// URL: http:// reaches only loopback and private addresses, and only when SCRIBE_WEBHOOK_ALLOW_PRIVATE is set.")
		}
		return u.String(), nil
	}
	if err := refusal(u.Scheme, ip, allowPrivate); err != nil {
		return invalid("scribe will not send webhooks there: %v.", err)
	}
	return u.String(), nil
}
