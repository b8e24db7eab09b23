package profiles

import (
	"errors"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	names := strings.Join(Names(), ",")
	if names != "agent,untrusted" {
		t.Errorf("Names() = %s; the floor is not a profile and must not be listed", names)
	}
}

func TestGet(t *testing.T) {
	for _, name := range append(Names(), Floor) {
		if b, err := Get(name); err != nil || len(b) == 0 {
			t.Errorf("Get(%q): %v", name, err)
		}
	}
	for _, bad := range []string{"", "nope", "../profiles", "agent.yaml", "a/b", "./agent"} {
		if _, err := Get(bad); !errors.Is(err, ErrUnknown) {
			t.Errorf("Get(%q) = %v, want ErrUnknown", bad, err)
		}
	}
}
