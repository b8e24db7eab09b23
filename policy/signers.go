package policy

import "github.com/skillrun/skillrun/policy/signing"

// checkSignerKey validates a pinned public key.
func checkSignerKey(text string) error {
	_, err := signing.ParseKey("", text)
	return err
}
