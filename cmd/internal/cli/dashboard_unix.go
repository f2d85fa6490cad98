//go:build unix

package cli

import (
	"fmt"
	"os"
	"syscall"
)

// replaceProcess runs path with argv in place of this process.
func replaceProcess(path string, argv []string) error {
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil // not reached
}
