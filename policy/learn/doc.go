// Package learn turns what skillrun learn observed while a skill ran (the files and programs it
// reached, the hosts it asked for) into the smallest manifest that would have let that run
// succeed under the normal sandbox, with the evidence for every line, and says what it would not
// propose. It is pure, like package policy: the sandbox fills a [Log], the CLI writes the result.
package learn
