// Package audit is the pure half of skillrun's audit log: the [Record] of one run or refusal
// (design section 3), its bounded one-line JSON form, parsing, the filters of `skillrun log` and
// the readable line it prints.
//
// # Records
//
// Every run and every refusal appends one [Record] to $XDG_STATE_HOME/skillrun/audit.jsonl as a
// single JSON line. [Record.Marshal] never returns more than [MaxRecord] bytes: long commands,
// reasons and denial lists are cut (and the record says so with "truncated": true), so one
// write(2) of an O_APPEND file always holds a whole record and concurrent runs never interleave.
//
// A record never holds a secret's value. It names the secrets a run was given, never their
// values, and [Record.Redact] replaces any secret value that shows up in the command line or the
// reason (an agent that pasted a token into a command) with "[redacted]"; [SecretValues] picks the
// values to redact from the caller's environment with the floor's never_env patterns.
//
// # Reading
//
// [Parse] reads one line back; [Filter] selects records by skill, by decision or denials, and by
// time ([ParseSince] reads "2h", "3d" or an RFC 3339 time); [Record.Text] is the one readable line
// per record that `skillrun log` prints, with control and bidi characters escaped so a hostile
// command cannot rewrite the reviewer's terminal.
//
// The package is pure: it never touches the file system or the kernel (a test enforces the import
// rule). The file side (append, rotation, following) lives in the CLI.
package audit
