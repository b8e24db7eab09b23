package scan

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled the first time it is used. The scanner's ~90 patterns
// take ~5 ms to compile, and every command starts this binary's Go runtime at least twice (the
// host and runc's init) without scanning: compiled at package init, they would cost every
// command that much each time.
type lazyRE struct {
	once sync.Once
	expr string
	re   *regexp.Regexp
}

func lazyRegexp(expr string) *lazyRE { return &lazyRE{expr: expr} }

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re
}

func (l *lazyRE) MatchString(s string) bool      { return l.get().MatchString(s) }
func (l *lazyRE) FindString(s string) string     { return l.get().FindString(s) }
func (l *lazyRE) FindStringIndex(s string) []int { return l.get().FindStringIndex(s) }
func (l *lazyRE) FindStringSubmatch(s string) []string {
	return l.get().FindStringSubmatch(s)
}
func (l *lazyRE) FindAllStringIndex(s string, n int) [][]int {
	return l.get().FindAllStringIndex(s, n)
}
func (l *lazyRE) FindAllStringSubmatch(s string, n int) [][]string {
	return l.get().FindAllStringSubmatch(s, n)
}
func (l *lazyRE) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return l.get().FindAllStringSubmatchIndex(s, n)
}
func (l *lazyRE) ReplaceAllString(src, repl string) string {
	return l.get().ReplaceAllString(src, repl)
}
func (l *lazyRE) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return l.get().ReplaceAllStringFunc(src, repl)
}
func (l *lazyRE) String() string                         { return l.expr }
func (l *lazyRE) FindAllString(s string, n int) []string { return l.get().FindAllString(s, n) }
func (l *lazyRE) Split(s string, n int) []string         { return l.get().Split(s, n) }
