//go:build unix

package cli

import (
	"fmt"
	"syscall"
)

// replaceProcess runs path with argv and env in place of this process.
func replaceProcess(path string, argv, env []string) error {
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil // not reached
}
