//go:build linux

package vault

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// initPIDNamespace is the host's PID namespace (the kernel's PROC_PID_INIT_INO).
const initPIDNamespace = "pid:[4026531836]"

// hostIdentity names where PIDs mean the same thing: the host name, plus
// the PID namespace when it is not the host's. "" when the namespace cannot
// be read: a PID could then belong to anyone.
func hostIdentity(hostname string) string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if hostname == "" || err != nil {
		return ""
	}
	if ns == initPIDNamespace {
		return hostname
	}
	return hostname + "/" + ns
}

// processStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/PID/stat), 0 when it cannot be read.
func processStart(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Field 2, the command, is in parentheses and may hold spaces or ')':
	// the fields after the last ')' start with field 3.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	const startField = 22 - 3
	if len(fields) <= startField {
		return 0
	}
	start, err := strconv.ParseInt(fields[startField], 10, 64)
	if err != nil {
		return 0
	}
	return start
}

// processGone reports whether no process pid exists, or the one that does
// started at another time than start (the PID was reused). start 0: unknown.
func processGone(pid int, start int64) bool {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false // cannot tell
	}
	if start == 0 {
		return false
	}
	now := processStart(pid)
	return now != 0 && now != start
}
