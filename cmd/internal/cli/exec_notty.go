//go:build !(linux || darwin || freebsd)

package cli

import "os"

// fromTerminal is always false here: every signal is passed on.
func fromTerminal(os.Signal, *os.Process) bool { return false }
