package profiles

import (
	"errors"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	names := "," + strings.Join(Names(), ",") + ","
	if strings.Contains(names, ","+Floor+",") {
		t.Errorf("Names() = %s; the floor is not a profile and must not be listed", names)
	}
	for _, want := range []string{"agent", "base", "untrusted"} {
		if !strings.Contains(names, ","+want+",") {
			t.Errorf("Names() = %s, missing %s", names, want)
		}
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
