//go:build unix && !linux

package vault

import (
	"errors"
	"syscall"
)

// hostIdentity is the host name: PIDs are the host's.
func hostIdentity(hostname string) string { return hostname }

// processStart is unknown outside Linux.
func processStart(int) int64 { return 0 }

// processGone reports whether no process pid exists. Without start times a
// reused PID looks alive: the lease then lapses as before.
func processGone(pid int, _ int64) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
