package netproxy

import (
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// Protocol is how a client reached the proxy.
type Protocol string

// Protocols the proxy serves on its one port.
const (
	ProtoHTTP    Protocol = "http"    // plain HTTP forward proxy, one record per request
	ProtoConnect Protocol = "connect" // HTTP CONNECT tunnel (HTTPS and anything else over TCP)
	ProtoSOCKS5  Protocol = "socks5"  // SOCKS5 CONNECT
)

// Record is one connection decision: an HTTP request, a CONNECT tunnel or a SOCKS5 connection.
// It is what the run's audit record keeps about the network.
type Record struct {
	Time     time.Time `json:"time"`
	Protocol Protocol  `json:"protocol"`
	// Host is the target as the client named it, normalised: a lower-case name or an IP
	// address (every spelling of an address becomes its canonical form). Empty when the
	// request was too malformed to name one.
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// Addr is the address the proxy connected to, or for a refused address the address it
	// refused. Invalid (JSON "") when no address was involved.
	Addr netip.Addr `json:"addr"`
	// Allowed is the policy's decision. An allowed record may still carry a failure Reason
	// (resolve-failed, dial-failed, upstream-failed).
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason,omitempty"`
	// Detail says more in words: the refused address class, the dial error.
	Detail string `json:"detail,omitempty"`
	// Rule is the network.allow entry that allowed the target, or the network.deny entry that
	// refused it.
	Rule      string `json:"rule,omitempty"`
	BytesUp   int64  `json:"bytes_up"`   // sent to the upstream
	BytesDown int64  `json:"bytes_down"` // sent back to the client
}

// Target is the record's host:port as a pattern would spell it ("[2001:db8::1]:443").
func (r Record) Target() string {
	if r.Host == "" {
		return ""
	}
	return policy.AllowEntry(r.Host, r.Port)
}

// Blocked groups the denials of one host:port, for the one line skillrun prints per denied
// host when the command ends.
type Blocked struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Count  int    `json:"count"`
	Reason Reason `json:"reason"` // of the first denial
	Detail string `json:"detail,omitempty"`
	// Rule is the deny entry that refused the target (Reason denied-by-policy).
	Rule string `json:"rule,omitempty"`
	// Allow is the network.allow entry that would allow this target: the host:port itself, or
	// for a name that resolved to a refused address, that address literally. Empty when no
	// allow entry can help (a deny entry refused it).
	Allow string `json:"allow,omitempty"`
	// Hint is the policy line to add, e.g. `network: allow: ["webhook.example.com:443"]`.
	Hint  string    `json:"hint,omitempty"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Target is host:port as a pattern would spell it.
func (b Blocked) Target() string { return policy.AllowEntry(b.Host, b.Port) }

// Summary totals a run's connection decisions.
type Summary struct {
	// Requests counts every decision: Allowed + Denied.
	Requests int `json:"requests"`
	Allowed  int `json:"allowed"`
	Denied   int `json:"denied"`
	// Failed counts allowed decisions whose connection failed (resolve, dial, upstream).
	Failed int `json:"failed"`
	// Malformed counts refused requests that were malformed, too large, too slow or
	// unsupported: no policy decision, so not in Blocked.
	Malformed int   `json:"malformed"`
	BytesUp   int64 `json:"bytes_up"`
	BytesDown int64 `json:"bytes_down"`
	// Blocked has one entry per denied host:port, the most frequent first.
	Blocked []Blocked `json:"blocked,omitempty"`
	// DroppedRecords counts records not kept because the run exceeded Options.MaxRecords; the
	// totals above still count them. BlockedOther counts denials of host:ports beyond the
	// same bound.
	DroppedRecords int `json:"dropped_records,omitempty"`
	BlockedOther   int `json:"blocked_other,omitempty"`
}

// recorder keeps records and the running summary under one lock, bounded by max.
type recorder struct {
	mu      sync.Mutex
	max     int
	records []Record
	sum     Summary
	blocked map[string]*Blocked
}

func (r *recorder) add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) < r.max {
		r.records = append(r.records, rec)
	} else {
		r.sum.DroppedRecords++
	}
	s := &r.sum
	s.Requests++
	s.BytesUp += rec.BytesUp
	s.BytesDown += rec.BytesDown
	if rec.Allowed {
		s.Allowed++
		if rec.Reason != "" {
			s.Failed++
		}
		return
	}
	s.Denied++
	switch rec.Reason {
	case ReasonNotAllowed, ReasonDenied, ReasonIPLiteral, ReasonRefusedAddress:
	default:
		s.Malformed++
		return
	}
	key := rec.Target()
	b := r.blocked[key]
	if b == nil {
		if len(r.blocked) >= r.max {
			s.BlockedOther++
			return
		}
		if r.blocked == nil {
			r.blocked = map[string]*Blocked{}
		}
		b = &Blocked{Host: rec.Host, Port: rec.Port, Reason: rec.Reason, Detail: rec.Detail, First: rec.Time}
		switch rec.Reason {
		case ReasonDenied:
			b.Rule = rec.Rule
		case ReasonNotAllowed, ReasonIPLiteral:
			b.Allow = rec.Target()
		case ReasonRefusedAddress:
			if rec.Addr.IsValid() {
				b.Allow = policy.AllowEntry(rec.Addr.String(), rec.Port)
			}
		}
		if b.Allow != "" {
			b.Hint = "network: allow: [" + strconv.Quote(b.Allow) + "]"
		}
		r.blocked[key] = b
	}
	b.Count++
	b.Last = rec.Time
}

func (r *recorder) all() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.records...)
}

func (r *recorder) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.Blocked = nil
	for _, b := range r.blocked {
		s.Blocked = append(s.Blocked, *b)
	}
	sort.Slice(s.Blocked, func(i, j int) bool {
		a, b := s.Blocked[i], s.Blocked[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Port < b.Port
	})
	return s
}
