package scan

// automaton is an Aho-Corasick matcher over ASCII-lower-cased bytes. One pass over a file finds
// every keyword of every check, so the cost of a scan grows with the file, not with the number of
// rules: a check's regular expressions run only on the lines where one of its keywords occurs.
type automaton struct {
	class  [256]uint8 // byte → input class; bytes in no keyword share class 0
	nclass int
	next   []int32    // next[state*nclass+class], a complete DFA
	out    [][]uint16 // checks whose keyword ends in this state (including suffixes)
}

// newAutomaton builds the matcher. keywords[i] triggers checks ids[i]; keywords are lower-case.
func newAutomaton(keywords []string, ids [][]uint16) *automaton {
	a := &automaton{}
	var seen [256]bool
	for _, k := range keywords {
		for i := 0; i < len(k); i++ {
			seen[k[i]] = true
		}
	}
	a.nclass = 1
	for b := 0; b < 256; b++ {
		if seen[b] {
			a.class[b] = uint8(a.nclass)
			a.nclass++
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		a.class[b] = a.class[b+'a'-'A']
	}
	// Trie.
	a.next = make([]int32, a.nclass)
	for i := range a.next {
		a.next[i] = -1
	}
	a.out = [][]uint16{nil}
	addState := func() int32 {
		for i := 0; i < a.nclass; i++ {
			a.next = append(a.next, -1)
		}
		a.out = append(a.out, nil)
		return int32(len(a.out) - 1)
	}
	for i, k := range keywords {
		s := int32(0)
		for j := 0; j < len(k); j++ {
			c := int(a.class[k[j]])
			n := a.next[int(s)*a.nclass+c]
			if n < 0 {
				n = addState()
				a.next[int(s)*a.nclass+c] = n
			}
			s = n
		}
		a.out[s] = mergeIDs(a.out[s], ids[i])
	}
	// Failure links, breadth first, folded into a complete transition table.
	fail := make([]int32, len(a.out))
	queue := make([]int32, 0, len(a.out))
	for c := 0; c < a.nclass; c++ {
		n := a.next[c]
		if n < 0 {
			a.next[c] = 0
			continue
		}
		fail[n] = 0
		queue = append(queue, n)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = mergeIDs(a.out[s], a.out[fail[s]])
		for c := 0; c < a.nclass; c++ {
			n := a.next[int(s)*a.nclass+c]
			f := a.next[int(fail[s])*a.nclass+c]
			if n < 0 {
				a.next[int(s)*a.nclass+c] = f
				continue
			}
			fail[n] = f
			queue = append(queue, n)
		}
	}
	return a
}

// mergeIDs returns the sorted union of two sorted lists without modifying either.
func mergeIDs(a, b []uint16) []uint16 {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return append([]uint16(nil), b...)
	}
	r := make([]uint16, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			r = append(r, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			r = append(r, b[j])
			j++
		default:
			r = append(r, a[i])
			i++
			j++
		}
	}
	return r
}

// scan calls f with the end offset of every keyword occurrence and the checks it triggers.
func (a *automaton) scan(s string, f func(end int, checks []uint16)) {
	next, class, n := a.next, &a.class, a.nclass
	// Start as if after a newline, so that keywords anchored with "\n" match on the first line.
	s0 := next[int(class['\n'])]
	for i := 0; i < len(s); i++ {
		s0 = next[int(s0)*n+int(class[s[i]])]
		if o := a.out[s0]; o != nil {
			f(i, o)
		}
	}
}
