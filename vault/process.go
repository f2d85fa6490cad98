package vault

import (
	"os"
	"sync"
)

// Process identifies a running program well enough to tell, from the same
// host, whether it is still alive: a lease records its holder's Process so
// that the lease of a killed holder can be taken over at once rather than
// when it lapses.
type Process struct {
	// Host is os.Hostname, followed on Linux by "/pid:[N]" when this runs
	// in a PID namespace other than the host's (a container may share the
	// host's name but numbers its processes on its own). "" when unknown:
	// then no lease is judged dead.
	Host  string
	PID   int   // 0 when unknown
	Start int64 // start time in clock ticks since boot (Linux /proc/PID/stat field 22); 0 when unknown
}

// leaseHolderProcess is how a Store names this program as a lease holder:
// opts.Process when given, else currentProcess with its host passed through
// host (when not nil), worked out once, on first use.
func leaseHolderProcess(opts Options, host func(string) string) func() Process {
	if opts.Process != nil {
		p := *opts.Process
		return func() Process { return p }
	}
	return sync.OnceValue(func() Process {
		p := currentProcess()
		if host != nil {
			p.Host = host(p.Host)
		}
		return p
	})
}

// currentProcess is this program's Process.
func currentProcess() Process {
	host, _ := os.Hostname() // "" on error: leases then never count as ours to judge
	pid := os.Getpid()
	return Process{Host: hostIdentity(host), PID: pid, Start: processStart(pid)}
}

// holderGone reports whether holder, a lease's recorded holder, is known to
// be dead as seen from self: same host, and its PID is gone or now belongs to
// a process started at another time. Anything unknown counts as alive.
func holderGone(self, holder Process) bool {
	if self.Host == "" || holder.Host != self.Host || holder.PID <= 0 {
		return false
	}
	return processGone(holder.PID, holder.Start)
}
