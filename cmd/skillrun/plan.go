package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/landlock"
)

var planCommand = &cli.Command{
	Name:      "plan",
	Usage:     "print the plan a command would run with, and run nothing",
	UsageText: "skillrun plan [flags] -- CMD [ARGS...]",
	Description: "EXAMPLE:\n" +
		"   skillrun plan -- npm test\n" +
		"   skillrun plan --json --profile untrusted -c 'ls ~'",
	Flags:  append(runFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON instead of YAML"}),
	Action: planAction,
}

func planAction(c *cli.Context) error {
	req, err := buildRequest(c, true)
	if err != nil {
		return err
	}
	plan, err := compile(req)
	if err != nil {
		return err
	}
	// What this kernel enforces of the ruleset; a plan is otherwise independent of the machine.
	if abi, err := landlock.ABI(); err == nil {
		plan.Confine.Landlock.KernelABI = min(abi, landlock.MaxABI)
	}
	_, out, errw := stdio(c)
	// Granted paths that do not exist: what a run would create, and what it would skip.
	if notes, err := sandbox.CheckGrants(plan); err != nil {
		fmt.Fprintf(errw, "skillrun: warning: a run would be refused: %s\n", oneLine(err.Error()))
	} else {
		reportGrants(errw, notes, true, false)
	}
	b, err := json.MarshalIndent(struct {
		*policy.Plan
		Digest string `json:"digest"`
	}{plan, plan.Digest()}, "", "  ")
	if err != nil {
		return err
	}
	if !c.Bool("json") {
		if b, err = jsonToYAML(b); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, string(b))
	return nil
}

// jsonToYAML prints a JSON document as YAML, exactly as yaml.JSONToYAML does, which reads the JSON
// with the YAML parser: that cost `skillrun plan` several milliseconds for a parse it does not
// need. encoding/json reads it into the same values (objects in order as yaml.MapSlice, arrays as
// []any, integers as uint64 or int64, decimals as float64), and the YAML encoder writes them;
// TestJSONToYAML holds the two to the same values and bytes. A number written otherwise (1e3,
// which the YAML parser reads as a string) is left to yaml.JSONToYAML; a plan has none.
func jsonToYAML(data []byte) ([]byte, error) {
	dec := jsonDecoder(data)
	v, err := jsonValue(dec)
	if errors.Is(err, errOtherNumber) {
		return yaml.JSONToYAML(data)
	}
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("json: more than one value (%v)", err)
	}
	return yaml.Marshal(v)
}

var errOtherNumber = errors.New("a number neither an integer nor a decimal")

func jsonDecoder(data []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec
}

func jsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			m := yaml.MapSlice{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				m = append(m, yaml.MapItem{Key: k, Value: v})
			}
			_, err := dec.Token()
			return m, err
		}
		l := []any{}
		for dec.More() {
			v, err := jsonValue(dec)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		_, err := dec.Token()
		return l, err
	case json.Number:
		n := t.String()
		if u, err := strconv.ParseUint(n, 10, 64); err == nil {
			return u, nil
		}
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, nil
		}
		if whole, frac, ok := strings.Cut(strings.TrimPrefix(n, "-"), "."); ok && digits(whole) && digits(frac) {
			return strconv.ParseFloat(n, 64)
		}
		return nil, errOtherNumber
	}
	return tok, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
