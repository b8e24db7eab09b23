package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes that reads as "512MiB", "1GiB", "2G" or a plain number, and prints
// in the largest binary unit that divides it.
type Size int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10},
	{"B", 1},
}

var errSize = errors.New("not a size")

// ParseSize reads a size such as "1GiB".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %q (write e.g. 512MiB or 2GiB)", errSize, s)
	}
	if n > math.MaxInt64/factor {
		return 0, fmt.Errorf("%w: %q is too large", errSize, s)
	}
	return Size(n * factor), nil
}

// UnmarshalText parses a size.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return &badValue{value: string(b), err: err}
	}
	*z = v
	return nil
}

// MarshalText prints a size in the largest binary unit that divides it.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

func (z Size) String() string {
	for _, u := range sizeUnits[:4] {
		if z != 0 && int64(z)%u.factor == 0 {
			return strconv.FormatInt(int64(z)/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(z), 10)
}

// badValue is a scalar a field could not parse; the YAML library reports these without a
// position, so decodeStrict finds the value in the document to name its line and column.
type badValue struct {
	value string
	err   error
}

func (b *badValue) Error() string { return b.err.Error() }
func (b *badValue) Unwrap() error { return b.err }
