//go:build linux || darwin || freebsd

package cli

import (
	"os"
	"syscall"
	"unsafe"
)

// fromTerminal reports whether the child has had sig already: Ctrl-C,
// Ctrl-\ and a resize go from the terminal to its whole foreground process
// group, and when that group is tokentop's and the child is still in it,
// passing sig on would deliver it twice. A second Ctrl-C tells some
// programs to stop at once rather than cleanly (terraform, for one).
func fromTerminal(sig os.Signal, child *os.Process) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH:
	default:
		return false
	}
	own := syscall.Getpgrp()
	if pg, err := syscall.Getpgid(child.Pid); err != nil || pg != own {
		return false
	}
	for fd := uintptr(0); fd <= 2; fd++ {
		var fg int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg))); errno == 0 {
			return int(fg) == own
		}
	}
	return false // no terminal: the signal was sent to tokentop alone
}
